#include "runtime/app/cli_options.hpp"

#include <CLI/CLI.hpp>

namespace orch {

void add_labels_option(CLI::App& cmd, label_map& labels, const std::string& description) {
  cmd.add_option_function<std::string>(
    "--labels",
    [&labels](const std::string& text) {
      auto parsed = parse_label_list(text, "--labels");
      if (!parsed)
        throw CLI::ValidationError(parsed.message());
      labels = std::move(*parsed);
    },
    description);
}

void add_node_tls_options(CLI::App& cmd, std::string& cert, std::string& key, std::string& ca,
                          const std::string& peer) {
  cmd.add_option("--node-tls-cert", cert,
                 "PEM certificate (chain) this process shows on the node link: with "
                 "--node-tls-key and --node-tls-ca, the link is mutual TLS");
  cmd.add_option("--node-tls-key", key, "PEM private key of --node-tls-cert (unencrypted)");
  cmd.add_option("--node-tls-ca", ca,
                 "PEM CA certificate(s) that must have signed " + peer + " certificate");
}

} // namespace orch
