// The orchestrator's actor system: the CAF configuration every process of it
// uses (message types registered, scheduler size, CAF's own logging off),
// together with the config object the system refers to.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "caf/fwd.hpp"

namespace orch {

/// The network between an orchestrator and its worker nodes: CAF's
/// middleman, loaded only by processes that take part in it.
struct node_network {
  bool enabled = false;
  /// Both sides send a heartbeat this often, and drop a connection that
  /// has been silent for `connection_timeout` (CAF 0.17 has both off by
  /// default: a frozen peer would never be noticed). The timeout must be
  /// several heartbeats long, and the heartbeat longer than the slowest
  /// handshake: an outgoing connection whose handshake is not done at the
  /// next tick is dropped.
  std::chrono::milliseconds heartbeat{1000};
  std::chrono::milliseconds connection_timeout{5000};
  /// The node protocol spoken (tests pretend to be another release).
  uint32_t protocol = 0;                     // 0: node_protocol_version
  /// Mutual TLS (CAF's OpenSSL module): this side's PEM certificate and
  /// key, and the CA the other side's certificate must be signed by. All
  /// three or none; check them first (runtime/platform/tls/pem_files.hpp):
  /// CAF aborts the process on one it cannot load.
  std::string tls_cert, tls_key, tls_ca;
  bool tls() const { return !tls_cert.empty(); }
};

class actor_env {
public:
  /// threads: CAF scheduler threads; 0 for one per CPU (at least two).
  explicit actor_env(size_t threads = 0, node_network net = {});
  ~actor_env();
  actor_env(const actor_env&) = delete;
  actor_env& operator=(const actor_env&) = delete;

  caf::actor_system& sys() { return *sys_; }

private:
  std::unique_ptr<caf::actor_system_config> cfg_;
  std::unique_ptr<caf::actor_system> sys_;
};

} // namespace orch
