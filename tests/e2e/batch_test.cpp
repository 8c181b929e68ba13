// POST /tasks/batch end to end: many tasks in one durable commit, all or
// none, with dependencies inside the batch; on every backend.
#include <catch2/catch.hpp>

#include "runtime/core/ids.hpp"
#include "tests/e2e/e2e_support.hpp"

using namespace orch;
using namespace orch::test;
using nlohmann::json;

namespace {

json batch_of(const json& tasks) {
  return json{{"tasks", tasks}};
}

uint64_t task_total(orchestrator_process& o) {
  return o.http().get("/tasks?limit=1").json()["data"]["total"].get<uint64_t>();
}

} // namespace

TEST_CASE("e2e: a batch is stored at once - runs - dependencies inside it respected", "[e2e]") {
  e2e_fixture f;
  // A diamond: fetch -> (left, right) -> join; and 196 independent tasks.
  std::string fetch = new_uuid_v4(), left = new_uuid_v4(), right = new_uuid_v4(),
              join = new_uuid_v4();
  json tasks = json::array();
  tasks.push_back({{"id", fetch}, {"name", "fetch"}, {"command", "echo"}, {"args", {"f"}}});
  tasks.push_back({{"id", left}, {"command", "true"}, {"dependencies", {fetch}}});
  tasks.push_back({{"id", right}, {"command", "true"}, {"dependencies", {fetch}}});
  tasks.push_back({{"id", join}, {"command", "true"}, {"dependencies", {left, right}}});
  for (int i = 0; i < 196; ++i)
    tasks.push_back({{"command", "true"}, {"labels", {{"batch", "b1"}}}});
  auto r = f.orch->http().post("/tasks/batch", batch_of(tasks).dump());
  REQUIRE(r.status == 201);
  auto data = r.json()["data"];
  REQUIRE(data["count"] == 200);
  REQUIRE(data["tasks"].size() == 200);
  CHECK(data["tasks"][0]["id"] == fetch);
  CHECK(data["tasks"][0]["status"] == "Queued");
  CHECK(data["tasks"][3]["status"] == "Pending");
  std::set<std::string> ids;
  for (auto& t : data["tasks"])
    ids.insert(t["id"].get<std::string>());
  CHECK(ids.size() == 200);  // the server gave the others ids of their own
  for (auto& id : ids)
    CHECK(f.orch->wait_terminal(id)["status"] == "Completed");
  // The join started only after both of its dependencies had completed.
  auto joined = f.orch->task(join);
  for (auto& dep : {left, right})
    CHECK(f.orch->task(dep)["completed_at"].get<std::string>()
          <= joined["started_at"].get<std::string>());
  // Each task has its own submission in the audit log.
  auto audit = f.orch->http().get("/audit?action=task.submit&limit=1").json()["data"];
  CHECK(audit["total"] == 200);
  CHECK(task_total(*f.orch) == 200);
}

TEST_CASE("e2e: a batch with bad items stores nothing and names every bad item", "[e2e]") {
  e2e_fixture f;
  json tasks = json::array({{{"command", "true"}},
                            {{"command", "true"}, {"timeout_s", "soon"}},
                            {{"command", "true"}},
                            {{"args", {"x"}}}});
  auto r = f.orch->http().post("/tasks/batch", batch_of(tasks).dump());
  REQUIRE(r.status == 400);
  auto body = r.json();
  CHECK(body["success"] == false);
  CHECK_THAT(body["error"].get<std::string>(), Catch::Contains("2 of the batch's 4 tasks"));
  REQUIRE(body["errors"].size() == 2);
  CHECK(body["errors"][0]["index"] == 1);
  CHECK_THAT(body["errors"][0]["error"].get<std::string>(), Catch::Contains("timeout_s"));
  CHECK(body["errors"][1]["index"] == 3);
  CHECK(task_total(*f.orch) == 0);
}

TEST_CASE("e2e: a batch that collides with a stored task or names a missing one stores nothing",
          "[e2e]") {
  e2e_fixture f;
  auto existing = f.orch->submit({{"command", "true"}})["id"].get<std::string>();
  std::string fresh = new_uuid_v4();
  SECTION("an id already taken") {
    auto r = f.orch->http().post(
      "/tasks/batch",
      batch_of({{{"id", fresh}, {"command", "true"}}, {{"id", existing}, {"command", "true"}}})
        .dump());
    CHECK(r.status == 409);
    CHECK_THAT(r.json()["error"].get<std::string>(), Catch::Contains("nothing of the batch"));
  }
  SECTION("a dependency that does not exist") {
    auto r = f.orch->http().post(
      "/tasks/batch", batch_of({{{"id", fresh}, {"command", "true"}},
                                {{"command", "true"}, {"dependencies", {new_uuid_v4()}}}})
                        .dump());
    CHECK(r.status == 400);
    CHECK_THAT(r.json()["error"].get<std::string>(), Catch::Contains("tasks[1]: dependency"));
  }
  CHECK(f.orch->http().get("/tasks/" + fresh).status == 404);
  CHECK(task_total(*f.orch) == 1);
}

TEST_CASE("e2e: in a batch - a dependant of a failing task fails with the reason", "[e2e]") {
  e2e_fixture f;
  auto done = f.orch->submit({{"command", "true"}})["id"].get<std::string>();
  REQUIRE(f.orch->wait_terminal(done)["status"] == "Completed");
  std::string bad = new_uuid_v4(), after_bad = new_uuid_v4(), after_done = new_uuid_v4();
  auto r = f.orch->http().post(
    "/tasks/batch",
    batch_of({{{"id", bad}, {"command", "false"}},
              {{"id", after_bad}, {"command", "true"}, {"dependencies", {bad}}},
              {{"id", after_done}, {"command", "true"}, {"dependencies", {done}}}})
      .dump());
  REQUIRE(r.status == 201);
  CHECK(r.json()["data"]["tasks"][2]["status"] == "Queued");  // its dependency is Completed
  CHECK(f.orch->wait_terminal(bad)["status"] == "Failed");
  auto dependant = f.orch->wait_terminal(after_bad);
  CHECK(dependant["status"] == "Failed");
  CHECK_THAT(dependant["error"].get<std::string>(), Catch::Contains(bad));
  CHECK(f.orch->wait_terminal(after_done)["status"] == "Completed");
}
