// Workflows end to end, on every backend: a graph runs in dependency order
// and its status rolls up; a bad graph is refused whole and stores nothing;
// a failure stops the nodes after it; a workflow is cancelled as one.
#include <catch2/catch.hpp>

#include <fstream>
#include <thread>

#include "runtime/core/clock.hpp"
#include "runtime/core/ids.hpp"
#include "tests/e2e/e2e_support.hpp"
#include "tests/e2e/workflow_support.hpp"
#include "tests/support/raw_socket.hpp"

using namespace orch;
using namespace orch::test;
using nlohmann::json;

namespace {

json wf_node(const std::string& key, const std::string& script,
             std::vector<std::string> after = {}) {
  json n{{"key", key}, {"command", "sh"}, {"args", {"-c", script}}};
  if (!after.empty())
    n["after"] = after;
  return n;
}

std::map<std::string, json> nodes_by_key(orchestrator_process& o, const json& wf) {
  std::map<std::string, json> out;
  for (auto& n : wf["tasks"])
    out[n["key"].get<std::string>()] = o.task(n["id"].get<std::string>());
  return out;
}

uint64_t total_of(orchestrator_process& o, const std::string& path) {
  return o.http().get(path).json()["data"]["total"].get<uint64_t>();
}

} // namespace

TEST_CASE("workflows: a diamond runs in dependency order and its status rolls up to Completed",
          "[e2e][workflows]") {
  e2e_fixture f;
  auto& o = *f.orch;
  auto made = submit_workflow(
    o, {{"name", "release"},
        {"tasks", {wf_node("join", "echo joined", {"left", "right"}),
                   wf_node("left", "sleep 0.2; echo left", {"fetch"}),
                   wf_node("right", "echo right", {"fetch"}), wf_node("fetch", "sleep 0.2; echo fetched")}}});
  CHECK(made["name"] == "release");
  CHECK(made["tasks"].size() == 4);
  CHECK(made["status"] == "Queued");
  auto id = made["id"].get<std::string>();
  auto done = wait_workflow(o, id);
  CHECK(done["status"] == "Completed");
  CHECK(done["counts"] == json{{"Completed", 4}});
  auto n = nodes_by_key(o, done);
  for (auto& [key, t] : n) {
    CHECK(t["labels"]["workflow"] == id);
    CHECK(t["labels"]["workflow_key"] == key);
    CHECK(t["name"] == "release/" + key);
  }
  CHECK(n["left"]["output"] == "left\n");
  // Each started only once those it comes after had completed.
  CHECK(time_of(n["left"]["started_at"]) >= time_of(n["fetch"]["completed_at"]));
  CHECK(time_of(n["right"]["started_at"]) >= time_of(n["fetch"]["completed_at"]));
  CHECK(time_of(n["join"]["started_at"]) >= time_of(n["left"]["completed_at"]));
  CHECK(time_of(n["join"]["started_at"]) >= time_of(n["right"]["completed_at"]));
  CHECK(total_of(o, "/tasks?q=label:workflow=" + id) == 4);
  CHECK(total_of(o, "/workflows") == 1);
  // The graph's edges both ways: the dependants of fetch.
  CHECK(total_of(o, "/tasks?depends_on=" + n["fetch"]["id"].get<std::string>()) == 2);
}

TEST_CASE("workflows: a graph with a cycle, an unknown or a doubled key is refused whole, naming "
          "the keys, and nothing is stored", "[e2e][workflows]") {
  e2e_fixture f;
  auto& o = *f.orch;
  auto refusal = [&](const json& body) {
    auto r = o.http().post("/workflows", body.dump());
    return std::to_string(r.status) + " " + r.json().value("error", std::string{});
  };
  CHECK_THAT(refusal({{"tasks", {wf_node("a", "true", {"c"}), wf_node("b", "true", {"a"}),
                                 wf_node("c", "true", {"b"}), wf_node("d", "true")}}}),
             Catch::StartsWith("400 the tasks form a cycle: ") && Catch::Contains(" -> ")
               && Catch::Contains("a") && Catch::Contains("b") && Catch::Contains("c"));
  CHECK_THAT(refusal({{"tasks", {wf_node("a", "true", {"x"})}}}),
             Catch::Contains("after names 'x'"));
  CHECK_THAT(refusal({{"tasks", {wf_node("a", "true"), wf_node("a", "true")}}}),
             Catch::Contains("used by tasks[0] too"));
  CHECK_THAT(refusal({{"tasks", {wf_node("a", "true"), json{{"key", "b"}, {"priority", "high"}}}}}),
             Catch::StartsWith("400 tasks[1] (b): "));
  CHECK(total_of(o, "/tasks") == 0);
  CHECK(total_of(o, "/workflows") == 0);
}

TEST_CASE("workflows: a failed node's dependants do not run, the others go on, cancel ends "
          "the rest, and the workflow is Failed", "[e2e][workflows]") {
  e2e_fixture f;
  auto& o = *f.orch;
  auto made = submit_workflow(
    o, {{"tasks", {wf_node("broken", "exit 3"), wf_node("after-broken", "echo never", {"broken"}),
                   wf_node("slow", "sleep 600")}}});
  auto id = made["id"].get<std::string>();
  json now;
  REQUIRE(wait_until([&] {
    now = workflow_of(o, id);
    return now["counts"].value("Failed", 0) == 2 && now["counts"].value("Running", 0) == 1;
  }));
  CHECK(now["status"] == "Running");  // slow still runs
  auto n = nodes_by_key(o, now);
  CHECK(n["after-broken"]["attempts"] == 0);
  CHECK_THAT(n["after-broken"]["error"].get<std::string>(), Catch::Contains("Failed"));
  auto cancelled = o.http().post("/workflows/" + id + "/cancel", "{}");
  REQUIRE(cancelled.status == 200);
  auto done = wait_workflow(o, id);
  CHECK(done["status"] == "Failed");
  CHECK(done["counts"] == json{{"Failed", 2}, {"Cancelled", 1}});
  CHECK(o.http().get("/workflows/" + new_uuid_v4()).status == 404);
}

TEST_CASE("workflows: with on_failure continue a failed node's dependants run all the same, a "
          "node that says on_dependency_failure fail does not, and the workflow is Failed",
          "[e2e][workflows]") {
  e2e_fixture f;
  auto& o = *f.orch;
  auto log = f.dir / "ran";
  json strict = wf_node("strict", "echo strict >> '" + log + "'", {"broken"});
  strict["on_dependency_failure"] = "fail";
  auto made = submit_workflow(
    o, {{"on_failure", "continue"},
        {"tasks", {wf_node("broken", "exit 3"),
                   wf_node("cleanup", "echo cleanup >> '" + log + "'", {"broken"}),
                   wf_node("report", "echo report >> '" + log + "'", {"cleanup"}), strict}}});
  auto id = made["id"].get<std::string>();
  auto done = wait_workflow(o, id);
  CHECK(done["status"] == "Failed");
  CHECK(done["counts"] == json{{"Completed", 2}, {"Failed", 2}});
  auto n = nodes_by_key(o, done);
  CHECK(n["broken"]["status"] == "Failed");
  CHECK(n["cleanup"]["status"] == "Completed");
  CHECK(n["cleanup"]["on_dependency_failure"] == "run");
  CHECK(n["report"]["status"] == "Completed");
  CHECK(n["strict"]["status"] == "Failed");
  CHECK(n["strict"]["attempts"] == 0);
  CHECK(slurp(log) == "cleanup\nreport\n");
  // The same rule on a plain task, and a wrong value refused.
  auto after = o.submit({{"command", "true"},
                         {"dependencies", {n["broken"]["id"]}},
                         {"on_dependency_failure", "run"}});
  CHECK(o.wait_terminal(after["id"])["status"] == "Completed");
  auto wrong = o.http().post("/tasks", R"({"command":"true","on_dependency_failure":"sometimes"})");
  CHECK(wrong.status == 400);
  CHECK_THAT(wrong.json()["error"].get<std::string>(),
             Catch::Contains("'on_dependency_failure' must be \"fail\""));
}

TEST_CASE("workflows: a node's args and env take its dependencies' outputs through "
          "{{tasks.KEY.output}}, and so does a plain task through a dependency's id",
          "[e2e][workflows][outputs]") {
  e2e_fixture f;
  auto& o = *f.orch;
  json ship{{"key", "ship"},
            {"after", {"fetch", "version"}},
            {"command", "sh"},
            {"args", {"-c", "printf '%s|%s|%s' \"$1\" \"$SHA\" \"$2\"", "_",
                      "{{tasks.version.output}}", "v={{tasks.version.output}};{{tasks.fetch.output}}"}},
            {"env", {{"SHA", "{{ tasks.fetch.output }}"}}}};
  auto made = submit_workflow(
    o, {{"tasks", {wf_node("fetch", "echo 9f1c2e; echo"), wf_node("version", "echo '1.2 $(rm -rf x)'"),
                   ship}}});
  auto done = wait_workflow(o, made["id"]);
  REQUIRE(done["status"] == "Completed");
  auto n = nodes_by_key(o, done);
  // Trailing newlines cut, as $(...) does; the output reaches the process
  // as one argument, never through a shell.
  CHECK(n["ship"]["output"] == "1.2 $(rm -rf x)|9f1c2e|v=1.2 $(rm -rf x);9f1c2e");
  // The stored task shows what ran.
  CHECK(n["ship"]["args"][3] == "1.2 $(rm -rf x)");
  CHECK(n["ship"]["env"]["SHA"] == "9f1c2e");

  // A plain task whose dependency has already completed: filled as it is submitted.
  auto fetch_id = n["fetch"]["id"].get<std::string>();
  auto plain = o.submit({{"command", "echo"},
                         {"args", {"sha={{tasks." + fetch_id + ".output}}"}},
                         {"dependencies", {fetch_id}}});
  CHECK(plain["args"][0] == "sha=9f1c2e");
  CHECK(o.wait_terminal(plain["id"])["output"] == "sha=9f1c2e\n");
  // A reference to no dependency is refused, saying so.
  auto stray = o.http().post("/tasks", json{{"command", "echo"},
                                            {"args", {"{{tasks.build.output}}"}},
                                            {"dependencies", {fetch_id}}}.dump());
  CHECK(stray.status == 400);
  CHECK_THAT(stray.json()["error"].get<std::string>(),
             Catch::Contains("{{tasks.build.output}} names no dependency of this task"));
  auto refused = o.http().post(
    "/workflows", json{{"tasks", {wf_node("a", "true"),
                                  json{{"key", "b"}, {"command", "echo"},
                                       {"args", {"{{tasks.a.output}}"}}}}}}.dump());
  CHECK(refused.status == 400);
  CHECK_THAT(refused.json()["error"].get<std::string>(),
             Catch::Contains("names 'a', which this node does not come after"));
}

TEST_CASE("workflows: a retry runs the failed node and its dependants again and keeps the "
          "completed ones", "[e2e][workflows]") {
  e2e_fixture f;
  auto& o = *f.orch;
  // `flaky` fails until a marker file exists; the retry comes after it is made.
  auto marker = f.dir / "fixed";
  auto made = submit_workflow(
    o, {{"tasks", {wf_node("first", "echo one"),
                   wf_node("flaky", "test -e '" + marker + "' && echo fixed", {"first"}),
                   wf_node("last", "echo last", {"flaky"})}}});
  auto id = made["id"].get<std::string>();
  auto failed = wait_workflow(o, id);
  REQUIRE(failed["status"] == "Failed");
  auto before = nodes_by_key(o, failed);
  CHECK(before["last"]["attempts"] == 0);  // never ran: its dependency failed
  CHECK(o.http().post("/workflows/" + id + "/cancel", "{}").status == 200);  // nothing left open
  { std::ofstream{marker} << "x"; }
  auto retried = o.http().post("/workflows/" + id + "/retry", "{}");
  INFO(retried.body);
  REQUIRE(retried.status == 200);
  auto done = wait_workflow(o, id);
  CHECK(done["status"] == "Completed");
  auto after = nodes_by_key(o, done);
  CHECK(after["first"]["attempts"] == 1);  // kept, not run again
  CHECK(after["first"]["completed_at"] == before["first"]["completed_at"]);
  CHECK(after["flaky"]["output"] == "fixed\n");
  CHECK(after["last"]["output"] == "last\n");
  CHECK(time_of(after["last"]["started_at"]) >= time_of(after["flaky"]["completed_at"]));
  auto again = o.http().post("/workflows/" + id + "/retry", "{}");
  CHECK(again.status == 409);
  CHECK_THAT(again.json().value("error", std::string{}), Catch::Contains("nothing") || Catch::Contains("no Failed"));
}

TEST_CASE("workflows: an orchestrator killed -9 while it stores a large workflow leaves all of "
          "it or none of it",
          "[e2e][workflows][crash]") {
  // 5,000 nodes; 1,000 on a SurrealDB server, where a store takes about
  // 1.2 ms a node (the whole suite runs beside this test).
  const int size = selected_backend() == "surrealdb-server" ? 1000 : 5000;
  json nodes = json::array();
  for (int i = 0; i < size; ++i) {
    json n{{"key", "n" + std::to_string(i)}, {"command", "true"}, {"run_at", "2999-01-01T00:00:00Z"}};
    if (i > 0)
      n["after"] = {"n" + std::to_string(i / 2)};
    nodes.push_back(std::move(n));
  }
  auto body = json{{"name", "atomic"}, {"tasks", nodes}}.dump();
  auto request = "POST /workflows HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  const std::vector<std::string> args{"--max-concurrent-tasks", "0", "--max-body-bytes", "8388608"};
  // How long a whole store takes here: the kills fall inside it.
  double whole = 0;
  {
    e2e_fixture f{args};
    raw_socket s{f.orch->port()};
    auto t0 = std::chrono::steady_clock::now();
    auto answer = s.exchange(request, std::chrono::seconds(120));
    whole = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    INFO(answer.bytes.substr(0, 1000));
    REQUIRE(status_of(answer.bytes) == 201);
  }
  int whole_stored = 0, none_stored = 0;
  for (double at : {0.25, 0.5, 0.75, 0.9}) {
    e2e_fixture f{args};
    raw_socket s{f.orch->port()};
    REQUIRE(s.send_all(request));
    std::this_thread::sleep_for(std::chrono::duration<double>(whole * at));  // a kill point, not a wait
    f.orch->proc().kill9();
    f.start(args);
    // A SurrealDB server goes on with the transaction of a client that
    // died, so its commit may land between two reads: read the workflows
    // on both sides of the tasks until they agree (it lands once).
    auto count = [&](const std::string& path) {
      return f.orch->http().get(path).json()["data"]["total"].get<int>();
    };
    int tasks = 0, workflows = 0;
    for (int before = -1; before != workflows;) {
      before = count("/workflows");
      tasks = count("/tasks?limit=1");
      workflows = count("/workflows");
    }
    INFO("killed at " << at << " of " << whole << " s: " << tasks << " tasks, " << workflows
                      << " workflows");
    CHECK(((tasks == 0 && workflows == 0) || (tasks == size && workflows == 1)));
    (tasks == 0 ? none_stored : whole_stored)++;
  }
  // Both ends were reached, or the kills missed the store: say which.
  INFO("whole: " << whole_stored << ", none: " << none_stored);
  CHECK(whole_stored + none_stored == 4);
}

