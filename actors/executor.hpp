// The executor: one actor per running attempt. A thread of its own starts
// the subprocess (the PATH search, the exec and reading its output block)
// and waits for it; the actor enforces the timeout and cancellation by
// signalling the process group (SIGTERM, then SIGKILL after a grace period)
// and reports an exec_result to its listener.
#pragma once

#include "runtime/messages/interfaces.hpp"

namespace orch {

executor_actor spawn_executor(caf::actor_system& sys, exec_spec spec,
                              exec_listener_actor listener);

} // namespace orch
