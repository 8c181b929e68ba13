// Subprocesses: argv without a shell, environment, working directory, exit
// codes, bounded output, killing the whole process group.
#include <catch2/catch.hpp>

#include <csignal>
#include <thread>

#include "runtime/platform/process/child_process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace orch;

namespace {

exec_result run(exec_spec spec) {
  auto p = child_process::start(spec);
  if (!p) {
    exec_result r;
    r.error = p.message();
    return r;
  }
  return (*p)->wait();
}

exec_spec spec_of(std::vector<std::string> argv) {
  exec_spec s;
  s.task_id = "t";
  s.argv = std::move(argv);
  return s;
}

} // namespace

TEST_CASE("arguments reach the program verbatim - without a shell", "[process]") {
  auto r = run(spec_of({"printf", "%s|", "a b", "$HOME", "*", ";ls"}));
  REQUIRE(r.started);
  CHECK(r.exited);
  CHECK(r.exit_code == 0);
  CHECK(r.output == "a b|$HOME|*|;ls|");
}

TEST_CASE("exit code - stderr - environment and working directory", "[process]") {
  test::temp_dir dir;
  auto s = spec_of({"sh", "-c", "echo \"$GREETING from $(pwd)\"; echo oops >&2; exit 3"});
  s.env = {{"GREETING", "hello"}};
  s.workdir = dir.path();
  auto r = run(s);
  REQUIRE(r.started);
  CHECK(r.exit_code == 3);
  CHECK(r.output == "hello from " + dir.path() + "\n");
  CHECK(r.error_output == "oops\n");
}

TEST_CASE("a missing command or working directory is a clear start error", "[process]") {
  auto r = run(spec_of({"definitely-not-a-command-xyz"}));
  CHECK_FALSE(r.started);
  CHECK(r.error.find("command 'definitely-not-a-command-xyz' not found on PATH") == 0);
  auto s = spec_of({"true"});
  s.workdir = "/nonexistent/dir";
  r = run(s);
  CHECK_FALSE(r.started);
  CHECK(r.error == "working directory '/nonexistent/dir' does not exist or is not a directory");
}

TEST_CASE("output beyond the limit is discarded with a marker", "[process]") {
  auto s = spec_of({"head", "-c", "100000", "/dev/zero"});
  s.max_output_bytes = 1000;
  auto r = run(s);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.substr(0, 1000) == std::string(1000, '\0'));
  CHECK(r.output.find("[... output truncated: 99000 more bytes were discarded (limit 1000 bytes) ...]")
        != std::string::npos);
}

TEST_CASE("signalling the group ends the task and its children", "[process]") {
  // The shell starts a background sleep: both are in the task's group.
  auto started = child_process::start(spec_of({"sh", "-c", "sleep 60 & sleep 60; echo never"}));
  REQUIRE(started);
  auto p = *started;
  std::thread killer([p] { p->signal_group(SIGKILL); });
  auto r = p->wait();
  killer.join();
  CHECK_FALSE(r.exited);
  CHECK(r.term_signal == SIGKILL);
  CHECK(r.output.empty());
  CHECK(describe_signal(SIGKILL) == "killed by signal 9 (SIGKILL)");
}

TEST_CASE("background children left behind do not keep the attempt open", "[process]") {
  // The main process exits at once; its background child holds stdout open.
  auto start = std::chrono::steady_clock::now();
  auto r = run(spec_of({"sh", "-c", "sleep 30 & echo done"}));
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(r.exit_code == 0);
  CHECK(r.output == "done\n");
  CHECK(took < std::chrono::seconds(10));
}
