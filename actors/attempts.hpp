// What an attempt of a task is to the scheduler, as plain functions: the
// process it runs (argv, environment, working directory, limits) and what
// its end means for the task (success, an error to record, a retry).
#pragma once

#include <string>

#include "runtime/core/exec_types.hpp"
#include "runtime/core/status.hpp"
#include "runtime/core/task.hpp"
#include "runtime/core/transitions.hpp"

namespace orch {

struct attempt_settings {
  std::string nu_path;                       // "" if Nushell was not found
  uint64_t max_output_bytes = 1 << 20;       // per stream and attempt
};

/// The process of the task's next attempt (t.attempts is that attempt):
/// its command, or `nu` with its script. Fails (errc::invalid) for a script
/// when Nushell is not available.
result<exec_spec> make_exec_spec(const task& t, const attempt_settings& s);

/// What an attempt's end means: exit 0 is success; anything else an error
/// in words ("exited with code 2", "timed out after 5 s", "killed by signal
/// 9 (SIGKILL)", "failed to start: ...", or why it was lost with its node).
attempt_outcome outcome_of(const exec_result& r, const task& t);

/// The `outcome` label of the attempts metric: success, failure, timeout,
/// cancelled, lost (with its node) or start_error.
const char* outcome_label(const exec_result& r);

} // namespace orch
