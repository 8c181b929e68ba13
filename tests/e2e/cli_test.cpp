// The command line: help, dry run, config files, unavailable backends.
#include <catch2/catch.hpp>

#include <filesystem>

#include "tests/e2e/e2e_support.hpp"
#include "tests/support/child.hpp"

using namespace orch;
using namespace orch::test;

TEST_CASE("cli: --help lists the storage types on the storage-type line", "[cli]") {
  temp_dir d;
  auto r = run_orchestrator({"--help"}, d / "help");
  REQUIRE(r.exit_code == 0);
  std::string line;
  std::istringstream in{r.out};
  while (std::getline(in, line))
    if (line.find("--storage-type") != std::string::npos)
      break;
  CHECK(line.find("filesystem") != std::string::npos);
  CHECK(line.find("surrealdb-embedded") != std::string::npos);
  CHECK(line.find("surrealdb-server") != std::string::npos);
}

TEST_CASE("cli: --dry-run checks storage - prints the configuration and does not serve", "[cli]") {
  temp_dir d;
  auto r = run_orchestrator({"--storage-type", "filesystem", "--data-dir", d / "data", "--dry-run"},
                            d / "dry");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("configuration is valid") != std::string::npos);
  CHECK(r.out.find("storage type:         filesystem") != std::string::npos);
  CHECK(r.out.find(d.path() + "/data/queue.rkvs") != std::string::npos);
  CHECK(r.out.find("tasks: 0") != std::string::npos);
  CHECK(r.out.find("listening") == std::string::npos);
}

TEST_CASE("cli: a config file sets options and the command line overrides it", "[cli]") {
  temp_dir d;
  write_text(d / "orch.toml", "storage-type = \"filesystem\"\n"
                              "data-dir = \"" + d / "from-file" + "\"\n"
                              "port = 9123\n"
                              "max-concurrent-tasks = 3\n");
  auto r = run_orchestrator({"--config", d / "orch.toml", "--dry-run"}, d / "cfg1");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find(d.path() + "/from-file/queue.rkvs") != std::string::npos);
  CHECK(r.out.find(":9123") != std::string::npos);
  CHECK(r.out.find("max concurrent tasks: 3") != std::string::npos);
  r = run_orchestrator({"--config", d / "orch.toml", "--port", "9999", "--dry-run"}, d / "cfg2");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find(":9999") != std::string::npos);
  write_text(d / "bad.toml", "colour = \"red\"\n");
  r = run_orchestrator({"--config", d / "bad.toml", "--dry-run"}, d / "cfg3");
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("colour") != std::string::npos);
}

TEST_CASE("cli: the example config in config/ is valid", "[cli]") {
  temp_dir d;
  auto r = run_orchestrator({"--config", ORCH_SOURCE_DIR "/config/orchestrator.example.toml",
                             "--data-dir", d / "data", "--dry-run"},
                            d / "example");
  INFO(r.err);
  CHECK(r.exit_code == 0);
}

TEST_CASE("cli: unknown storage types and options are refused clearly", "[cli]") {
  temp_dir d;
  auto r = run_orchestrator({"--storage-type", "mongodb", "--dry-run"}, d / "bad");
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("unknown storage type 'mongodb'") != std::string::npos);
  r = run_orchestrator({"--no-such-flag"}, d / "bad2");
  CHECK(r.exit_code != 0);
}

TEST_CASE("cli: scripts/run.sh serves the filesystem backend on port 8080 unless its arguments "
          "say otherwise",
          "[cli]") {
  temp_dir d;
  auto build_dir = std::filesystem::path{orchestrator_binary()}.parent_path().string();
  auto run_script = [&](std::vector<std::string> extra, const std::string& log) {
    std::vector<std::string> argv{"env", "-C", d.path(), "BUILD_DIR=" + build_dir,
                                  "ORCHESTRATOR_SKIP_SETUP=1", "bash",
                                  ORCH_SOURCE_DIR "/scripts/run.sh", "--dry-run"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    child c{argv, d / log};
    auto code = c.wait_exit(std::chrono::seconds(60));
    return run_result{code, c.out(), c.err()};
  };
  // (./data is the project root's, where a test must not write: given here.)
  auto defaults = run_script({"--data-dir", d / "data"}, "defaults");
  INFO(defaults.err);
  REQUIRE(defaults.exit_code == 0);
  CHECK(defaults.out.find("storage type:         filesystem") != std::string::npos);
  CHECK(defaults.out.find(d.path() + "/data/queue.rkvs") != std::string::npos);
  CHECK(defaults.out.find("http://127.0.0.1:8080") != std::string::npos);

  auto chosen = run_script({"--port", "9090", "--data-dir=" + d / "elsewhere"}, "chosen");
  INFO(chosen.err);
  REQUIRE(chosen.exit_code == 0);
  CHECK(chosen.out.find("http://127.0.0.1:9090") != std::string::npos);
  CHECK(chosen.out.find(d.path() + "/elsewhere/queue.rkvs") != std::string::npos);
}
