// Tasks that misbehave: output that floods, a daemon left behind, SIGTERM
// ignored, a working directory that does not exist. Each ends in the state
// the README documents ("Reliability"), and the orchestrator's memory stays
// bounded whatever a task writes.
#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>

#include "tests/e2e/e2e_support.hpp"
#include "tests/support/proc_status.hpp"
#include "tests/support/wait.hpp"

using namespace orch;
using namespace orch::test;

namespace {

bool alive(pid_t pid) {
  return ::kill(pid, 0) == 0;
}

} // namespace

TEST_CASE("e2e faults: a task writing 2 GiB to stdout and stderr at full speed completes with "
          "both cut at the limit, and the orchestrator's peak memory stays bounded",
          "[e2e][faults]") {
  e2e_fixture f;
  auto t = f.orch->submit(
    {{"command", "sh"},
     {"args", {"-c", "head -c 1073741824 /dev/zero & head -c 1073741824 /dev/zero >&2; wait"}}});
  auto done = f.orch->wait_terminal(t["id"], std::chrono::seconds(120));
  CHECK(done["status"] == "Completed");
  auto out = done["output"].get<std::string>();
  auto err = done["stderr"].get<std::string>();
  CHECK(out.size() < (1 << 20) + 200);
  CHECK(out.find("1072693248 more bytes were discarded (limit 1048576 bytes)") != std::string::npos);
  CHECK(err.find("1072693248 more bytes were discarded") != std::string::npos);
  auto peak = proc_status_kib(f.orch->proc().pid(), "VmHWM") / 1024;  // MiB
  INFO("orchestrator peak RSS " << peak << " MiB");
  CHECK(peak > 0);
  CHECK(peak < 256);
}

TEST_CASE("e2e faults: a task that ignores SIGTERM is killed with SIGKILL on cancel and on "
          "timeout", "[e2e][faults]") {
  e2e_fixture f;
  auto pidfile = f.dir / "stubborn.pid";
  auto stubborn = "trap '' TERM; echo $$ > " + pidfile + "; while :; do sleep 0.05; done";
  auto t = f.orch->submit({{"command", "sh"}, {"args", {"-c", stubborn}}});
  REQUIRE(wait_until([&] { return std::filesystem::exists(pidfile) && !slurp(pidfile).empty(); }));
  auto pid = std::stoi(slurp(pidfile));
  REQUIRE(f.orch->http().post("/tasks/" + t["id"].get<std::string>() + "/cancel", "").status == 200);
  auto done = f.orch->wait_terminal(t["id"], std::chrono::seconds(30));
  CHECK(done["status"] == "Cancelled");
  CHECK(wait_until([&] { return !alive(pid); }, std::chrono::seconds(10)));

  std::filesystem::remove(pidfile);
  auto timed = f.orch->submit({{"command", "sh"}, {"args", {"-c", stubborn}}, {"timeout_s", 1}});
  auto failed = f.orch->wait_terminal(timed["id"], std::chrono::seconds(30));
  CHECK(failed["status"] == "Failed");
  CHECK(failed["error"] == "timed out after 1 s");
  REQUIRE(std::filesystem::exists(pidfile));
  pid = std::stoi(slurp(pidfile));
  CHECK(wait_until([&] { return !alive(pid); }, std::chrono::seconds(10)));
}

TEST_CASE("e2e faults: a task that starts a daemon and exits is Completed, the daemon, in a "
          "session of its own, does not hold the attempt open", "[e2e][faults]") {
  e2e_fixture f;
  auto pidfile = f.dir / "daemon.pid";
  // The daemon keeps the task's stdout open: the attempt still ends soon
  // after the task's own process does. The task waits until the daemon has
  // left its session (a process still in it when the task ends is the
  // task's, and is stopped with it).
  auto t = f.orch->submit(
    {{"command", "sh"},
     {"args", {"-c", "setsid sh -c 'echo $$ > " + pidfile + "; exec sleep 60' & "
                     "while [ ! -s " + pidfile + " ]; do sleep 0.01; done; echo started"}}});
  auto start = std::chrono::steady_clock::now();
  auto done = f.orch->wait_terminal(t["id"], std::chrono::seconds(30));
  CHECK(done["status"] == "Completed");
  CHECK(done["output"].get<std::string>().rfind("started\n", 0) == 0);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(15));
  REQUIRE(wait_until([&] { return std::filesystem::exists(pidfile) && !slurp(pidfile).empty(); }));
  auto pid = std::stoi(slurp(pidfile));
  CHECK(alive(pid));  // documented: what leaves the task's session is not the task's any more
  ::kill(pid, SIGKILL);
}

TEST_CASE("e2e faults: a working directory that does not exist fails the task with the path",
          "[e2e][faults]") {
  e2e_fixture f;
  auto t = f.orch->submit({{"command", "true"}, {"workdir", "/no/such/dir-xyz"}});
  auto done = f.orch->wait_terminal(t["id"]);
  CHECK(done["status"] == "Failed");
  CHECK(done["error"] == "failed to start: working directory '/no/such/dir-xyz' does not exist "
                         "or is not a directory");
  CHECK(done["exit_code"].is_null());
}
