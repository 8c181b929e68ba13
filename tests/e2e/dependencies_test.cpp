// Dependencies at scale, on every backend, with no periodic look at Pending
// tasks to fall back on: a task after many others (fan-in) is released once
// and failed at once; a task with more dependants than one page of the
// dependency index releases them all; a release lost to a process killed
// between a task's end and its dependants' lookup is made when the next
// orchestrator starts.
#include <catch2/catch.hpp>

#include "backends/storage_client.hpp"
#include "runtime/core/clock.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/messages/actor_env.hpp"
#include "tests/e2e/e2e_support.hpp"
#include "tests/e2e/workflow_support.hpp"
#include "tests/support/open.hpp"

using namespace orch;
using namespace orch::test;
using nlohmann::json;

namespace {

std::map<std::string, std::string> ids_by_key(const json& wf) {
  std::map<std::string, std::string> out;
  for (auto& n : wf["tasks"])
    out[n["key"].get<std::string>()] = n["id"].get<std::string>();
  return out;
}

/// How many tasks depend on `id` and have `status`.
uint64_t dependants_with(orchestrator_process& o, const std::string& id, const std::string& status) {
  auto r = o.http().get("/tasks?depends_on=" + id + "&q=status:" + status + "&limit=1");
  INFO(r.body);
  REQUIRE(r.status == 200);
  return r.json()["data"]["total"].get<uint64_t>();
}

} // namespace

TEST_CASE("e2e: a task after 150 others runs once they all completed", "[e2e][deps]") {
  e2e_fixture f{{"--max-concurrent-tasks", "4"}};
  json nodes = json::array();
  std::vector<std::string> all;
  for (int i = 0; i < 150; ++i) {
    nodes.push_back({{"key", "p" + std::to_string(i)}, {"command", "true"}});
    all.push_back("p" + std::to_string(i));
  }
  nodes.push_back({{"key", "join"}, {"command", "true"}, {"after", all}});
  auto wf = submit_workflow(*f.orch, {{"name", "fan-in"}, {"tasks", nodes}});
  auto ids = ids_by_key(wf);
  auto join = f.orch->wait_terminal(ids["join"], std::chrono::seconds(120));
  CHECK(join["status"] == "Completed");
  micros last_end = 0;
  for (auto& key : all) {
    auto t = f.orch->task(ids[key]);
    CHECK(t["status"] == "Completed");
    last_end = std::max(last_end, time_of(t["completed_at"]));
  }
  CHECK(time_of(join["started_at"]) >= last_end);
}

TEST_CASE("e2e: a task after 150 others fails as soon as one of them fails, while the rest "
          "still run",
          "[e2e][deps]") {
  e2e_fixture f{{"--max-concurrent-tasks", "4"}};
  auto gate = f.dir / "gate";
  json nodes = json::array();
  std::vector<std::string> all;
  // The one that fails goes first (priority); the others wait for the gate.
  nodes.push_back({{"key", "bad"}, {"command", "false"}, {"priority", 10}});
  all.push_back("bad");
  for (int i = 0; i < 149; ++i) {
    nodes.push_back({{"key", "p" + std::to_string(i)},
                     {"command", "sh"},
                     {"args", {"-c", "while [ ! -e '" + gate + "' ]; do sleep 0.02; done"}}});
    all.push_back("p" + std::to_string(i));
  }
  nodes.push_back({{"key", "join"}, {"command", "true"}, {"after", all}});
  auto wf = submit_workflow(*f.orch, {{"name", "fan-in-fails"}, {"tasks", nodes}});
  auto ids = ids_by_key(wf);
  auto join = f.orch->wait_terminal(ids["join"], std::chrono::seconds(30));
  CHECK(join["status"] == "Failed");
  CHECK(join["error"] == "dependency " + ids["bad"] + " is Failed");
  // Decided before the others ended: they are all still waiting for the gate.
  CHECK(f.orch->task(ids["p148"])["status"] != "Completed");
  write_text(gate, "");
}

TEST_CASE("e2e: a task with 1,100 dependants releases every one of them (more than one page "
          "of the dependency index)",
          "[e2e][deps]") {
  e2e_fixture f{{"--max-concurrent-tasks", "1"}};
  auto gate = f.dir / "gate";
  auto root = f.orch->submit({{"command", "sh"},
                              {"args", {"-c", "while [ ! -e '" + gate + "' ]; do sleep 0.02; done"}}})
                ["id"]
                  .get<std::string>();
  // Released dependants wait for their run_at, an hour away: Queued, counted.
  // Stored in batches of 220: one transaction of 1,100 is slow on a
  // SurrealDB server (its cost grows faster than its size).
  auto later = format_rfc3339(now_us() + 3600 * us_per_second);
  for (int b = 0; b < 5; ++b) {
    json batch = json::array();
    for (int i = 0; i < 220; ++i)
      batch.push_back({{"command", "true"}, {"run_at", later}, {"dependencies", {root}}});
    auto r = f.orch->http().post("/tasks/batch", json{{"tasks", batch}}.dump());
    INFO(r.body.substr(0, 300));
    REQUIRE(r.status == 201);
  }
  CHECK(dependants_with(*f.orch, root, "Pending") == 1100);
  write_text(gate, "");
  CHECK(f.orch->wait_terminal(root)["status"] == "Completed");
  uint64_t queued = 0;
  CHECK(wait_until([&] { return (queued = dependants_with(*f.orch, root, "Queued")) == 1100; },
                   std::chrono::seconds(60)));
  INFO("Queued: " << queued);
  CHECK(dependants_with(*f.orch, root, "Pending") == 0);
}

TEST_CASE("e2e: a dependant left Pending by a process killed between its dependency's end and "
          "the release is released when the next orchestrator starts",
          "[e2e][deps][crash]") {
  e2e_fixture f;
  REQUIRE(f.orch->proc().terminate() == 0);
  // The state such a kill leaves: the dependency stored Completed, its
  // dependant still Pending, no event or message left to release it.
  auto now = now_us();
  task done;
  done.id = new_uuid_v4();
  done.command = "true";
  done.status = task_status::completed;
  done.created_at = now - 2000;
  done.started_at = now - 1500;
  done.completed_at = now - 1000;
  done.attempts = 1;
  done.has_exit_code = true;
  task waiting;
  waiting.id = new_uuid_v4();
  waiting.command = "true";
  waiting.status = task_status::pending;
  waiting.created_at = now - 1900;
  waiting.dependencies = {done.id};
  {
    actor_env env;
    storage_client c{env.sys(), open_or_throw(env.sys(), f.storage)};
    REQUIRE(c.put({to_record(done), to_record(waiting)}).ok());
    REQUIRE(c.close().ok());
  }
  f.start();
  auto released = f.orch->wait_terminal(waiting.id, std::chrono::seconds(30));
  CHECK(released["status"] == "Completed");
}
