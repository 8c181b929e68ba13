// The wire vocabulary between an orchestrator and its worker nodes
// (`orchestrator worker`), in a CAF type-ID block of its own.
//
// CAF 0.17 matches message types across processes by their names but sends
// their fields by position, with no schema check: a field added to any type
// below, or to exec_spec/exec_result (runtime/core/exec_types.hpp), which
// travel inside them, changes the wire format without a visible error. So
// every such change bumps node_protocol_version. A worker asks the
// coordinator's version first (version_atom, the one message that never
// changes) and refuses another one, naming both; the coordinator checks the
// hello's version again, and the middleman's application identifiers keep
// out CAF programs that are not orchestrators.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "caf/fwd.hpp"
#include "caf/meta/type_name.hpp"
#include "caf/replies_to.hpp"
#include "caf/type_id.hpp"
#include "caf/typed_actor.hpp"

#include "runtime/messages/types.hpp"

namespace orch {

// 4: the hello names the worker's CAF version (node_hello.caf_version).
// 5: exec_result.interrupted; a leaving worker says so (drain_atom).
// 6: a worker relays its attempts' output as it is written (output_atom).
inline constexpr uint32_t node_protocol_version = 6;

/// `middleman.app-identifiers` of every orchestrator process that speaks
/// the node protocol: "orchestrator-nodes-v<version>", and the family's
/// "orchestrator-nodes" that every release shares, so that two releases
/// connect far enough to name each other's versions (one shared entry lets
/// the handshake through).
std::vector<std::string> node_app_identifiers(uint32_t protocol = node_protocol_version);

/// The CAF release this process was built with ("0.17.6").
std::string caf_version_text();

/// What a worker says when it registers.
struct node_hello {
  std::string name;                          // --name (default: the host name)
  uint32_t protocol = 0;                     // its node_protocol_version
  std::string version;                       // its orchestrator version
  std::string caf_version;                   // the CAF it was built with
  std::string host;                          // its host name
  int32_t pid = 0;
  uint32_t slots = 0;                        // tasks it runs at once
  std::map<std::string, std::string> labels; // --labels
  /// Attempts it still runs, and those whose results it still holds (ran
  /// while it could not hand them back): the coordinator says which of them
  /// are no longer its (taken back meanwhile).
  std::vector<std::string> running;
  std::vector<std::string> finished;
  /// A bearer token of a user with the worker role (a named token from
  /// POST /auth/tokens), when the orchestrator requires authentication.
  std::string token;
};

/// One attempt placed on a node. The attempt id fences results: one that
/// arrives for an attempt the orchestrator took back is discarded.
struct node_attempt {
  std::string attempt_id;
  exec_spec spec;
  bool nushell = false;                      // argv[0] is Nushell: the node uses its own
};

/// A node as GET /nodes shows it: a worker, or this orchestrator's own
/// slots (`local`).
struct node_status {
  std::string name;
  std::string registration;
  std::string address;                       // host and pid
  std::string version;
  std::string caf_version;
  std::map<std::string, std::string> labels;
  uint32_t slots = 0;
  uint32_t running = 0;
  uint64_t completed = 0;                    // attempts it finished
  micros joined_at = 0;
  micros last_heartbeat = 0;                 // its latest renewal (0: this process)
  bool local = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_hello& x) {
  return f(caf::meta::type_name("orch::node_hello"), x.name, x.protocol, x.version, x.caf_version,
           x.host, x.pid, x.slots, x.labels, x.running, x.finished, x.token);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_attempt& x) {
  return f(caf::meta::type_name("orch::node_attempt"), x.attempt_id, x.spec, x.nushell);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_status& x) {
  return f(caf::meta::type_name("orch::node_status"), x.name, x.registration, x.address,
           x.version, x.caf_version, x.labels, x.slots, x.running, x.completed, x.joined_at,
           x.last_heartbeat, x.local);
}

} // namespace orch

CAF_BEGIN_TYPE_ID_BLOCK(orch_node, caf::id_block::orch::end)
  CAF_ADD_TYPE_ID(orch_node, (orch::node_hello))
  CAF_ADD_TYPE_ID(orch_node, (orch::node_attempt))
  CAF_ADD_TYPE_ID(orch_node, (orch::node_status))
  CAF_ADD_TYPE_ID(orch_node, (std::vector<orch::node_status>))

  CAF_ADD_ATOM(orch_node, orch, register_atom, "register")   // a worker offers its slots
  CAF_ADD_ATOM(orch_node, orch, run_atom, "run")             // run this attempt
  CAF_ADD_ATOM(orch_node, orch, nodes_atom, "nodes")         // who offers slots (GET /nodes)
  CAF_ADD_ATOM(orch_node, orch, node_up_atom, "nodeup")      // coordinator: a node joined
  CAF_ADD_ATOM(orch_node, orch, node_down_atom, "nodedown")  // coordinator: ... and left
  CAF_ADD_ATOM(orch_node, orch, reconnect_atom, "reconnect") // own: a worker connects again
  CAF_ADD_ATOM(orch_node, orch, rejoin_atom, "rejoin")       // coordinator -> a node's session
  CAF_ADD_ATOM(orch_node, orch, node_tick_atom, "nodetick")  // own: renew, check leases
  // Never changes, in any release: (version_atom) -> (uint32_t protocol,
  // std::string release), asked before anything else.
  CAF_ADD_ATOM(orch_node, orch, version_atom, "nodever")
CAF_END_TYPE_ID_BLOCK(orch_node)

namespace orch {

// -- interfaces -------------------------------------------------------------------

/// A worker node as the orchestrator sees it: starts an attempt (true once
/// its executor is spawned; the result comes later, through the session)
/// and cancels one.
using node_worker_actor = caf::typed_actor<
  caf::replies_to<run_atom, node_attempt>::with<bool>,
  caf::reacts_to<cancel_atom, std::string>>;             // an attempt id

/// A worker's session on the orchestrator, as the worker sees it: where it
/// hands results back (answered once taken: used, or discarded because the
/// attempt was taken back), and renews its lease (every heartbeat).
using node_session_remote_actor = caf::typed_actor<
  caf::replies_to<done_atom, std::string, exec_result>::with<bool>,
  caf::replies_to<renew_atom>::with<bool>,
  // Leaving (SIGTERM): place nothing more here; what runs finishes.
  caf::replies_to<drain_atom>::with<bool>,
  // An attempt's output as it is written: attempt id, stderr (not stdout),
  // the piece's offset in that stream, the piece. Sent again from offset 0
  // after a reconnect, so what was lost while cut off is filled in.
  caf::reacts_to<output_atom, std::string, bool, uint64_t, std::string>>;

/// An attempt placed on a node, as its session sees it: the scheduler's
/// stand-in for it (an executor to the scheduler: actors/remote_attempt.hpp),
/// told the attempt's result.
using remote_attempt_actor = caf::typed_actor<
  caf::reacts_to<cancel_atom>,
  caf::reacts_to<done_atom, exec_result>>;

/// A worker's session as the scheduler's stand-ins see it: place an attempt
/// on the node (its output, relayed as it comes, goes to the tap), cancel one.
using node_session_actor = caf::typed_actor<
  caf::reacts_to<run_atom, node_attempt, remote_attempt_actor, output_tap>,
  caf::reacts_to<cancel_atom, std::string>>;

struct node_welcome;

} // namespace orch

// The handles that travel inside node messages: a block of its own, as the
// interfaces name the atoms of the block above.
CAF_BEGIN_TYPE_ID_BLOCK(orch_node_handles, caf::id_block::orch_node::end)
  CAF_ADD_TYPE_ID(orch_node_handles, (orch::node_worker_actor))
  CAF_ADD_TYPE_ID(orch_node_handles, (orch::node_session_remote_actor))
  CAF_ADD_TYPE_ID(orch_node_handles, (orch::node_welcome))
CAF_END_TYPE_ID_BLOCK(orch_node_handles)

namespace orch {

/// The coordinator's answer to a registration.
struct node_welcome {
  std::string coordinator;                   // the orchestrator instance
  std::string registration;                  // this registration's id (new on every connect)
  node_session_remote_actor session;         // where results and renewals go
  uint32_t lease_ms = 0;                     // --node-timeout: renew within it, or be lost
  std::vector<std::string> cancel;           // of hello.running/finished: taken back
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_welcome& x) {
  return f(caf::meta::type_name("orch::node_welcome"), x.coordinator, x.registration, x.session,
           x.lease_ms, x.cancel);
}

/// The door an orchestrator publishes for its workers (--node-port).
using node_coordinator_actor = caf::typed_actor<
  caf::replies_to<version_atom>::with<uint32_t, std::string>,
  caf::replies_to<register_atom, node_hello, node_worker_actor>::with<node_welcome>>;

/// What tells the scheduler that a node's slots are there (its session),
/// or gone (by registration id).
using node_listener_actor = caf::typed_actor<
  caf::reacts_to<node_up_atom, node_status, node_session_actor>,
  caf::reacts_to<node_down_atom, std::string, std::string>,  // registration, why
  caf::reacts_to<renew_atom, std::string, micros>>;          // registration, heard of at

} // namespace orch
