// What POST /workflows accepts and refuses (runtime/core/workflow_spec), the
// order its tasks are stored in, and how a workflow's status rolls up.
#include <catch2/catch.hpp>

#include <map>

#include <nlohmann/json.hpp>

#include "runtime/core/ids.hpp"
#include "runtime/core/workflow_spec.hpp"

using namespace orch;
using nlohmann::json;

namespace {

std::string workflow_refusal(const json& body) {
  auto p = parse_workflow(body.dump(), 1);
  return p ? std::string{"accepted"} : p.message();
}

json node(const std::string& key, std::vector<std::string> after = {}) {
  json n{{"key", key}, {"command", "true"}};
  if (!after.empty())
    n["after"] = after;
  return n;
}

} // namespace

TEST_CASE("workflow spec: a diamond is stored dependencies first, each task depending on the "
          "tasks of the nodes it comes after", "[workflows]") {
  // Given out of order: the join first.
  json body{{"name", "release"},
            {"tasks", {node("join", {"left", "right"}), node("left", {"fetch"}),
                       node("right", {"fetch"}), node("fetch")}}};
  auto p = parse_workflow(body.dump(), 42);
  INFO(p.message());
  REQUIRE(p.ok());
  REQUIRE(p->tasks.size() == 4);
  std::map<std::string, const task*> by_key;
  std::map<std::string, size_t> position;
  for (size_t i = 0; i < p->tasks.size(); ++i) {
    auto& t = p->tasks[i];
    by_key[t.labels.at("workflow_key")] = &t;
    position[t.id] = i;
    CHECK(t.labels.at("workflow") == p->wf.id);
    CHECK(is_uuid(t.id));
  }
  CHECK(by_key["fetch"]->dependencies.empty());
  CHECK(by_key["left"]->dependencies == std::vector<std::string>{by_key["fetch"]->id});
  CHECK(by_key["join"]->dependencies.size() == 2);
  CHECK(by_key["join"]->name == "release/join");
  // Every dependency is stored before its dependant (the batch's rule).
  for (auto& t : p->tasks)
    for (auto& d : t.dependencies)
      CHECK(position[d] < position[t.id]);
  CHECK(p->wf.created_at == 42);
  CHECK(p->wf.on_failure == "cancel-dependants");
  auto ids = workflow_task_ids(p->wf);
  CHECK(ids.size() == 4);
  auto nodes = json::parse(p->wf.nodes);
  CHECK(nodes[0]["key"] == "fetch");
  CHECK(nodes[3]["key"] == "join");
  CHECK(nodes[3]["after"] == json::array({"left", "right"}));
}

TEST_CASE("workflow spec: a cycle is refused naming its keys in order, and every other mistake "
          "names the node", "[workflows]") {
  json cycle{{"tasks", {node("fetch"), node("build", {"fetch", "test"}), node("test", {"package"}),
                        node("package", {"build"})}}};
  auto why = workflow_refusal(cycle);
  CHECK_THAT(why, Catch::StartsWith("the tasks form a cycle: "));
  // The three keys of the cycle, closed, in an order that follows it.
  bool named = why.find("build -> package -> test -> build") != std::string::npos
               || why.find("package -> test -> build -> package") != std::string::npos
               || why.find("test -> build -> package -> test") != std::string::npos;
  CHECK(named);
  CHECK(why.find("fetch") == std::string::npos);

  CHECK_THAT(workflow_refusal({{"tasks", {node("a", {"a"})}}}), Catch::Contains("comes after itself"));
  CHECK_THAT(workflow_refusal({{"tasks", {node("a"), node("a")}}}),
             Catch::Contains("tasks[1] (a): key 'a' is used by tasks[0] too"));
  CHECK_THAT(workflow_refusal({{"tasks", {node("a", {"b"})}}}),
             Catch::Contains("tasks[0] (a): after names 'b', which is no key of this workflow"));
  CHECK_THAT(workflow_refusal({{"tasks", {json{{"command", "true"}}}}}),
             Catch::Contains("tasks[0]: \"key\" is missing"));
  CHECK_THAT(workflow_refusal({{"tasks", {node("a b")}}}), Catch::Contains("must be 1-64 of"));
  CHECK_THAT(workflow_refusal({{"tasks", {json{{"key", "a"}, {"command", "true"}, {"id", "x"}}}}}),
             Catch::Contains("leave out 'id'"));
  CHECK_THAT(workflow_refusal({{"tasks", {json{{"key", "a"}, {"command", "true"}, {"dependencies", json::array()}}}}}),
             Catch::Contains("use \"after\""));
  CHECK_THAT(workflow_refusal({{"tasks", {json{{"key", "a"}, {"command", 5}}}}}),
             Catch::StartsWith("tasks[0] (a): field 'command' must be a string"));
  CHECK_THAT(workflow_refusal({{"tasks", json::array()}}), Catch::Contains("non-empty list"));
  CHECK_THAT(workflow_refusal({{"tasks", {node("a")}}, {"on_failure", "explode"}}),
             Catch::Contains("must be cancel-dependants (a node whose dependency failed"));
  CHECK_THAT(workflow_refusal({{"tasks", {json{{"key", "a"}, {"command", "true"},
                                               {"on_dependency_failure", "maybe"}}}}}),
             Catch::Contains("field 'on_dependency_failure' must be \"fail\""));
  CHECK_THAT(workflow_refusal({{"tasks", {node("fetch"), node("build"),
                                          json{{"key", "ship"}, {"command", "true"},
                                               {"after", {"build"}},
                                               {"args", {"{{tasks.fetch.output}}"}}}}}}),
             Catch::Contains("tasks[2] (ship): {{tasks.fetch.output}} names 'fetch', which this "
                             "node does not come after"));
  CHECK_THAT(workflow_refusal({{"tasks", {node("fetch"),
                                          json{{"key", "ship"}, {"after", {"fetch"}},
                                               {"command", "{{tasks.fetch.output}}"}}}}}),
             Catch::Contains("goes only in args and env values, not in command"));
  CHECK(workflow_refusal({{"tasks", {node("fetch"),
                                     json{{"key", "ship"}, {"command", "true"}, {"after", {"fetch"}},
                                          {"env", {{"SHA", "{{tasks.fetch.output}}"}}}}}}})
        == "accepted");
  CHECK_THAT(workflow_refusal({{"tasks", {node("a")}}, {"extra", 1}}),
             Catch::Contains("unknown field 'extra'"));
  CHECK_THAT(workflow_refusal(json::array()), Catch::StartsWith("send {"));
  CHECK(parse_workflow("{nope", 1).message() == "the body is not valid JSON");
  json many{{"tasks", json::array()}};
  for (size_t i = 0; i <= max_workflow_nodes; ++i)
    many["tasks"].push_back(node("n" + std::to_string(i)));
  CHECK_THAT(workflow_refusal(many), Catch::Contains("at most 10000 tasks"));
}

TEST_CASE("workflow spec: on_failure continue makes each node run after a failed dependency, "
          "unless the node says otherwise, and cancel-dependants makes it fail",
          "[workflows]") {
  json nodes{node("fetch"), node("build", {"fetch"}),
             json{{"key", "notify"}, {"command", "true"}, {"after", {"build"}},
                  {"on_dependency_failure", "fail"}}};
  auto cont = parse_workflow(json{{"tasks", nodes}, {"on_failure", "continue"}}.dump(), 1);
  REQUIRE(cont.ok());
  CHECK(cont->wf.on_failure == "continue");
  std::map<std::string, std::string> rule;
  for (auto& t : cont->tasks)
    rule[t.labels.at("workflow_key")] = t.on_dependency_failure;
  CHECK(rule == std::map<std::string, std::string>{{"fetch", "run"}, {"build", "run"},
                                                   {"notify", "fail"}});
  auto stop = parse_workflow(json{{"tasks", nodes}}.dump(), 1);
  REQUIRE(stop.ok());
  CHECK(stop->wf.on_failure == "cancel-dependants");
  for (auto& t : stop->tasks)
    CHECK(t.on_dependency_failure == "fail");
}

TEST_CASE("workflow spec: the status rolls up from the tasks'", "[workflows]") {
  using s = task_status;
  CHECK(rolled_up_status({s::queued, s::pending}) == "Queued");
  CHECK(rolled_up_status({s::completed, s::pending}) == "Running");
  CHECK(rolled_up_status({s::running, s::pending}) == "Running");
  CHECK(rolled_up_status({s::completed, s::completed}) == "Completed");
  CHECK(rolled_up_status({s::completed, s::failed, s::cancelled}) == "Failed");
  CHECK(rolled_up_status({s::completed, s::cancelled}) == "Cancelled");
  CHECK(rolled_up_status({s::failed, s::running}) == "Running");
}

TEST_CASE("workflow spec: the view shows each node's task and status, and a task not found "
          "makes the workflow Damaged", "[workflows]") {
  auto p = parse_workflow(json{{"tasks", {node("a"), node("b", {"a"})}}}.dump(), 1);
  REQUIRE(p.ok());
  std::map<std::string, task> tasks;
  for (auto t : p->tasks) {
    t.status = t.dependencies.empty() ? task_status::completed : task_status::running;
    tasks.emplace(t.id, t);
  }
  auto v = json::parse(workflow_view(p->wf, tasks));
  CHECK(v["status"] == "Running");
  CHECK(v["counts"] == json{{"Completed", 1}, {"Running", 1}});
  CHECK(v["tasks"][1]["key"] == "b");
  CHECK(v["tasks"][1]["after"] == json::array({"a"}));
  CHECK(v["tasks"][1]["status"] == "Running");
  CHECK_FALSE(v.contains("nodes"));
  tasks.erase(p->tasks[0].id);
  CHECK(json::parse(workflow_view(p->wf, tasks))["status"] == "Damaged");
}
