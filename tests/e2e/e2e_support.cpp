#include "tests/e2e/e2e_support.hpp"


namespace orch::test {

std::vector<std::string> instance_args(std::vector<std::string> base,
                                       const storage_settings& storage,
                                       const std::vector<std::string>& extra) {
  auto s = storage_args(storage);
  base.insert(base.end(), s.begin(), s.end());
  base.insert(base.end(), extra.begin(), extra.end());
  return base;
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
