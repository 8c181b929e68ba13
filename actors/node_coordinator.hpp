// The door an orchestrator opens for its worker nodes (--node-port): it
// checks a worker's registration (protocol version, a name), watches the
// worker for as long as its connection lives, and tells the scheduler when
// a node's slots come and go. What runs where is the scheduler's business
// (actors/worker_pool.hpp).
#pragma once

#include <string>

#include "runtime/messages/node_types.hpp"

namespace orch {

struct coordinator_config {
  std::string instance;                      // this orchestrator, told to workers
};

node_coordinator_actor spawn_node_coordinator(caf::actor_system& sys,
                                              node_listener_actor scheduler,
                                              coordinator_config cfg);

/// Why a registration is refused, or "" if it is fine.
std::string registration_problem(const node_hello& hello);

} // namespace orch
