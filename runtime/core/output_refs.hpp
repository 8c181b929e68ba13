// A dependant's input made of its dependencies' results: `{{tasks.KEY.output}}`
// in a task's `args` and `env` values is replaced, when the task is released,
// by the standard output of the dependency KEY names (a workflow node's key,
// or a dependency's task id), without its trailing newlines - as a shell's
// $(...) gives it.
//
// Why substitution into args and env, and nothing else: the value reaches the
// process as one argument or one variable, never through a shell, so an
// output cannot inject a command; a Nushell script reads it from $env. The
// substituted task is what is stored and shown, so the record says what ran.
#pragma once

#include <map>
#include <set>
#include <string>

#include "runtime/core/status.hpp"
#include "runtime/core/task.hpp"

namespace orch {

/// The KEYs a task's args and env values name in `{{tasks.KEY.output}}`.
std::set<std::string> output_references(const task& t);

/// Where a reference appears that only args and env take: "" if nowhere,
/// else the field's name (command, script, workdir, ...).
std::string misplaced_output_reference(const task& t);

/// The refusal of such a reference, naming the field; "" if there is none.
std::string misplaced_reference_problem(const task& t);

/// Replaces each `{{tasks.KEY.output}}` in args and env values with
/// outputs.at(KEY), trailing newlines removed. Fails, changing nothing, if a
/// KEY has no output given or an output holds a NUL byte (no argument or
/// variable can carry one).
status substitute_outputs(task& t, const std::map<std::string, std::string>& outputs);

/// A dependency as the references of `dependant` name it: by its id, and by
/// its workflow key when both are nodes of the same workflow.
std::set<std::string> reference_names(const task& dependant, const task& dependency);

} // namespace orch
