// Worker nodes: real `orchestrator worker` processes connected over CAF's
// middleman on 127.0.0.1 to an orchestrator's --node-port. The orchestrator
// runs with no slots of its own, so a task that completes ran on a worker.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <csignal>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/e2e/e2e_support.hpp"
#include "tests/e2e/nodes_support.hpp"
#include "tests/support/sse_client.hpp"
#include "tests/support/tcp_relay.hpp"
#include "runtime/app/version.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/messages/node_types.hpp"

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
  auto port = f.orch->node_port();
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
    CHECK(t["node"] == "w1");
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
  CHECK(w["caf_version"] == "0.17.6");
  // Its heartbeat: an RFC 3339 time that moves on with every renewal.
  REQUIRE(w["last_heartbeat"].is_string());
  auto first_beat = w["last_heartbeat"].get<std::string>();
  CHECK(wait_until([&] {
    auto now = nodes(*f.orch);  // kept: read below
    return now["nodes"][0]["last_heartbeat"].get<std::string>() > first_beat;
  }));
  CHECK(after["slots"] == 2);
  // Per-node figures in the metrics.
  auto metrics = f.orch->http().get("/metrics").body;
  CHECK(metrics.find("orchestrator_node_slots{node=\"w1\"} 2") != std::string::npos);
  CHECK(metrics.find("orchestrator_node_running{node=\"w1\"} 0") != std::string::npos);
  CHECK(metrics.find("orchestrator_node_attempts_finished_total{node=\"w1\",outcome=\"success\"} 12")
        != std::string::npos);
}

TEST_CASE("nodes: a task with node_labels waits for a node that has them all, the task and "
          "its started event name the node that ran it", "[nodes]") {
  // One slot here, labelled zone=a; worker nodes join later.
  e2e_fixture f{{"--max-concurrent-tasks", "1", "--labels", "zone=a", "--node-port", "0",
                 "--node-timeout", "3"}};
  auto health = f.orch->http().get("/health");
  REQUIRE(health.status == 200);
  auto here = health.json()["data"]["instance"].get<std::string>();
  auto submit = [&](json node_labels) {
    json body{{"command", "sh"}, {"args", {"-c", "echo $PPID"}}};
    if (!node_labels.is_null())
      body["node_labels"] = node_labels;
    return f.orch->submit(body)["id"].get<std::string>();
  };
  std::vector<std::string> gpu, local, anywhere;
  for (int i = 0; i < 3; ++i) {
    gpu.push_back(submit({{"gpu", "yes"}}));
    local.push_back(submit({{"zone", "a"}}));
    anywhere.push_back(submit(nullptr));
  }
  auto nowhere = submit({{"gpu", "yes"}, {"zone", "a"}});  // no node has both
  for (auto* ids : {&local, &anywhere})
    for (auto& id : *ids) {
      auto t = f.orch->wait_terminal(id);
      CHECK(t["status"] == "Completed");
      CHECK(t["node"] == here);
      CHECK(t["output"] == std::to_string(f.orch->proc().pid()) + "\n");
    }

  // A node with gpu=no joins: it takes work, but not the gpu tasks.
  auto cpu = start_worker(f.dir, f.orch->node_port(), "cpu-1", 2, "gpu=no");
  REQUIRE(joined(*f.orch, "cpu-1", *cpu));
  auto on_cpu = f.orch->wait_terminal(submit({{"gpu", "no"}}));
  CHECK(on_cpu["status"] == "Completed");
  CHECK(on_cpu["node"] == "cpu-1");
  for (auto& id : gpu)
    CHECK(f.orch->task(id)["status"] == "Queued");

  // The node with gpu=yes joins while they wait, and runs them.
  auto gpu_node = start_worker(f.dir, f.orch->node_port(), "gpu-1", 2, "gpu=yes,zone=b");
  REQUIRE(joined(*f.orch, "gpu-1", *gpu_node));
  for (auto& id : gpu) {
    auto t = f.orch->wait_terminal(id);
    CHECK(t["status"] == "Completed");
    CHECK(t["node"] == "gpu-1");
    CHECK(t["node_labels"] == json{{"gpu", "yes"}});
    CHECK(t["output"] == std::to_string(gpu_node->pid()) + "\n");
    auto events = f.orch->http().get("/tasks/" + id + "/events");
    REQUIRE(events.status == 200);
    auto records = events.json()["data"]["events"];
    int started = 0;
    for (auto& ev : records)
      if (ev["kind"] == "started") {
        ++started;
        CHECK(ev["node"] == "gpu-1");
      } else {
        CHECK(ev["node"] == "");
      }
    CHECK(started == 1);
  }
  CHECK(f.orch->task(nowhere)["status"] == "Queued");
  CHECK(f.orch->task(nowhere)["node"] == "");

  // GET /nodes shows each node's labels, this instance's too.
  auto listed = nodes(*f.orch);
  std::map<std::string, json> by_name;
  for (auto& n : listed["nodes"])
    by_name[n["name"].get<std::string>()] = n["labels"];
  CHECK(by_name[here] == json{{"zone", "a"}});
  CHECK(by_name["gpu-1"] == json{{"gpu", "yes"}, {"zone", "b"}});
  CHECK(by_name["cpu-1"] == json{{"gpu", "no"}});

  // A label a node cannot have is refused when submitted.
  auto bad = f.orch->http().post("/tasks", json{{"command", "true"},
                                               {"node_labels", {{"gpu", "yes please"}}}}.dump());
  CHECK(bad.status == 400);
  CHECK(bad.json()["error"].get<std::string>().find("node_labels") != std::string::npos);
}

TEST_CASE("nodes: cancelling a task stops its process on the worker", "[nodes]") {
  e2e_fixture f{coordinator_args()};
  auto worker = start_worker(f.dir, f.orch->node_port(), "w1", 1);
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

TEST_CASE("nodes: a worker stopped with SIGTERM takes nothing new, lets what runs finish, and "
          "hands back what outlives its grace period to run again, not counted", "[nodes]") {
  e2e_fixture f{coordinator_args()};
  auto w1 = start_worker(f.dir, f.orch->node_port(), "w1", 2, "", {"--shutdown-grace-s", "2"});
  REQUIRE(joined(*f.orch, "w1", *w1));
  auto started = f.dir / "short.started", long_pid = f.dir / "long.pid", once = f.dir / "long.once";
  // One that finishes within the grace period, one that would not (the
  // first time it runs); neither may be retried (max_retries 0).
  auto short_id = f.orch->submit({{"command", "sh"},
                                  {"args", {"-c", "touch " + started + "; sleep 1; echo $PPID"}}})["id"]
                    .get<std::string>();
  auto long_id = f.orch->submit({{"command", "sh"},
                                 {"args", {"-c", "if [ ! -f " + once + " ]; then touch " + once
                                                   + "; echo $$ > " + long_pid
                                                   + "; exec sleep 60; fi; echo $PPID"}}})["id"]
                   .get<std::string>();
  REQUIRE(wait_until([&] { return read_pid(long_pid) > 0 && std::filesystem::exists(started); }));
  auto sleeper = read_pid(long_pid);
  REQUIRE(::kill(w1->pid(), SIGTERM) == 0);

  // It leaves the pool at once, while its attempts still run.
  CHECK(wait_until([&] { return nodes(*f.orch)["nodes"].empty(); }));
  CHECK(f.orch->task(short_id)["status"] == "Running");
  // The short one finishes there and is handed back.
  auto done = f.orch->wait_terminal(short_id);
  CHECK(done["status"] == "Completed");
  CHECK(done["node"] == "w1");
  CHECK(done["output"] == std::to_string(w1->pid()) + "\n");
  // The long one is stopped after 2 s and queued again, its attempt not counted.
  CHECK(w1->wait_exit(std::chrono::seconds(30)) == 0);
  CHECK(gone(sleeper));
  auto back = f.orch->task(long_id);
  CHECK(back["status"] == "Queued");
  CHECK(back["attempts"] == 0);
  CHECK(w1->err().find("stopped: every attempt that ran here was handed back") != std::string::npos);
  auto leave = audit_of(*f.orch, "node.leave");
  REQUIRE(leave.size() == 1);
  CHECK(leave[0]["target"] == "node:w1");
  CHECK(audit_of(*f.orch, "node.loss").empty());  // it left; it was not lost

  // The next worker runs it to the end.
  auto w2 = start_worker(f.dir, f.orch->node_port(), "w2", 1);
  REQUIRE(joined(*f.orch, "w2", *w2));
  auto again = f.orch->wait_terminal(long_id);
  CHECK(again["status"] == "Completed");
  CHECK(again["attempts"] == 1);
  CHECK(again["node"] == "w2");
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
  auto port = f.orch->node_port();
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
  CHECK(open_nodes.err.find("--auth required") != std::string::npos);
  auto clear_nodes = run_orchestrator({"--data-dir", d / "data", "--auth", "required",
                                       "--node-port", "0", "--node-bind", "0.0.0.0"},
                                      d / "d");
  CHECK(clear_nodes.exit_code == 2);
  CHECK(clear_nodes.err.find("--insecure-nodes") != std::string::npos);

  // A name the coordinator does not take ends the worker with the reason.
  e2e_fixture f{coordinator_args()};
  auto port = f.orch->node_port();
  auto bad_name = start_worker(f.dir, port, "no spaces", 1);
  CHECK(bad_name->wait_exit(std::chrono::seconds(30)) == 2);
  CHECK(bad_name->err().find("refused this worker") != std::string::npos);
  // So does another release's worker, at the handshake.
  child old_release{{orchestrator_binary(), "worker", "--connect", "127.0.0.1:" + std::to_string(port),
                     "--slots", "1", "--name", "old", "--node-protocol", "2"},
                    f.dir / "worker-old"};
  CHECK(old_release.wait_exit(std::chrono::seconds(30)) == 2);
  // Both versions named, each with its release.
  CHECK(old_release.err().find(
          "speaks node protocol " + std::to_string(orch::node_protocol_version) + " (release "
          + std::string(orch::orchestrator_version) + ") and this worker node protocol 2 (release ")
        != std::string::npos);
  CHECK(nodes(*f.orch)["nodes"].empty());
}

TEST_CASE("nodes: a frozen worker's attempt is taken back within --node-timeout and run "
          "elsewhere, resumed, the worker kills its stale copy", "[nodes]") {
  e2e_fixture f{coordinator_args()};
  auto port = f.orch->node_port();
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
          "discarded and audited, the worker is used again", "[nodes]") {
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

namespace {

/// The processes a worker started (its tasks' process groups lead there).
std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  for (auto& e : std::filesystem::directory_iterator{"/proc"}) {
    auto name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    std::ifstream stat{e.path() / "stat"};
    std::string text;
    std::getline(stat, text);
    auto close = text.rfind(')');
    if (close == std::string::npos)
      continue;
    std::istringstream rest{text.substr(close + 2)};
    char state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent)
      out.push_back(std::stoi(name));
  }
  return out;
}

/// One attempt as its marker file tells it: when it started and, if it got
/// that far, ended (nanoseconds, this machine's clock).
struct attempt_marks {
  long long start = 0, end = 0;
};

} // namespace

TEST_CASE("nodes: 300 tasks on three workers, one killed -9 and one frozen mid-run: every task "
          "completes and no two attempts of a task overlap", "[nodes]") {
  e2e_fixture f{coordinator_args()};
  auto port = f.orch->node_port();
  std::vector<std::unique_ptr<child>> workers;
  for (auto name : {"w1", "w2", "w3"}) {
    workers.push_back(start_worker(f.dir, port, name, 2));
    REQUIRE(joined(*f.orch, name, *workers.back()));
  }
  auto marks = f.dir / "marks";
  std::filesystem::create_directories(marks);
  // Each attempt writes "<start ns>" into marks/<task>-<attempt>, works a
  // little, and appends "<end ns>".
  auto script = "m=" + marks + "/$ORCHESTRATOR_TASK_ID-$ORCHESTRATOR_ATTEMPT; date +%s%N > $m; "
                "sleep 0.0$(( $$ % 8 )); date +%s%N >> $m";
  std::vector<std::string> ids;
  for (int b = 0; b < 3; ++b) {
    json tasks = json::array();
    for (int i = 0; i < 100; ++i)
      tasks.push_back({{"command", "sh"}, {"args", {"-c", script}}, {"max_retries", 5}});
    auto r = f.orch->http().post("/tasks/batch", json{{"tasks", tasks}}.dump());
    REQUIRE(r.status == 201);
    auto body = r.json();  // kept: the loop reads into it
    for (auto& t : body["data"]["tasks"])
      ids.push_back(t["id"]);
    REQUIRE(ids.size() == 100u * (b + 1));
  }
  auto completed = [&] {
    auto s = statuses(*f.orch);
    return std::count_if(ids.begin(), ids.end(), [&](auto& id) { return s[id] == "Completed"; });
  };
  REQUIRE(wait_until([&] { return completed() >= 60; }, std::chrono::seconds(60)));
  workers[0]->kill9();
  REQUIRE(wait_until([&] { return completed() >= 120; }, std::chrono::seconds(60)));
  // w2's machine stops: the worker first (it starts nothing more), then
  // every task it runs.
  auto frozen = workers[1]->pid();
  ::kill(frozen, SIGSTOP);
  auto stopped_tasks = children_of(frozen);
  for (auto pid : stopped_tasks)
    ::kill(-pid, SIGSTOP);
  INFO(stopped_tasks.size() << " task process(es) frozen with w2");
  REQUIRE(wait_until([&] { return completed() == 300; }, std::chrono::seconds(120)));
  // w2 wakes: it kills its stale attempts and comes back.
  ::kill(frozen, SIGCONT);
  for (auto pid : stopped_tasks)
    CHECK(wait_until([&] { return gone(pid); }, std::chrono::seconds(15)));
  for (auto pid : stopped_tasks)
    ::kill(-pid, SIGCONT);
  CHECK(wait_until([&] {
    auto n = nodes(*f.orch)["nodes"];
    return std::any_of(n.begin(), n.end(), [](auto& x) { return x["name"] == "w2"; });
  }));

  // Every attempt that finished did so before the next one started, and the
  // last attempt counted is the one that finished the task.
  std::map<std::string, std::map<int, attempt_marks>> seen;
  for (auto& e : std::filesystem::directory_iterator{marks}) {
    auto name = e.path().filename().string();
    auto dash = name.rfind('-');
    std::ifstream in{e.path()};
    attempt_marks m;
    in >> m.start >> m.end;
    seen[name.substr(0, dash)][std::stoi(name.substr(dash + 1))] = m;
  }
  int retried = 0;
  for (auto& id : ids) {
    auto t = f.orch->task(id);
    CHECK(t["status"] == "Completed");
    auto& attempts = seen[id];
    REQUIRE(!attempts.empty());
    CHECK(attempts.rbegin()->first == t["attempts"].get<int>());
    CHECK(attempts.rbegin()->second.end != 0);
    retried += attempts.size() > 1;
    const attempt_marks* before = nullptr;
    for (auto& [n, m] : attempts) {
      if (before && before->end != 0) {
        INFO("task " << id << " attempt " << n);
        CHECK(m.start >= before->end);
      }
      before = &m;
    }
  }
  INFO(retried << " task(s) ran more than once");
  CHECK(retried >= 1);  // the kill and the freeze cut attempts short
}

TEST_CASE("nodes: with authentication required a worker registers only with a live token of "
          "the worker role", "[nodes]") {
  temp_dir d{"orch-nodes"};
  const std::string admin_password = "admin-password-1";
  auto args = coordinator_args();
  args.insert(args.end(), {"--data-dir", d / "data", "--auth", "required", "--log-level", "warn"});
  orchestrator_process orch{args, d / "orch", {}, {{"ORCHESTRATOR_ADMIN_PASSWORD", admin_password}}};
  auto port = orch.node_port();
  auto login = [&](const std::string& user, const std::string& password) {
    auto r = orch.http().post("/auth/login",
                              json{{"username", user}, {"password", password}}.dump());
    REQUIRE(r.status == 200);
    return r.json()["data"]["token"].get<std::string>();
  };
  orch.http().set_bearer(login("admin", admin_password));
  for (auto [name, role] : {std::pair{"runner", "worker"}, std::pair{"watcher", "viewer"}})
    REQUIRE(orch.http()
              .post("/users", json{{"username", name}, {"password", std::string{name} + "-pass-1"},
                                   {"roles", {role}}}
                                .dump())
              .status
            == 201);
  auto named_token = [&](const std::string& user) {
    auto r = orch.http().post("/auth/tokens", json{{"name", "node"}, {"user", user}}.dump());
    REQUIRE(r.status == 201);
    return r.json()["data"]["token"].get<std::string>();
  };
  auto worker_token = named_token("runner");
  auto viewer_token = named_token("watcher");
  auto with_token = [&](const std::string& name, const std::string& token) {
    std::vector<std::string> argv{orchestrator_binary(), "worker", "--connect",
                                  "127.0.0.1:" + std::to_string(port), "--slots", "1", "--name",
                                  name};
    if (!token.empty()) {
      std::ofstream{d / (name + ".token")} << token << "\n";
      argv.insert(argv.end(), {"--token-file", d / (name + ".token")});
    }
    return std::make_unique<child>(argv, d / ("worker-" + name));
  };
  struct refusal {
    const char* name;
    std::string token;
    const char* says;
  };
  for (auto& r : {refusal{"none", "", "requires authentication"},
                  refusal{"viewer", viewer_token, "does not have the worker role"},
                  refusal{"forged", worker_token.substr(0, worker_token.size() - 4) + "0000",
                          "invalid, expired or revoked"}}) {
    auto w = with_token(r.name, r.token);
    INFO(r.name);
    CHECK(w->wait_exit(std::chrono::seconds(30)) == 2);
    CHECK(w->err().find(r.says) != std::string::npos);
  }
  auto w = with_token("runner-1", worker_token);
  REQUIRE(joined(orch, "runner-1", *w));
  auto id = orch.submit({{"command", "true"}})["id"].get<std::string>();
  CHECK(orch.wait_terminal(id)["status"] == "Completed");
  // Three refusals and one join in the audit log (stored in batches: awaited).
  auto outcomes = [&](const char* outcome) {
    auto joins = audit_of(orch, "node.join");
    return std::count_if(joins.begin(), joins.end(),
                         [&](auto& r) { return r["outcome"] == outcome; });
  };
  CHECK(wait_until([&] { return outcomes("denied") == 3 && outcomes("ok") == 1; }));
}

TEST_CASE("nodes: joins, broken connections, losses and leaves are events in the stream, "
          "stored, so a resumed stream replays them", "[nodes][events]") {
  e2e_fixture f{coordinator_args()};
  const std::string kinds = "node_joined,node_disconnected,node_lost,node_left";
  sse_client stream{f.orch->port(), "/events?kind=" + kinds};
  REQUIRE(stream.status() == 200);
  auto next_of = [&](sse_client& s) {
    auto m = s.next();
    REQUIRE(m);
    auto ev = json::parse(m->data);
    CHECK(ev["id"] == m->id);
    CHECK(ev["task_id"] == "");  // a node's event, not a task's
    return std::make_pair(ev["kind"].get<std::string>(), ev["node"].get<std::string>());
  };
  using seen = std::pair<std::string, std::string>;

  auto w1 = start_worker(f.dir, f.orch->node_port(), "w1", 1);
  REQUIRE(joined(*f.orch, "w1", *w1));
  CHECK(next_of(stream) == seen{"node_joined", "w1"});
  REQUIRE(::kill(w1->pid(), SIGTERM) == 0);
  CHECK(next_of(stream) == seen{"node_left", "w1"});
  CHECK(w1->wait_exit(std::chrono::seconds(30)) == 0);

  auto w2 = start_worker(f.dir, f.orch->node_port(), "w2", 1);
  REQUIRE(joined(*f.orch, "w2", *w2));
  CHECK(next_of(stream) == seen{"node_joined", "w2"});
  w2->kill9();
  CHECK(next_of(stream) == seen{"node_disconnected", "w2"});
  CHECK(next_of(stream) == seen{"node_lost", "w2"});  // not back within --node-timeout

  // Stored: a stream that starts from nothing replays them all, in order;
  // node= narrows to one node.
  sse_client replay{f.orch->port(), "/events?kind=" + kinds + "&after=" + new_uuid_v7(1)};
  std::vector<seen> all;
  for (int i = 0; i < 5; ++i)
    all.push_back(next_of(replay));
  CHECK(all == std::vector<seen>{{"node_joined", "w1"}, {"node_left", "w1"},
                                 {"node_joined", "w2"}, {"node_disconnected", "w2"},
                                 {"node_lost", "w2"}});
  sse_client one{f.orch->port(), "/events?node=w1&after=" + new_uuid_v7(1)};
  CHECK(next_of(one) == seen{"node_joined", "w1"});
  CHECK(next_of(one) == seen{"node_left", "w1"});
}

namespace {

/// The next message of an output stream, as JSON.
json next_piece(sse_client& s) {
  auto m = s.next();
  REQUIRE(m);
  return json::parse(m->data);
}

json piece(const char* stream, const std::string& text) {
  return {{"type", "output"}, {"stream", stream}, {"text", text}};
}

/// A shell loop that waits for `file` to exist.
std::string wait_for(const std::string& file) {
  return "while [ ! -f " + file + " ]; do sleep 0.05; done";
}

} // namespace

TEST_CASE("nodes: following the output of a task on a worker streams it as the worker's process "
          "writes it", "[nodes][output]") {
  e2e_fixture f{coordinator_args()};
  auto w1 = start_worker(f.dir, f.orch->node_port(), "w1", 1);
  REQUIRE(joined(*f.orch, "w1", *w1));
  auto gate = f.dir / "gate";
  auto id = f.orch->submit({{"command", "sh"},
                            {"args", {"-c", "echo from-the-worker; echo a-warning >&2; "
                                              + wait_for(gate) + "; echo after-the-gate"}}})["id"]
              .get<std::string>();
  REQUIRE(wait_until([&] { return f.orch->task(id)["status"] == "Running"; }));
  sse_client s{f.orch->port(), "/tasks/" + id + "/output?follow=1"};
  auto attempt = next_piece(s);
  CHECK(attempt["type"] == "attempt");
  CHECK(attempt["node"] == "w1");
  CHECK(attempt["live"] == true);
  // Both written before the gate opens: relayed while the process waits.
  std::vector<json> before{next_piece(s), next_piece(s)};
  std::sort(before.begin(), before.end(), [](auto& a, auto& b) { return a.dump() < b.dump(); });
  CHECK(before == std::vector<json>{piece("stderr", "a-warning\n"),
                                    piece("stdout", "from-the-worker\n")});
  CHECK(f.orch->task(id)["status"] == "Running");
  std::ofstream{gate} << "go";
  CHECK(next_piece(s) == piece("stdout", "after-the-gate\n"));
  CHECK(next_piece(s)["type"] == "end");
  auto t = f.orch->task(id);
  CHECK(t["output"] == "from-the-worker\nafter-the-gate\n");
}

TEST_CASE("nodes: output a worker writes while cut off from its orchestrator reaches the "
          "followers once it is back", "[nodes][output]") {
  // A long lease: the attempt outlives the cut and stays this worker's.
  auto args = coordinator_args();
  *(std::find(args.begin(), args.end(), "--node-timeout") + 1) = "30";
  e2e_fixture f{args};
  tcp_relay relay{f.orch->node_port()};
  auto w1 = start_worker(f.dir, relay.port(), "w1", 1);
  REQUIRE(joined(*f.orch, "w1", *w1));
  auto gate1 = f.dir / "gate1", wrote = f.dir / "wrote", gate2 = f.dir / "gate2";
  auto id = f.orch->submit({{"command", "sh"},
                            {"args", {"-c", "echo before; " + wait_for(gate1)
                                              + "; echo while-cut-off; touch " + wrote + "; "
                                              + wait_for(gate2) + "; echo after"}}})["id"]
              .get<std::string>();
  REQUIRE(wait_until([&] { return f.orch->task(id)["status"] == "Running"; }));
  sse_client s{f.orch->port(), "/tasks/" + id + "/output?follow=1"};
  CHECK(next_piece(s)["live"] == true);
  CHECK(next_piece(s) == piece("stdout", "before\n"));

  sse_client nodes_events{f.orch->port(), "/events?kind=node_disconnected,node_joined&after="
                                            + new_uuid_v7(1)};
  auto next_kind = [&] {
    auto m = nodes_events.next();
    REQUIRE(m);
    return json::parse(m->data)["kind"].get<std::string>();
  };
  REQUIRE(next_kind() == "node_joined");
  relay.cut();
  REQUIRE(next_kind() == "node_disconnected");
  std::ofstream{gate1} << "go";
  REQUIRE(wait_until([&] { return std::filesystem::exists(wrote); }));
  relay.restore();
  REQUIRE(next_kind() == "node_joined");
  CHECK(next_piece(s) == piece("stdout", "while-cut-off\n"));
  std::ofstream{gate2} << "go";
  CHECK(next_piece(s) == piece("stdout", "after\n"));
  CHECK(next_piece(s)["type"] == "end");
  CHECK(f.orch->task(id)["output"] == "before\nwhile-cut-off\nafter\n");
  CHECK(relay.relayed() >= 2);
}

TEST_CASE("nodes: an attempt lost with its worker keeps the output relayed before the loss",
          "[nodes][output]") {
  e2e_fixture f{coordinator_args()};
  auto w1 = start_worker(f.dir, f.orch->node_port(), "w1", 1);
  REQUIRE(joined(*f.orch, "w1", *w1));
  auto id = f.orch->submit({{"command", "sh"},
                            {"args", {"-c", "echo step-1-done; echo oops >&2; sleep 60"}},
                            {"max_retries", 0}})["id"]
              .get<std::string>();
  REQUIRE(wait_until([&] { return f.orch->task(id)["status"] == "Running"; }));
  sse_client s{f.orch->port(), "/tasks/" + id + "/output?follow=1"};
  CHECK(next_piece(s)["live"] == true);
  std::vector<json> relayed{next_piece(s), next_piece(s)};
  w1->kill9();
  REQUIRE(wait_until([&] { return f.orch->task(id)["status"] == "Failed"; },
                     std::chrono::seconds(20)));
  auto t = f.orch->task(id);
  CHECK(t["output"] == "step-1-done\n");
  CHECK(t["stderr"] == "oops\n");
  CHECK(t["error"].get<std::string>().find("worker node 'w1' was lost") != std::string::npos);
}
