// One worker node's session on the orchestrator: the worker's attempts, its
// lease, and what its results mean. The coordinator (node_coordinator.hpp)
// makes one per worker name and hands it every (re)connection of that
// worker; the scheduler's stand-ins (remote_attempt.hpp) place attempts on
// the node through it.
//
// - The worker renews its lease every second. A worker not heard of for
//   the lease (--node-timeout: dead, cut off, or frozen) is lost: each of its
//   attempts ends as lost (the scheduler retries it by the usual rules) and
//   the session ends.
// - A connection that breaks takes the node's slots out of the pool at once,
//   but its attempts wait out the lease: a worker back in time hands their
//   results over and goes on.
// - A result for an attempt the session does not hold (taken back, or from
//   before this orchestrator started) is discarded and audited; a worker that
//   registers with such attempts is told to kill them.
#pragma once

#include <chrono>
#include <string>

#include "runtime/messages/interfaces.hpp"
#include "runtime/messages/node_types.hpp"
#include "runtime/messages/storage_actor.hpp"

namespace orch {

struct node_session_config {
  std::string instance;                      // this orchestrator
  std::chrono::milliseconds lease{10000};    // --node-timeout
  node_listener_actor scheduler;
  audit_actor audit;
  /// Joins, disconnections, losses and leaves are stored as node events
  /// (event_kinds.hpp), which the event stream carries and replays.
  storage_actor storage;
};

/// What the coordinator gives the session: a (re)connection of its worker.
using node_session_control_actor = caf::typed_actor<
  caf::replies_to<rejoin_atom, node_hello, node_worker_actor>::with<node_welcome>>;

struct node_session_handles {
  node_session_control_actor control;        // the coordinator's
  node_session_actor session;                // the scheduler's stand-ins'
};

/// A session for the worker `status` describes (its registration id is the
/// session's for good); the first rejoin connects it.
node_session_handles spawn_node_session(caf::actor_system& sys, node_status status,
                                        node_session_config cfg);

} // namespace orch
