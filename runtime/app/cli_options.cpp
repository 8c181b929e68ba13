#include "runtime/app/cli_options.hpp"

#include <CLI/CLI.hpp>

#include "runtime/messages/actor_env.hpp"
#include "runtime/platform/tls/pem_files.hpp"

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

void add_node_tls_options(CLI::App& cmd, node_tls_settings& tls, const std::string& peer) {
  cmd.add_option("--node-tls-cert", tls.cert,
                 "PEM certificate (chain) this process shows on the node link: with "
                 "--node-tls-key and --node-tls-ca, the link is mutual TLS");
  cmd.add_option("--node-tls-key", tls.key, "PEM private key of --node-tls-cert (unencrypted)");
  cmd.add_option("--node-tls-ca", tls.ca,
                 "PEM CA certificate(s) that must have signed " + peer + " certificate");
}

std::string node_tls_incomplete(const node_tls_settings& tls, const std::string& self,
                                const std::string& peer) {
  auto given = !tls.cert.empty() + !tls.key.empty() + !tls.ca.empty();
  if (given == 0 || given == 3)
    return {};
  return "give all three of --node-tls-cert (" + self + " certificate), --node-tls-key (its "
         "key) and --node-tls-ca (the CA that signed " + peer + " certificate), or none: the "
         "node link is mutual TLS or not TLS at all";
}

status check_node_tls_files(const node_tls_settings& tls) {
  return check_mutual_tls_files(
    {tls.cert, tls.key, tls.ca, "--node-tls-cert", "--node-tls-key", "--node-tls-ca"});
}

void use_node_tls(node_network& net, const node_tls_settings& tls) {
  net.tls_cert = tls.cert;
  net.tls_key = tls.key;
  net.tls_ca = tls.ca;
}

} // namespace orch
