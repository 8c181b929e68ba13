// Command-line options that more than one command takes (the server and
// `orchestrator worker`), defined once so their text and checks agree.
#pragma once

#include <string>

#include "runtime/core/node_labels.hpp"

namespace CLI {
class App;
}

namespace orch {

/// `--labels k=v,k2=v2`: checked and parsed while the command line (or the
/// config file) is read; a bad label is a usage error naming it.
void add_labels_option(CLI::App& cmd, label_map& labels, const std::string& description);

/// `--node-tls-cert`, `--node-tls-key`, `--node-tls-ca`: mutual TLS between
/// an orchestrator and its worker nodes; `peer` names the other side in the
/// help text ("the workers'", "the orchestrator's").
void add_node_tls_options(CLI::App& cmd, std::string& cert, std::string& key, std::string& ca,
                          const std::string& peer);

} // namespace orch
