// Start-up recovery for single-owner backends: bring tasks and queue entries
// back in step. The filesystem backend writes one file at a time, so a crash
// in the middle of a batch can leave a Queued task without its queue entry, a
// finished task with one, or a Running task whose entry was never claimed.
// Backends with transactions never need it, and it finds nothing there.
#pragma once

#include <string>
#include <vector>

#include "runtime/messages/storage_actor.hpp"

namespace orch {

/// Repairs what it finds (durably, with preconditions) and returns one line
/// per repair. Blocking: call it before the scheduler starts, not on a CAF
/// thread.
std::vector<std::string> reconcile_queue(caf::actor_system& sys, storage_actor storage);

/// The claimed_by of queue entries recreated for tasks that were Running: no
/// live process holds them, so the queue's sweep recovers them at once.
inline constexpr const char* lost_claim_holder = "unknown (crashed while starting)";

} // namespace orch
