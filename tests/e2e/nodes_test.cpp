// Worker nodes: real `orchestrator worker` processes connected over CAF's
// middleman on 127.0.0.1 to an orchestrator's --node-port. The orchestrator
// runs with no slots of its own, so a task that completes ran on a worker.
#include <catch2/catch.hpp>

#include <fstream>
#include <regex>

#include <csignal>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/e2e/e2e_support.hpp"

using namespace orch;
using namespace orch::test;

namespace {

/// A port nobody listens on now (the kernel's pick, released at once).
uint16_t unused_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

/// The port the orchestrator printed as "nodes on HOST:PORT".
uint16_t node_port_of(orchestrator_process& o) {
  std::smatch m;
  auto out = o.proc().out();
  REQUIRE(std::regex_search(out, m, std::regex{"nodes on [0-9.]+:([0-9]+)"}));
  return static_cast<uint16_t>(std::stoi(m[1]));
}

std::unique_ptr<child> start_worker(const temp_dir& d, uint16_t port, const std::string& name,
                                    int slots) {
  return std::make_unique<child>(
    std::vector<std::string>{orchestrator_binary(), "worker", "--connect",
                             "127.0.0.1:" + std::to_string(port), "--slots", std::to_string(slots),
                             "--name", name},
    d / ("worker-" + name));
}

json nodes(orchestrator_process& o) {
  auto r = o.http().get("/nodes");
  REQUIRE(r.status == 200);
  return r.json()["data"];
}

/// Waits until GET /nodes lists the worker called `name`; says why not.
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

/// Serves with no slots here and worker nodes on a port the kernel picks;
/// a worker unheard of for 3 s is lost.
std::vector<std::string> coordinator_args(const std::string& node_port = "0") {
  return {"--max-concurrent-tasks", "0", "--node-port", node_port, "--node-timeout", "3"};
}

/// The audit records of `action` (newest first).
json audit_of(orchestrator_process& o, const std::string& action) {
  auto r = o.http().get("/audit?action=" + action);
  REQUIRE(r.status == 200);
  return r.json()["data"]["records"];
}

pid_t read_pid(const std::string& file) {
  std::ifstream in{file};
  pid_t pid = 0;
  return (in >> pid) ? pid : 0;
}

bool gone(pid_t pid) {
  return ::kill(pid, 0) != 0 && errno == ESRCH;
}

} // namespace

TEST_CASE("nodes: an orchestrator without slots of its own runs every task on its worker",
          "[nodes]") {
  e2e_fixture f{coordinator_args()};
  auto port = node_port_of(*f.orch);
  auto before = nodes(*f.orch);
  CHECK(before["nodes"].empty());
  CHECK(before["slots"] == 0);

  std::vector<std::string> ids;
  for (int i = 0; i < 12; ++i)
    ids.push_back(f.orch->submit({{"command", "sh"}, {"args", {"-c", "echo $PPID"}}})["id"]);
  for (auto& id : ids)
    CHECK(f.orch->task(id)["status"] == "Queued");  // nowhere to run yet

  auto worker = start_worker(f.dir, port, "w1", 2);
  REQUIRE(joined(*f.orch, "w1", *worker));
  for (auto& id : ids) {
    auto t = f.orch->wait_terminal(id);
    CHECK(t["status"] == "Completed");
    // The task's parent is the worker process: it ran there, not here.
    CHECK(t["output"] == std::to_string(worker->pid()) + "\n");
  }
  auto after = nodes(*f.orch);
  REQUIRE(after["nodes"].size() == 1);
  auto& w = after["nodes"][0];
  CHECK(w["name"] == "w1");
  CHECK(w["slots"] == 2);
  CHECK(w["running"] == 0);
  CHECK(w["completed"] == 12);
  CHECK(w["local"] == false);
  CHECK(w["address"].get<std::string>().find("pid " + std::to_string(worker->pid()))
        != std::string::npos);
  CHECK(after["slots"] == 2);
}

TEST_CASE("nodes: cancelling a task stops its process on the worker", "[nodes]") {
  e2e_fixture f{coordinator_args()};
  auto worker = start_worker(f.dir, node_port_of(*f.orch), "w1", 1);
  REQUIRE(joined(*f.orch, "w1", *worker));
  auto pid_file = f.dir / "task.pid";
  auto id = f.orch->submit({{"command", "sh"},
                            {"args", {"-c", "echo $$ > " + pid_file + "; exec sleep 60"}}})["id"]
              .get<std::string>();
  pid_t pid = 0;
  REQUIRE(wait_until([&] { return (pid = read_pid(pid_file)) > 0; }));
  auto r = f.orch->http().post("/tasks/" + id + "/cancel", "");
  REQUIRE(r.status == 200);
  CHECK(f.orch->wait_terminal(id)["status"] == "Cancelled");
  CHECK(wait_until([&] { return gone(pid); }, std::chrono::seconds(10)));
  // The slot is free again: the next task runs.
  auto next = f.orch->submit({{"command", "true"}})["id"].get<std::string>();
  CHECK(f.orch->wait_terminal(next)["status"] == "Completed");
}

TEST_CASE("nodes: a worker started before its orchestrator registers once it is up", "[nodes]") {
  temp_dir d{"orch-nodes"};
  auto port = unused_port();
  auto worker = start_worker(d, port, "early", 1);
  REQUIRE(wait_until([&] {
    return worker->err().find("cannot reach the orchestrator") != std::string::npos;
  }));
  e2e_fixture f{coordinator_args(std::to_string(port))};
  REQUIRE(joined(*f.orch, "early", *worker));
  auto id = f.orch->submit({{"command", "true"}})["id"].get<std::string>();
  CHECK(f.orch->wait_terminal(id)["status"] == "Completed");
}

TEST_CASE("nodes: an attempt lost with its worker (kill -9) runs again on another", "[nodes]") {
  e2e_fixture f{coordinator_args()};
  auto port = node_port_of(*f.orch);
  auto first = start_worker(f.dir, port, "w1", 1);
  REQUIRE(joined(*f.orch, "w1", *first));
  auto marker = f.dir / "started";
  auto id = f.orch->submit({{"command", "sh"},
                            {"args", {"-c", "touch " + marker + "; sleep 30"}},
                            {"max_retries", 1}})["id"]
              .get<std::string>();
  REQUIRE(wait_until([&] { return std::filesystem::exists(marker); }));
  first->kill9();
  auto second = start_worker(f.dir, port, "w2", 1);
  REQUIRE(wait_until([&] { return f.orch->task(id)["attempts"] == 2; }));
  // w1 is gone from the list; w2 runs the second attempt.
  REQUIRE(wait_until([&] {
    auto n = nodes(*f.orch)["nodes"];
    return n.size() == 1 && n[0]["name"] == "w2" && n[0]["running"] == 1;
  }));
  auto events = f.orch->http().get("/tasks/" + id + "/events").json();
  CHECK(events.dump().find("worker node 'w1' was lost") != std::string::npos);
  f.orch->http().post("/tasks/" + id + "/cancel", "");
}

TEST_CASE("nodes: a worker is refused what it cannot be", "[nodes]") {
  temp_dir d{"orch-nodes"};
  auto bad_connect = run_orchestrator({"worker", "--connect", "localhost"}, d / "a");
  CHECK(bad_connect.exit_code == 2);
  CHECK(bad_connect.err.find("'localhost' is not HOST:PORT") != std::string::npos);
  auto bad_labels = run_orchestrator({"worker", "--connect", "127.0.0.1:1", "--labels", "gpu"},
                                     d / "b");
  CHECK(bad_labels.exit_code == 2);
  CHECK(bad_labels.err.find("'gpu' is not key=value") != std::string::npos);
  auto open_nodes = run_orchestrator({"--data-dir", d / "data", "--node-port", "0",
                                      "--node-bind", "0.0.0.0"},
                                     d / "c");
  CHECK(open_nodes.exit_code == 2);
  CHECK(open_nodes.err.find("--insecure-nodes") != std::string::npos);

  // A name the coordinator does not take ends the worker with the reason.
  e2e_fixture f{coordinator_args()};
  auto bad_name = start_worker(f.dir, node_port_of(*f.orch), "no spaces", 1);
  CHECK(bad_name->wait_exit(std::chrono::seconds(30)) == 2);
  CHECK(bad_name->err().find("refused this worker") != std::string::npos);
}

TEST_CASE("nodes: a frozen worker's attempt is taken back within --node-timeout and run "
          "elsewhere; resumed, the worker kills its stale copy", "[nodes]") {
  e2e_fixture f{coordinator_args()};
  auto port = node_port_of(*f.orch);
  auto frozen = start_worker(f.dir, port, "w1", 1);
  REQUIRE(joined(*f.orch, "w1", *frozen));
  // Each attempt leaves its pid and, if it gets that far, a "done" marker.
  auto dir = f.dir.path();
  auto id = f.orch->submit({{"command", "sh"},
                            {"args", {"-c", "echo $$ > " + dir + "/pid-$ORCHESTRATOR_ATTEMPT; "
                                            "sleep 5; touch " + dir + "/done-$ORCHESTRATOR_ATTEMPT"}},
                            {"max_retries", 1}})["id"]
              .get<std::string>();
  pid_t first = 0;
  REQUIRE(wait_until([&] { return (first = read_pid(dir + "/pid-1")) > 0; }));
  // The whole machine stops: the worker and the task's process group.
  ::kill(frozen->pid(), SIGSTOP);
  ::kill(-first, SIGSTOP);
  auto stopped_at = std::chrono::steady_clock::now();
  auto other = start_worker(f.dir, port, "w2", 1);
  REQUIRE(wait_until([&] { return read_pid(dir + "/pid-2") > 0; }, std::chrono::seconds(30)));
  auto taken_back_after = std::chrono::steady_clock::now() - stopped_at;
  CHECK(taken_back_after < std::chrono::seconds(3 + 5));  // the lease, and a margin for load
  auto t = f.orch->wait_terminal(id);
  CHECK(t["status"] == "Completed");
  CHECK(t["attempts"] == 2);
  // The worker wakes; its copy of attempt 1 never gets to finish.
  ::kill(frozen->pid(), SIGCONT);
  CHECK(wait_until([&] { return gone(first); }, std::chrono::seconds(15)));
  ::kill(-first, SIGCONT);  // nothing left to continue, if all went well
  CHECK_FALSE(std::filesystem::exists(dir + "/done-1"));
  CHECK(std::filesystem::exists(dir + "/done-2"));
  auto loss = audit_of(*f.orch, "node.loss");
  REQUIRE(loss.size() >= 1);
  CHECK(loss[0]["target"] == "node:w1");
}

TEST_CASE("nodes: a result held across an orchestrator restart for an attempt taken back is "
          "discarded and audited; the worker is used again", "[nodes]") {
  auto port = unused_port();
  e2e_fixture f{coordinator_args(std::to_string(port))};
  auto worker = start_worker(f.dir, port, "w1", 1);
  REQUIRE(joined(*f.orch, "w1", *worker));
  auto dir = f.dir.path();
  auto id = f.orch->submit({{"command", "sh"},
                            {"args", {"-c", "touch " + dir + "/started-$ORCHESTRATOR_ATTEMPT; "
                                            "while [ ! -e " + dir + "/go ]; do sleep 0.05; done"}},
                            {"max_retries", 1}})["id"]
              .get<std::string>();
  REQUIRE(wait_until([&] { return std::filesystem::exists(dir + "/started-1"); }));
  f.orch->proc().kill9();
  // Attempt 1 ends while the orchestrator is away: the worker holds its result.
  { std::ofstream{dir + "/go"}; }
  REQUIRE(wait_until([&] {
    return worker->err().find("kept for the next connection") != std::string::npos
           || worker->err().find("lost the orchestrator") != std::string::npos;
  }));
  f.start(coordinator_args(std::to_string(port)));
  REQUIRE(joined(*f.orch, "w1", *worker));
  // The restarted orchestrator took attempt 1 back (recovery) and runs attempt 2.
  auto t = f.orch->wait_terminal(id);
  CHECK(t["status"] == "Completed");
  CHECK(t["attempts"] == 2);
  REQUIRE(wait_until([&] { return audit_of(*f.orch, "node.result_discarded").size() == 1; }));
  auto discarded = audit_of(*f.orch, "node.result_discarded")[0];
  CHECK(discarded["target"] == "task:" + id);
  CHECK(discarded["outcome"] == "denied");
}
