// The executor: one actor per running attempt. A thread of its own starts
// the subprocess (the PATH search, the exec and reading its output block)
// and waits for it; the actor enforces the timeout and cancellation by
// signalling the process group (SIGTERM, then SIGKILL after a grace period)
// and reports an exec_result to its listener.
#pragma once

#include <memory>

#include "runtime/core/live_output.hpp"
#include "runtime/messages/interfaces.hpp"

namespace orch {

/// `live`, if given, gets the process's output as it is read
/// (GET /tasks/{id}/output?follow=1).
executor_actor spawn_executor(caf::actor_system& sys, exec_spec spec,
                              exec_listener_actor listener,
                              std::shared_ptr<live_output> live = nullptr);

/// Benchmarks only (--bench-noop-attempts): an attempt that completes at once
/// (exit code 0, no output) without starting a process, so a benchmark
/// measures the orchestration of an attempt alone: claim, start, outcome.
executor_actor spawn_noop_executor(caf::actor_system& sys, const exec_spec& spec,
                                   exec_listener_actor listener);

} // namespace orch
