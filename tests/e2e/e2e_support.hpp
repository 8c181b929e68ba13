// Shared bits of the end-to-end tests: a fresh data dir and a running
// orchestrator on a free port, torn down at the end of the test.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/backend_under_test.hpp"
#include "tests/support/orchestrator_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/wait.hpp"

namespace orch::test {

using nlohmann::json;

/// An orchestrator's arguments on `storage`: `base`, the storage's, then
/// `extra` (a fixture's instance, or another one on the same shared store).
std::vector<std::string> instance_args(std::vector<std::string> base,
                                       const storage_settings& storage,
                                       const std::vector<std::string>& extra = {});

/// An orchestrator on the backend under test (--backend, see
/// backend_under_test.hpp) with fast retries; start() again after a stop or a
/// kill restarts it on the same data.
struct e2e_fixture {
  temp_dir dir{"orch-e2e"};
  storage_settings storage = fresh_storage(dir);
  std::unique_ptr<orchestrator_process> orch;

  explicit e2e_fixture(std::vector<std::string> extra = {}) { start(std::move(extra)); }

  void start(std::vector<std::string> extra = {}) {
    orch = std::make_unique<orchestrator_process>(
      instance_args({"--retry-backoff-ms", "50", "--log-level", "warn"}, storage, extra),
      dir / ("orch-" + std::to_string(runs++)));
  }

  int runs = 0;
};

/// Status of every listed task, by id.
std::map<std::string, std::string> statuses(orchestrator_process& o);

} // namespace orch::test
