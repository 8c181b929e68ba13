// The executor: one actor per running attempt. It starts the subprocess,
// enforces the timeout and cancellation by signalling the process group
// (SIGTERM, then SIGKILL after a grace period), and reports an exec_result to
// its parent. The blocking wait runs on a thread of its own.
#pragma once

#include "runtime/messages/interfaces.hpp"

namespace orch {

/// Where an executor reports: (done_atom, exec_result).
using exec_listener_actor = caf::typed_actor<caf::reacts_to<done_atom, exec_result>>;

executor_actor spawn_executor(caf::actor_system& sys, exec_spec spec,
                              exec_listener_actor listener);

} // namespace orch
