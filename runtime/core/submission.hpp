// The strict decoder of a submission (the body of POST /tasks): the client's
// fields only (schema.hpp marks them), each of the right type and in range,
// one program to run, and nothing the orchestrator owns.
#pragma once

#include <string_view>

#include "runtime/core/status.hpp"
#include "runtime/core/task.hpp"

namespace orch {

/// Makes the task a child of `parent`: its field, and the label `parent`
/// that finds it on every backend (the search indexes labels).
void make_child(task& x, const std::string& parent);

/// The task a submission asks for, or errc::invalid with a message naming
/// the field and saying what is wrong: an empty body, text that is not JSON,
/// unknown fields, fields the orchestrator sets (status, attempts, ...),
/// wrong types, out-of-range values, a missing or doubled command, NUL bytes,
/// bad dependencies.
result<task> parse_submission(std::string_view body);

} // namespace orch
