// Child tasks end to end, on every backend: a running task submits children
// through ORCHESTRATOR_URL with its ORCHESTRATOR_TASK_ID as their parent;
// they are listed under it; cancelling it, or its failing, cancels them; a
// Completed parent leaves them; what a child cannot be is refused.
#include <catch2/catch.hpp>

#include <filesystem>

#include "runtime/core/ids.hpp"
#include "tests/e2e/e2e_support.hpp"

using namespace orch;
using namespace orch::test;
using nlohmann::json;

namespace {

/// A shell script that submits `n` children (`child` is the JSON of one,
/// without parent) through the API from inside its task, then touches
/// `ready` and runs `then`.
json fan_out_task(int n, const std::string& child, const std::string& ready,
                  const std::string& then) {
  auto script =
    "i=0; while [ $i -lt " + std::to_string(n) + " ]; do i=$((i+1)); "
    "curl -sf -X POST \"$ORCHESTRATOR_URL/tasks\" -H 'Content-Type: application/json' "
    "-d \"$CHILD\" -o /dev/null || exit 9; done; touch '" + ready + "'; " + then;
  auto with_parent = json::parse(child);
  with_parent["parent"] = "PARENT";
  auto body = with_parent.dump();
  body.replace(body.find("PARENT"), 6, "'\"$ORCHESTRATOR_TASK_ID\"'");
  return {{"command", "sh"},
          {"args", {"-c", "CHILD='" + body + "'; " + script}},
          {"max_retries", 0}};
}

std::vector<json> children_of(orchestrator_process& o, const std::string& id) {
  auto r = o.http().get("/tasks?limit=100&parent=" + id);
  INFO(r.body);
  REQUIRE(r.status == 200);
  std::vector<json> out;
  auto body = r.json();
  for (auto& t : body["data"]["tasks"])
    out.push_back(t);
  return out;
}

} // namespace

TEST_CASE("children: a running task submits children through ORCHESTRATOR_URL, they are listed "
          "under it, and cancelling it cancels them",
          "[e2e][children]") {
  e2e_fixture f{{"--max-concurrent-tasks", "4"}};
  auto& o = *f.orch;
  auto ready = f.dir / "ready";
  auto parent = o.submit(fan_out_task(2, R"({"command":"sleep","args":["60"]})", ready, "sleep 60"));
  REQUIRE(wait_until([&] { return std::filesystem::exists(ready); }));
  auto id = parent["id"].get<std::string>();
  auto children = children_of(o, id);
  REQUIRE(children.size() == 2);
  for (auto& c : children) {
    CHECK(c["parent"] == id);
    CHECK(c["labels"]["parent"] == id);
  }
  REQUIRE(o.http().post("/tasks/" + id + "/cancel", "{}").status == 200);
  for (auto& c : children) {
    auto ended = o.wait_terminal(c["id"], std::chrono::seconds(30));
    CHECK(ended["status"] == "Cancelled");
  }
}

TEST_CASE("children: a parent that fails cancels its children, a Completed parent leaves them "
          "to run",
          "[e2e][children]") {
  e2e_fixture f{{"--max-concurrent-tasks", "4"}};
  auto& o = *f.orch;
  auto failing_ready = f.dir / "failing", completing_ready = f.dir / "completing";
  auto failing = o.submit(
    fan_out_task(1, R"({"command":"sleep","args":["60"]})", failing_ready, "exit 3"));
  auto completing = o.submit(fan_out_task(
    1, R"({"command":"sh","args":["-c","sleep 0.3; echo done"]})", completing_ready, "exit 0"));
  CHECK(o.wait_terminal(failing["id"])["status"] == "Failed");
  CHECK(o.wait_terminal(completing["id"])["status"] == "Completed");
  auto of_failed = children_of(o, failing["id"]);
  REQUIRE(of_failed.size() == 1);
  CHECK(o.wait_terminal(of_failed[0]["id"], std::chrono::seconds(30))["status"] == "Cancelled");
  auto of_completed = children_of(o, completing["id"]);
  REQUIRE(of_completed.size() == 1);
  auto child = o.wait_terminal(of_completed[0]["id"], std::chrono::seconds(30));
  CHECK(child["status"] == "Completed");
  CHECK(child["output"] == "done\n");
}

TEST_CASE("children: an unknown or ended parent, a parent label and a malformed parent are "
          "refused, saying why",
          "[e2e][children]") {
  e2e_fixture f;
  auto& o = *f.orch;
  auto error_of = [&](const json& body, int expect) {
    auto r = o.http().post("/tasks", body.dump());
    INFO(r.body);
    CHECK(r.status == expect);
    return r.json()["error"].get<std::string>();
  };
  auto unknown = new_uuid_v4();
  CHECK(error_of({{"command", "true"}, {"parent", unknown}}, 400)
        == "parent " + unknown + " does not exist");
  auto done = o.submit({{"command", "true"}});
  o.wait_terminal(done["id"]);
  CHECK_THAT(error_of({{"command", "true"}, {"parent", done["id"]}}, 409),
             Catch::Contains("has ended (Completed)"));
  CHECK_THAT(error_of({{"command", "true"}, {"labels", {{"parent", done["id"]}}}}, 400),
             Catch::Contains("label 'parent' is set by the orchestrator"));
  CHECK_THAT(error_of({{"command", "true"}, {"parent", "../x"}}, 400),
             Catch::Contains("field 'parent' must be a task id"));
  CHECK(o.http().get("/tasks?parent=nope").status == 400);
  CHECK(o.http().get("/tasks?limit=1").json()["data"]["total"] == 1);
}
