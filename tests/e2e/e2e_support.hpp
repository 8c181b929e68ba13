// Shared bits of the end-to-end tests: a fresh data dir and a running
// orchestrator on a free port, torn down at the end of the test.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/orchestrator_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/wait.hpp"

namespace orch::test {

using nlohmann::json;

/// Extra options every end-to-end orchestrator gets: fast retries, and the
/// storage backend under test (ORCH_E2E_STORAGE_ARGS, space-separated, lets
/// CTest run the same tests against each backend).
std::vector<std::string> e2e_args(std::vector<std::string> extra);

struct e2e_fixture {
  temp_dir dir{"orch-e2e"};
  std::unique_ptr<orchestrator_process> orch;

  explicit e2e_fixture(std::vector<std::string> extra = {}) { start(std::move(extra)); }

  void start(std::vector<std::string> extra = {}) {
    auto args = e2e_args(std::move(extra));
    args.push_back("--data-dir");
    args.push_back(dir / "data");
    orch = std::make_unique<orchestrator_process>(args, dir / ("orch-" + std::to_string(runs++)));
  }

  int runs = 0;
};

/// Status of every listed task, by id.
std::map<std::string, std::string> statuses(orchestrator_process& o);

} // namespace orch::test
