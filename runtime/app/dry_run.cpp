#include "runtime/app/dry_run.hpp"

#include <iostream>

#include "backends/storage_client.hpp"

namespace orch {

int report_dry_run(caf::actor_system& sys, storage_actor storage, const server_settings& s,
                   const std::string& nu_path) {
  storage_client db{sys, storage, std::chrono::seconds(s.storage_timeout_s)};
  auto info = db.info();
  if (!info) {
    std::cerr << "error: storage check failed: " << info.message() << "\n";
    (void) db.close();
    return 1;
  }
  std::cout << "configuration is valid (dry run: nothing was started)\n"
            << "  storage type:         " << info->backend << "\n"
            << "  storage location:     " << info->location << "\n";
  for (auto kind : all_record_kinds) {
    auto n = db.count(kind);
    std::cout << "    " << to_string(kind) << ": "
              << (n ? std::to_string(*n) : "error: " + n.message()) << "\n";
  }
  for (auto& note : info->notes)
    std::cout << "  note: " << note << "\n";
  std::cout << "  listen address:       http://" << s.bind << ":" << s.port << "\n"
            << "  max concurrent tasks: " << s.max_concurrent_tasks << "\n"
            << "  nushell:              " << (nu_path.empty() ? "not found" : nu_path) << "\n";
  if (!s.labels.empty()) {
    std::string labels;
    for (auto& [k, v] : s.labels)
      labels += (labels.empty() ? "" : ",") + k + "=" + v;
    std::cout << "  slot labels:          " << labels << "\n";
  }
  if (s.node_port >= 0)
    std::cout << "  worker nodes:         " << s.node_bind << ":" << s.node_port
              << (s.node_tls.enabled() ? " (mutual TLS)" : " (no TLS)") << "\n";
  (void) db.close();
  return 0;
}

} // namespace orch
