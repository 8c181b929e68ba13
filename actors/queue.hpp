// The queue actor: claims work for this process, renews the leases of the
// tasks this process runs, recovers claims whose holder is gone (a previous
// run of this process on a single-owner backend, or an expired lease on a
// shared one), and wakes the scheduler when delayed work becomes ready.
#pragma once

#include <chrono>
#include <string>

#include "runtime/messages/interfaces.hpp"
#include "runtime/messages/storage_actor.hpp"

namespace orch {

struct queue_config {
  std::string instance;                      // this process's worker id
  micros lease = 30 * us_per_second;         // claim lease duration
  bool shared_backend = false;               // several processes share the storage
  std::chrono::seconds storage_timeout{30};  // for each request to storage
};

queue_actor spawn_queue(caf::actor_system& sys, storage_actor storage,
                        wake_listener_actor listener, queue_config cfg);

} // namespace orch
