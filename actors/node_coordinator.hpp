// The door an orchestrator opens for its worker nodes (--node-port): it
// checks a worker's registration (protocol version, name, slots, and its
// worker token when authentication is required) and hands
// it to that worker's session (node_session.hpp), made at its first
// registration and kept until the worker is lost. What runs where is the
// scheduler's business (actors/worker_pool.hpp).
#pragma once

#include <chrono>
#include <string>

#include "runtime/messages/interfaces.hpp"
#include "runtime/messages/node_types.hpp"
#include "runtime/messages/storage_actor.hpp"

namespace orch {

struct coordinator_config {
  std::string instance;                      // this orchestrator, told to workers
  std::chrono::milliseconds lease{10000};    // --node-timeout
  audit_actor audit;                         // node joins, losses, discarded results
  /// With authentication required (--auth), a worker registers with a token
  /// of a user who has the worker role, checked against storage.
  bool auth_required = false;
  storage_actor storage;
  std::chrono::seconds storage_timeout{30};
  std::string release;                       // this orchestrator's version, for version_atom
};

node_coordinator_actor spawn_node_coordinator(caf::actor_system& sys,
                                              node_listener_actor scheduler,
                                              coordinator_config cfg);

/// Why a registration is refused, or "" if it is fine.
std::string registration_problem(const node_hello& hello);

} // namespace orch
