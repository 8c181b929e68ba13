// Command-line options that more than one command takes (the server and
// `orchestrator worker`), defined once so their text and checks agree.
#pragma once

#include <string>

#include "runtime/app/settings.hpp"
#include "runtime/core/node_labels.hpp"
#include "runtime/core/status.hpp"

namespace CLI {
class App;
}

namespace orch {

/// `--labels k=v,k2=v2`: checked and parsed while the command line (or the
/// config file) is read; a bad label is a usage error naming it.
void add_labels_option(CLI::App& cmd, label_map& labels, const std::string& description);

struct node_network;

/// `--node-tls-cert`, `--node-tls-key`, `--node-tls-ca`: mutual TLS between
/// an orchestrator and its worker nodes; `peer` names the other side's
/// certificate in the texts ("every worker's", "the orchestrator's").
void add_node_tls_options(CLI::App& cmd, node_tls_settings& tls, const std::string& peer);

/// Only some of the three given: what to say ("" when all or none are);
/// `self` names this side's certificate ("this orchestrator's").
std::string node_tls_incomplete(const node_tls_settings& tls, const std::string& self,
                                const std::string& peer);

/// The three files load (runtime/platform/tls/pem_files.hpp), each problem
/// named with its option; call before the actor system exists.
status check_node_tls_files(const node_tls_settings& tls);

/// The actor system's node network speaks mutual TLS with these files.
void use_node_tls(node_network& net, const node_tls_settings& tls);

} // namespace orch
