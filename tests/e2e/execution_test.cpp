// Execution end to end: retries, timeouts, cancellation, retry endpoint,
// Nushell scripts, environment, dependencies, bounded output.
#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>

#include <unistd.h>

#include "runtime/core/clock.hpp"
#include "tests/e2e/e2e_support.hpp"

using namespace orch;
using namespace orch::test;

namespace {

std::vector<std::string> event_kinds(orchestrator_process& o, const std::string& id) {
  std::vector<std::string> kinds;
  auto r = o.http().get("/tasks/" + id + "/events");
  INFO(r.status << " " << r.body << r.error);
  REQUIRE(r.status == 200);
  auto body = r.json();  // keep it alive: the loop refers into it
  for (auto& e : body["data"]["events"])
    kinds.push_back(e["kind"]);
  return kinds;
}

bool process_alive(pid_t pid) {
  return ::kill(pid, 0) == 0;
}

} // namespace

TEST_CASE("e2e: a failing task is retried max_retries times then Failed", "[e2e][retry]") {
  e2e_fixture f;
  auto counter = f.dir / "runs";
  auto t = f.orch->submit({{"command", "sh"},
                           {"args", {"-c", "echo run >> " + counter + "; exit 7"}},
                           {"max_retries", 3}});
  auto done = f.orch->wait_terminal(t["id"]);
  CHECK(done["status"] == "Failed");
  CHECK(done["attempts"] == 4);
  CHECK(done["exit_code"] == 7);
  CHECK(done["error"] == "exited with code 7");
  CHECK(slurp(counter) == "run\nrun\nrun\nrun\n");
  auto kinds = event_kinds(*f.orch, t["id"]);
  CHECK(std::count(kinds.begin(), kinds.end(), "retry_scheduled") == 3);
  CHECK(std::count(kinds.begin(), kinds.end(), "started") == 4);
  CHECK(kinds.back() == "failed");
}

TEST_CASE("e2e: a task that succeeds on a retry completes", "[e2e][retry]") {
  e2e_fixture f;
  auto marker = f.dir / "second-time";
  auto t = f.orch->submit(
    {{"command", "sh"},
     {"args", {"-c", "if [ -e " + marker + " ]; then echo ok; else touch " + marker + "; exit 1; fi"}},
     {"max_retries", 2}});
  auto done = f.orch->wait_terminal(t["id"]);
  CHECK(done["status"] == "Completed");
  CHECK(done["attempts"] == 2);
  CHECK(done["output"] == "ok\n");
  CHECK(done["error"] == "");
}

TEST_CASE("e2e: a task over its timeout is killed with its process group", "[e2e][timeout]") {
  e2e_fixture f;
  auto pidfile = f.dir / "child.pid";
  // The shell's background child is in the same group and must die too.
  auto t = f.orch->submit({{"command", "sh"},
                           {"args", {"-c", "sleep 60 & echo $! > " + pidfile + "; wait"}},
                           {"timeout_s", 1}});
  auto done = f.orch->wait_terminal(t["id"], std::chrono::seconds(30));
  CHECK(done["status"] == "Failed");
  CHECK(done["error"] == "timed out after 1 s");
  auto pid = std::stoi(slurp(pidfile));
  CHECK(wait_until([&] { return !process_alive(pid); }, std::chrono::seconds(10)));
}

TEST_CASE("e2e: sleep 60 with timeout_s 1 fails within seconds", "[e2e][timeout]") {
  e2e_fixture f;
  auto start = std::chrono::steady_clock::now();
  auto t = f.orch->submit({{"command", "sleep"}, {"args", {"60"}}, {"timeout_s", 1}});
  auto done = f.orch->wait_terminal(t["id"], std::chrono::seconds(30));
  CHECK(done["status"] == "Failed");
  CHECK(done["error"] == "timed out after 1 s");
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(20));
}

TEST_CASE("e2e: a cancelled queued task never starts", "[e2e][cancel]") {
  e2e_fixture f{{"--max-concurrent-tasks", "1"}};
  auto gate = f.dir / "gate";
  auto blocker = f.orch->submit(
    {{"command", "sh"}, {"args", {"-c", "while [ ! -e " + gate + " ]; do sleep 0.02; done"}}});
  REQUIRE(wait_until([&] { return f.orch->task(blocker["id"])["status"] == "Running"; }));
  auto marker = f.dir / "ran";
  auto victim = f.orch->submit({{"command", "touch"}, {"args", {marker}}});
  auto r = f.orch->http().post("/tasks/" + victim["id"].get<std::string>() + "/cancel", "");
  REQUIRE(r.status == 200);
  CHECK(r.json()["data"]["status"] == "Cancelled");
  write_text(gate, "");
  // Something queued after the victim runs, so the victim had its chance.
  auto after = f.orch->submit({{"command", "true"}});
  f.orch->wait_terminal(after["id"]);
  auto v = f.orch->task(victim["id"]);
  CHECK(v["status"] == "Cancelled");
  CHECK(v["started_at"].is_null());
  CHECK(v["attempts"] == 0);
  CHECK_FALSE(std::filesystem::exists(marker));
  auto kinds = event_kinds(*f.orch, victim["id"]);
  CHECK(std::find(kinds.begin(), kinds.end(), "started") == kinds.end());
}

TEST_CASE("e2e: a cancelled running task is killed", "[e2e][cancel]") {
  e2e_fixture f;
  auto pidfile = f.dir / "pid";
  auto t = f.orch->submit({{"command", "sh"}, {"args", {"-c", "echo $$ > " + pidfile + "; exec sleep 60"}}});
  REQUIRE(wait_until([&] { return slurp(pidfile).size() > 1; }));
  auto pid = std::stoi(slurp(pidfile));
  REQUIRE(process_alive(pid));
  auto r = f.orch->http().post("/tasks/" + t["id"].get<std::string>() + "/cancel", "");
  REQUIRE(r.status == 200);
  CHECK(r.json()["data"]["status"] == "Cancelled");
  CHECK(wait_until([&] { return !process_alive(pid); }, std::chrono::seconds(10)));
  CHECK(f.orch->task(t["id"])["status"] == "Cancelled");
  // Cancelling again is a conflict that says why.
  auto again = f.orch->http().post("/tasks/" + t["id"].get<std::string>() + "/cancel", "");
  CHECK(again.status == 409);
  CHECK(again.json()["error"].get<std::string>().find("is already Cancelled") != std::string::npos);
}

TEST_CASE("e2e: the retry endpoint queues a Failed or Cancelled task again", "[e2e][retry]") {
  e2e_fixture f;
  auto marker = f.dir / "fixed";
  auto t = f.orch->submit({{"command", "test"}, {"args", {"-e", marker}}});
  std::string id = t["id"];
  CHECK(f.orch->wait_terminal(id)["status"] == "Failed");
  write_text(marker, "");
  auto r = f.orch->http().post("/tasks/" + id + "/retry", "");
  REQUIRE(r.status == 200);
  CHECK(r.json()["data"]["status"] == "Queued");
  auto done = f.orch->wait_terminal(id);
  CHECK(done["status"] == "Completed");
  CHECK(done["attempts"] == 1);
  auto again = f.orch->http().post("/tasks/" + id + "/retry", "");
  CHECK(again.status == 409);
  CHECK(again.json()["error"] == "task " + id + " is Completed; only Failed or Cancelled tasks can be retried");
}

TEST_CASE("e2e: Nushell scripts run inline and from a .nu file", "[e2e][nushell]") {
  e2e_fixture f;
  auto inline_task = f.orch->submit({{"script", "[1 2 3 4] | math sum | print"}});
  auto done = f.orch->wait_terminal(inline_task["id"]);
  INFO(done.dump());
  CHECK(done["status"] == "Completed");
  CHECK(done["output"] == "10\n");
  auto file = f.dir / "greet.nu";
  write_text(file, "def main [name: string, times: int] {\n"
                   "  1..$times | each { |i| $\"hello ($name) ($i)\" } | str join ','  | print\n"
                   "}\n");
  auto file_task = f.orch->submit({{"script_file", file}, {"args", {"nu", "2"}}});
  done = f.orch->wait_terminal(file_task["id"]);
  INFO(done.dump());
  CHECK(done["status"] == "Completed");
  CHECK(done["output"].get<std::string>().substr(0, 21) == "hello nu 1,hello nu 2");
  auto failing = f.orch->submit({{"script", "error make {msg: 'boom'}"}});
  done = f.orch->wait_terminal(failing["id"]);
  CHECK(done["status"] == "Failed");
  CHECK(done["stderr"].get<std::string>().find("boom") != std::string::npos);
}

TEST_CASE("e2e: environment - working directory and a missing command", "[e2e]") {
  e2e_fixture f;
  auto t = f.orch->submit({{"command", "sh"},
                           {"args", {"-c", "echo $GREETING $ORCHESTRATOR_ATTEMPT; pwd"}},
                           {"env", {{"GREETING", "hi"}}},
                           {"workdir", f.dir.path()}});
  auto done = f.orch->wait_terminal(t["id"]);
  CHECK(done["output"] == "hi 1\n" + f.dir.path() + "\n");
  auto missing = f.orch->wait_terminal(f.orch->submit({{"command", "no-such-program-xyz"}})["id"]);
  CHECK(missing["status"] == "Failed");
  CHECK(missing["error"].get<std::string>().find("failed to start: command 'no-such-program-xyz' not found on PATH") == 0);
  CHECK(missing["exit_code"].is_null());
}

TEST_CASE("e2e: dependants wait for their dependencies and fail with them", "[e2e][deps]") {
  e2e_fixture f;
  auto gate = f.dir / "gate";
  auto log = f.dir / "order";
  auto a = f.orch->submit({{"command", "sh"},
                           {"args", {"-c", "while [ ! -e " + gate + " ]; do sleep 0.02; done; echo a >> " + log}}});
  auto b = f.orch->submit({{"command", "sh"}, {"args", {"-c", "echo b >> " + log}},
                           {"dependencies", {a["id"]}}});
  CHECK(b["status"] == "Pending");
  auto bad = f.orch->submit({{"command", "false"}});
  auto c = f.orch->submit({{"command", "true"}, {"dependencies", {bad["id"], a["id"]}}});
  write_text(gate, "");
  CHECK(f.orch->wait_terminal(b["id"])["status"] == "Completed");
  CHECK(slurp(log) == "a\nb\n");
  auto cdone = f.orch->wait_terminal(c["id"]);
  CHECK(cdone["status"] == "Failed");
  CHECK(cdone["error"] == "dependency " + bad["id"].get<std::string>() + " is Failed");
  auto unknown = f.orch->http().post(
    "/tasks", R"({"command":"true","dependencies":["6f1c2c5e-0d4f-4b8a-9a3e-2b1c0d9e8f7a"]})");
  CHECK(unknown.status == 400);
  CHECK(unknown.json()["error"] == "dependency 6f1c2c5e-0d4f-4b8a-9a3e-2b1c0d9e8f7a does not exist (submit it first)");
}

TEST_CASE("e2e: output beyond --max-output-bytes is cut with a marker", "[e2e]") {
  e2e_fixture f{{"--max-output-bytes", "1000"}};
  auto t = f.orch->submit({{"command", "sh"}, {"args", {"-c", "yes | head -c 5000"}}});
  auto done = f.orch->wait_terminal(t["id"]);
  auto out = done["output"].get<std::string>();
  CHECK(out.substr(0, 10) == "y\ny\ny\ny\ny\n");
  CHECK(out.find("[... output truncated: 4000 more bytes were discarded (limit 1000 bytes) ...]") != std::string::npos);
}

TEST_CASE("e2e: with no task slots an instance stores and serves - the next one with slots runs "
          "what it took", "[e2e]") {
  e2e_fixture f{{"--max-concurrent-tasks", "0"}};
  auto health = f.orch->http().get("/health").json()["data"];
  CHECK(health["slots"] == 0);
  auto marker = f.dir / "ran";
  auto t = f.orch->submit({{"command", "touch"}, {"args", {marker}}});
  auto batch = f.orch->http().post("/tasks/batch", R"({"tasks":[{"command":"true"}]})");
  REQUIRE(batch.status == 201);
  // Claims are what start tasks, and this instance makes none: a task
  // submitted after the first is still Queued once the first's own
  // submission is long answered, and nothing has run.
  auto later = f.orch->submit({{"command", "true"}});
  CHECK(f.orch->task(t["id"])["status"] == "Queued");
  CHECK(f.orch->task(later["id"])["status"] == "Queued");
  CHECK(f.orch->http().get("/health").json()["data"]["attempts_started"] == 0);
  CHECK_FALSE(std::filesystem::exists(marker));
  REQUIRE(f.orch->proc().terminate() == 0);
  f.start({"--max-concurrent-tasks", "2"});
  CHECK(f.orch->wait_terminal(t["id"])["status"] == "Completed");
  CHECK(f.orch->wait_terminal(later["id"])["status"] == "Completed");
  CHECK(f.orch->wait_terminal(batch.json()["data"]["tasks"][0]["id"])["status"] == "Completed");
  CHECK(std::filesystem::exists(marker));
}

TEST_CASE("e2e: a task with run_at waits in the queue until then, across a restart too, and "
          "one whose run_at is past runs at once", "[e2e][run_at]") {
  e2e_fixture f;
  auto at = now_us() + 2'500'000;
  auto later = f.orch->submit({{"command", "true"}, {"run_at", format_rfc3339(at)}});
  CHECK(later["status"] == "Queued");
  micros asked = 0, waits = 0;
  REQUIRE(parse_rfc3339(later["run_at"].get<std::string>(), asked));
  REQUIRE(parse_rfc3339(later["not_before"].get<std::string>(), waits));
  CHECK(asked == at);
  CHECK(waits == at);
  auto soon = f.orch->submit({{"command", "true"}, {"run_at", "2020-01-01T00:00:00Z"}});
  CHECK(f.orch->wait_terminal(soon["id"])["status"] == "Completed");
  // Still waiting after a task submitted later has run; then a restart.
  CHECK(f.orch->task(later["id"])["status"] == "Queued");
  CHECK(f.orch->proc().terminate(std::chrono::seconds(60)) == 0);
  f.start();
  auto done = f.orch->wait_terminal(later["id"]);
  CHECK(done["status"] == "Completed");
  micros started = 0;
  REQUIRE(parse_rfc3339(done["started_at"].get<std::string>(), started));
  CHECK(started >= at);
}
