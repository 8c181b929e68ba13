#include "tests/e2e/e2e_support.hpp"

#include <cstdlib>
#include <sstream>

namespace orch::test {

std::vector<std::string> e2e_args(std::vector<std::string> extra) {
  std::vector<std::string> args{"--retry-backoff-ms", "50", "--log-level", "warn"};
  if (const char* storage = std::getenv("ORCH_E2E_STORAGE_ARGS")) {
    std::istringstream in{storage};
    std::string word;
    while (in >> word)
      args.push_back(word);
  }
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::map<std::string, std::string> statuses(orchestrator_process& o) {
  std::map<std::string, std::string> out;
  for (uint64_t offset = 0;; offset += 1000) {
    auto r = o.http().get("/tasks?limit=1000&offset=" + std::to_string(offset));
    if (r.status != 200)
      throw std::runtime_error("GET /tasks failed: " + r.body + r.error);
    auto data = r.json()["data"];
    for (auto& t : data["tasks"])
      out[t["id"]] = t["status"];
    if (data["tasks"].size() < 1000)
      break;
  }
  return out;
}

} // namespace orch::test
