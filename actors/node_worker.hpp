// A worker node's side (`orchestrator worker`): connects to an
// orchestrator's coordinator, registers its slots, runs the attempts placed
// on it in executors of its own and hands each result back to its session
// there, keeping it until the session took it (across reconnects). It
// renews its lease every second; when it cannot for most of the lease, it
// stops what it runs (the orchestrator runs that elsewhere). When the
// connection ends it connects again, with backoff, for as long as it runs;
// the attempts the orchestrator took back meanwhile are stopped then.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "runtime/messages/node_types.hpp"

namespace orch {

struct node_endpoint {
  std::string host;
  uint16_t port = 0;
};

struct node_worker_config {
  std::vector<node_endpoint> coordinators;   // tried in turn
  node_hello hello;                          // name, slots, labels, versions
  std::string nu_path;                       // this machine's Nushell, or ""
  uint64_t max_output_bytes = 1 << 20;       // per stream and attempt
  /// Called when the orchestrator refuses this worker for good (another
  /// protocol version, a bad name): the process should exit with it.
  std::function<void(const std::string&)> refused;
};

/// What runs the worker process asks of its worker actor: stop (SIGTERM).
/// It tells its session it is leaving (nothing more is placed here), lets
/// the attempts running here finish for up to `grace_s` seconds and hands
/// their results back, then stops the rest and hands them back as
/// interrupted (queued again, not counted); true once nothing is left.
using node_worker_control_actor = caf::typed_actor<
  caf::replies_to<drain_atom, uint32_t>::with<bool>>;

struct node_worker_handles {
  node_worker_actor remote;                  // what the orchestrator talks to
  node_worker_control_actor control;
};

node_worker_handles spawn_node_worker(caf::actor_system& sys, node_worker_config cfg);

/// "host:port" as given to --connect; false with `error` set otherwise.
bool parse_node_endpoint(const std::string& text, node_endpoint& out, std::string& error);

} // namespace orch
