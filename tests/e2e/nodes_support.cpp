#include "tests/e2e/nodes_support.hpp"

#include <catch2/catch.hpp>

#include "tests/e2e/e2e_support.hpp"

namespace orch::test {

std::unique_ptr<child> start_worker(const temp_dir& d, uint16_t port, const std::string& name,
                                    int slots, const std::string& labels,
                                    const std::vector<std::string>& extra) {
  std::vector<std::string> argv{orchestrator_binary(), "worker", "--connect",
                                "127.0.0.1:" + std::to_string(port), "--slots",
                                std::to_string(slots), "--name", name};
  if (!labels.empty()) {
    argv.push_back("--labels");
    argv.push_back(labels);
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  return std::make_unique<child>(argv, d / ("worker-" + name));
}

nlohmann::json nodes(orchestrator_process& o) {
  auto r = o.http().get("/nodes");
  REQUIRE(r.status == 200);
  return r.json()["data"];
}

bool joined(orchestrator_process& o, const std::string& name, child& worker) {
  auto listed = wait_until([&] {
    auto now = nodes(o);  // kept: the loop below reads into it
    for (auto& n : now["nodes"])
      if (n["name"] == name)
        return true;
    return false;
  });
  if (!listed)
    WARN("worker " << name << " did not join; its log:\n" << worker.err());
  return listed;
}

std::vector<std::string> coordinator_args(const std::string& node_port) {
  return {"--max-concurrent-tasks", "0", "--node-port", node_port, "--node-timeout", "3"};
}

} // namespace orch::test
