#include "runtime/messages/actor_env.hpp"

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "caf/all.hpp"
#include "caf/io/middleman.hpp"
#include "caf/openssl/manager.hpp"

#include "runtime/messages/node_types.hpp"
#include "runtime/messages/types.hpp"

namespace orch {

actor_env::actor_env(size_t threads, node_network net)
  : cfg_(std::make_unique<caf::actor_system_config>()) {
  cfg_->add_message_types<caf::id_block::orch>();
  cfg_->add_message_types<caf::id_block::orch_node>();
  cfg_->add_message_types<caf::id_block::orch_node_handles>();
  cfg_->set("logger.console", caf::atom("none"));
  cfg_->set("logger.file-verbosity", caf::atom("quiet"));
  if (threads == 0)
    threads = std::max(2u, std::thread::hardware_concurrency());
  cfg_->set("scheduler.max-threads", threads);
  if (net.enabled) {
    cfg_->load<caf::io::middleman>();
    // timespan values only: an integer or a string is refused with a
    // message on stderr and leaves heartbeats silently off.
    cfg_->set("middleman.heartbeat-interval", caf::timespan{net.heartbeat});
    cfg_->set("middleman.connection-timeout", caf::timespan{net.connection_timeout});
    // Only orchestrator releases connect; which versions may work together
    // is the node protocol's first question (version_atom).
    cfg_->set("middleman.app-identifiers",
              node_app_identifiers(net.protocol == 0 ? node_protocol_version : net.protocol));
    if (net.tls()) {
      // With a certificate and a CA set, both sides must present one the CA
      // signed (mutual TLS); CAF checks no host names, only the CA.
      cfg_->load<caf::openssl::manager>();
      cfg_->set("openssl.certificate", net.tls_cert);
      cfg_->set("openssl.key", net.tls_key);
      cfg_->set("openssl.cafile", net.tls_ca);
    }
  }
  sys_ = std::make_unique<caf::actor_system>(*cfg_);
}

actor_env::~actor_env() {
  sys_.reset();  // waits for every actor to finish
}

} // namespace orch
