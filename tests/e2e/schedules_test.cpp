// Recurring schedules end to end, on every backend: each firing creates its
// task once (also with two orchestrators on one store, and across a
// restart), overlap and catch-up policies, pause/resume/delete, the next
// firings shown, and bad input refused with what is wrong.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "runtime/core/clock.hpp"
#include "tests/e2e/e2e_support.hpp"
#include "tests/e2e/workflow_support.hpp"

using namespace orch;
using namespace orch::test;
using nlohmann::json;

namespace {

json schedule_body(const std::string& name, const std::string& cron, json task,
                   json more = json::object()) {
  json b{{"name", name}, {"cron", cron}, {"task", std::move(task)}};
  for (auto& [k, v] : more.items())
    b[k] = v;
  return b;
}

json create_schedule(orchestrator_process& o, const json& body) {
  auto r = o.http().post("/schedules", body.dump());
  INFO(r.body);
  REQUIRE(r.status == 201);
  return r.json()["data"];
}

json schedule_named(orchestrator_process& o, const std::string& name) {
  auto r = o.http().get("/schedules/" + name);
  INFO(r.body);
  REQUIRE(r.status == 200);
  return r.json()["data"];
}

uint64_t firings_of(orchestrator_process& o, const std::string& name) {
  return schedule_named(o, name)["firings"].get<uint64_t>();
}

/// The tasks a schedule created, oldest first.
std::vector<json> tasks_of_schedule(orchestrator_process& o, const std::string& name) {
  auto r = o.http().get("/tasks?limit=500&q=label:schedule=" + name);
  REQUIRE(r.status == 200);
  std::vector<json> out;
  auto body = r.json();  // kept: the loop walks into it
  for (auto& t : body["data"]["tasks"])
    out.push_back(t);
  std::sort(out.begin(), out.end(),
            [](const json& a, const json& b) { return a["created_at"] < b["created_at"]; });
  return out;
}

/// The audit records of a schedule with this action.
std::vector<json> schedule_audit(orchestrator_process& o, const std::string& name,
                                 const std::string& action) {
  auto r = o.http().get("/audit?limit=500&target=schedule:" + name);
  REQUIRE(r.status == 200);
  std::vector<json> out;
  auto body = r.json();
  for (auto& a : body["data"]["records"])
    if (a["action"] == action)
      out.push_back(a);
  return out;
}

/// The firing a schedule's task is for: its id begins with the firing
/// time's milliseconds (runtime/core/ids.hpp, derived_uuid).
micros firing_of(const json& task) {
  auto id = task["id"].get<std::string>();
  return static_cast<micros>(std::stoull(id.substr(0, 8) + id.substr(9, 4), nullptr, 16)) * 1000;
}

json shell(const std::string& script) {
  return json{{"command", "sh"}, {"args", {"-c", script}}};
}

} // namespace

TEST_CASE("schedules: each firing creates its task once, labelled, at its time, then pause, resume "
          "and delete", "[e2e][schedules]") {
  e2e_fixture f;
  auto& o = *f.orch;
  auto created = create_schedule(
    o, schedule_body("every-second", "* * * * * *", shell("echo tick"), {{"overlap", "allow"}}));
  CHECK(created["name"] == "every-second");
  CHECK(created["timezone"] == "UTC");
  CHECK(created["catch_up"] == "once");
  CHECK(created["task"]["args"][1] == "echo tick");  // JSON, not a string of JSON
  REQUIRE(created["next_firings"].size() == 5);
  // One second apart, the first the stored next_firing.
  CHECK(created["next_firings"][0] == created["next_firing"]);
  CHECK(time_of(created["next_firings"][1]) - time_of(created["next_firings"][0]) == us_per_second);

  REQUIRE(wait_until([&] { return firings_of(o, "every-second") >= 3; }, std::chrono::seconds(20)));
  auto paused = json::parse(o.http().request("PATCH", "/schedules/every-second",
                                             R"({"paused": true})").body)["data"];
  CHECK(paused["paused"] == true);
  CHECK(paused["next_firings"].empty());
  auto firings = paused["firings"].get<uint64_t>();
  INFO("paused after " << firings << " firings");
  // Exactly one task per firing, each for its own second, each run.
  REQUIRE(wait_until([&] { return tasks_of_schedule(o, "every-second").size() >= firings; }));
  auto tasks = tasks_of_schedule(o, "every-second");
  CHECK(tasks.size() == firings);
  std::set<std::string> ids;
  for (auto& t : tasks) {
    ids.insert(t["id"].get<std::string>());
    CHECK(t["labels"]["schedule"] == "every-second");
    CHECK(t["name"] == "every-second");
    CHECK(t["owner"] == "schedule:every-second");
    // For a whole second, and created then, not long after.
    auto firing = firing_of(t);
    CHECK(firing % us_per_second == 0);
    CHECK(time_of(t["created_at"]) - firing < 900'000);
    CHECK(o.wait_terminal(t["id"])["output"] == "tick\n");
  }
  CHECK(ids.size() == tasks.size());
  CHECK(schedule_named(o, "every-second")["last_task"] == tasks.back()["id"]);
  CHECK(schedule_audit(o, "every-second", "schedule.fire").size() == firings);

  // Paused: no firing for a while (three firing times pass).
  auto resumed_at = now_us() + 3 * us_per_second;
  REQUIRE_FALSE(wait_until([&] { return firings_of(o, "every-second") != firings; },
                           std::chrono::seconds(3)));
  auto resumed = json::parse(o.http().request("PATCH", "/schedules/every-second",
                                              R"({"paused": false})").body)["data"];
  // No catch-up of the paused time: the next firing is after the resume.
  CHECK(time_of(resumed["next_firing"]) >= resumed_at);
  REQUIRE(wait_until([&] { return firings_of(o, "every-second") > firings; }));
  auto audit = schedule_audit(o, "every-second", "schedule.update");
  REQUIRE(audit.size() == 2);

  auto gone = o.http().request("DELETE", "/schedules/every-second", "");
  CHECK(gone.status == 200);
  CHECK(o.http().get("/schedules/every-second").status == 404);
  auto kept = tasks_of_schedule(o, "every-second").size();
  REQUIRE_FALSE(wait_until([&] { return tasks_of_schedule(o, "every-second").size() > kept; },
                           std::chrono::seconds(2)));
  CHECK(schedule_audit(o, "every-second", "schedule.delete").size() == 1);
}

TEST_CASE("schedules: bad input is refused saying what is wrong, and nothing is stored",
          "[e2e][schedules]") {
  e2e_fixture f;
  auto& o = *f.orch;
  auto refusal = [&](const std::string& method, const std::string& path, const json& body) {
    auto r = o.http().request(method, path, body.is_null() ? "" : body.dump());
    return std::to_string(r.status) + " " + r.json().value("error", std::string{});
  };
  auto ok_task = shell("true");
  CHECK_THAT(refusal("POST", "/schedules", schedule_body("a", "61 * * * *", ok_task)),
             Catch::StartsWith("400 cron minute field '61'"));
  CHECK_THAT(refusal("POST", "/schedules",
                     schedule_body("a", "* * * * *", ok_task, {{"timezone", "Mars/Olympus"}})),
             Catch::StartsWith("400 time zone 'Mars/Olympus'"));
  CHECK_THAT(refusal("POST", "/schedules",
                     schedule_body("a", "* * * * *", json{{"command", "true"}, {"id", "x"}})),
             Catch::Contains("leave out 'id'"));
  CHECK_THAT(refusal("POST", "/schedules",
                     schedule_body("a", "* * * * *", json{{"command", "true"}, {"status", "Failed"}})),
             Catch::StartsWith("400 task: ") && Catch::Contains("status"));
  CHECK_THAT(refusal("POST", "/schedules",
                     schedule_body("a", "* * * * *", ok_task, {{"overlap", "sometimes"}})),
             Catch::Contains("'overlap' must be skip | queue | allow"));
  CHECK_THAT(refusal("POST", "/schedules", schedule_body("a", "* * * * *", ok_task, {{"every", 5}})),
             Catch::Contains("unknown field 'every'"));
  CHECK_THAT(refusal("POST", "/schedules", json{{"cron", "* * * * *"}, {"task", ok_task}}),
             Catch::Contains("'name' is missing"));
  CHECK_THAT(refusal("POST", "/schedules", schedule_body("../x", "* * * * *", ok_task)),
             Catch::Contains("field 'name' must be"));
  CHECK_THAT(refusal("POST", "/schedules", schedule_body("a", "0 0 30 2 *", ok_task)),
             Catch::Contains("never fires"));
  CHECK_THAT(refusal("POST", "/schedules", json{}), Catch::StartsWith("400"));
  CHECK(o.http().post("/schedules", "{not json").status == 400);
  CHECK(o.http().get("/schedules").json()["data"]["total"] == 0);

  create_schedule(o, schedule_body("nightly", "0 2 * * *", ok_task,
                                   {{"timezone", "Europe/Berlin"}}));
  CHECK_THAT(refusal("POST", "/schedules", schedule_body("nightly", "0 3 * * *", ok_task)),
             Catch::StartsWith("409 a schedule 'nightly' exists already"));
  CHECK_THAT(refusal("PATCH", "/schedules/nightly", json{{"name", "other"}}),
             Catch::Contains("name cannot change"));
  CHECK_THAT(refusal("PATCH", "/schedules/nightly", json{{"cron", "nope"}}),
             Catch::StartsWith("400 a cron expression has 5 fields"));
  CHECK_THAT(refusal("PATCH", "/schedules/nobody", json{{"paused", true}}),
             Catch::StartsWith("404 schedule 'nobody' does not exist"));
  CHECK_THAT(refusal("GET", "/schedules/bad$name", nullptr),
             Catch::StartsWith("400 invalid schedule name"));
  // The refused change left it as it was: 02:00 in Berlin is 01:00Z in winter.
  auto s = schedule_named(o, "nightly");
  CHECK(s["cron"] == "0 2 * * *");
  CHECK(s["revision"] == 0);
  CHECK(s["next_firing"].get<std::string>().substr(11, 8) == "01:00:00");
  CHECK(o.http().get("/schedules").json()["data"]["total"] == 1);
  // Refusals of changes are audited as such.
  CHECK(wait_until([&] {
    for (auto& a : schedule_audit(o, "nightly", "schedule.update"))
      if (a["outcome"] == "invalid")
        return true;
    return false;
  }));
}

TEST_CASE("schedules: overlap skip passes firings over while the last task runs, queue holds "
          "one until it ends, and runs never overlap", "[e2e][schedules]") {
  e2e_fixture f;
  auto& o = *f.orch;
  for (auto policy : {"skip", "queue"}) {
    DYNAMIC_SECTION("overlap " << policy) {
      std::string name = std::string{"slow-"} + policy;
      create_schedule(o, schedule_body(name, "* * * * * *", shell("sleep 2.2"),
                                       {{"overlap", policy}}));
      REQUIRE(wait_until([&] { return firings_of(o, name) >= 3; }, std::chrono::seconds(30)));
      REQUIRE(o.http().request("PATCH", "/schedules/" + name, R"({"paused": true})").status == 200);
      auto s = schedule_named(o, name);
      CHECK(s["skipped"].get<uint64_t>() >= 2);  // about two firings per run of 2.2 s
      auto tasks = tasks_of_schedule(o, name);
      REQUIRE(tasks.size() == s["firings"].get<uint64_t>());
      std::vector<json> done;
      for (auto& t : tasks)
        done.push_back(o.wait_terminal(t["id"]));
      for (size_t i = 1; i < done.size(); ++i) {
        INFO("task " << i);
        // Each created only once the one before had ended.
        CHECK(time_of(done[i]["created_at"]) >= time_of(done[i - 1]["completed_at"]));
        if (std::string{policy} == "queue")
          // Held, not dropped: made as soon as the previous one ended.
          CHECK(time_of(done[i]["created_at"]) - time_of(done[i - 1]["completed_at"])
                < 900'000);
      }
      auto kind = std::string{policy} == "skip" ? "schedule.skip" : "schedule.fire";
      CHECK_FALSE(schedule_audit(o, name, kind).empty());
    }
  }
}

TEST_CASE("schedules: after a restart the missed firings run once (catch_up once) or are "
          "passed over (catch_up skip)", "[e2e][schedules]") {
  e2e_fixture f{{"--schedule-misfire-grace-s", "1"}};
  // Three firings a minute, at seconds chosen from now: the first while it
  // runs, the other two while it is down.
  auto t0 = now_us() / us_per_second * us_per_second;
  auto second_of = [&](int later) { return std::to_string((t0 / us_per_second + later) % 60); };
  auto cron = second_of(3) + "," + second_of(7) + "," + second_of(8) + " * * * * *";
  for (auto [name, policy] : {std::pair{"once", "once"}, std::pair{"skipping", "skip"}})
    create_schedule(*f.orch, schedule_body(name, cron, shell("true"),
                                           {{"overlap", "allow"}, {"catch_up", policy}}));
  REQUIRE(wait_until([&] {
    return firings_of(*f.orch, "once") == 1 && firings_of(*f.orch, "skipping") == 1;
  }));
  REQUIRE(f.orch->proc().terminate(std::chrono::seconds(60)) == 0);
  auto stopped = now_us();
  if (stopped >= t0 + 7 * us_per_second)
    FAIL("stopping took too long: the firing at +7 s was not missed");
  // Down until both later firings are more than the grace (1 s) past: the
  // test waits for the clock, not for a condition.
  std::this_thread::sleep_until(std::chrono::system_clock::time_point{
    std::chrono::microseconds{t0 + 10 * us_per_second}});
  f.start({"--schedule-misfire-grace-s", "1"});
  REQUIRE(wait_until([&] {
    return firings_of(*f.orch, "once") == 2 && schedule_named(*f.orch, "skipping")["skipped"] == 2;
  }));
  // once: one task, for the latest missed firing, the other folded into it.
  auto once = schedule_named(*f.orch, "once");
  CHECK(once["skipped"] == 1);
  auto once_tasks = tasks_of_schedule(*f.orch, "once");
  REQUIRE(once_tasks.size() == 2);
  CHECK(firing_of(once_tasks[0]) == t0 + 3 * us_per_second);
  CHECK(firing_of(once_tasks[1]) == t0 + 8 * us_per_second);
  CHECK(time_of(once_tasks[1]["created_at"]) > stopped);
  auto fired = schedule_audit(*f.orch, "once", "schedule.fire");
  REQUIRE(fired.size() == 2);
  bool folded = false;
  for (auto& a : fired)
    folded = folded || a["details"].get<std::string>().find("1 earlier due firing(s) folded")
                         != std::string::npos;
  CHECK(folded);
  // skip: none, said in the audit; the next firing is the one a minute on.
  auto skipping = schedule_named(*f.orch, "skipping");
  CHECK(skipping["firings"] == 1);
  CHECK(tasks_of_schedule(*f.orch, "skipping").size() == 1);
  CHECK(time_of(skipping["next_firing"]) == t0 + 63 * us_per_second);
  auto skips = schedule_audit(*f.orch, "skipping", "schedule.skip");
  REQUIRE(skips.size() == 1);
  CHECK_THAT(skips[0]["details"].get<std::string>(),
             Catch::Contains("2 firings missed while no orchestrator ran"));
}

TEST_CASE("schedules: two orchestrators on one store create each firing once",
          "[e2e][schedules][shared-storage]") {
  // Registered on the server backend only: the one shared between instances.
  e2e_fixture f;
  orchestrator_process second{instance_args({"--log-level", "warn"}, f.storage), f.dir / "second"};
  create_schedule(*f.orch, schedule_body("shared", "* * * * * *", shell("true"),
                                         {{"overlap", "allow"}}));
  // The second learns of it by reading the schedules again (every 5 s on a
  // shared store): both then race for every firing.
  REQUIRE(wait_until([&] { return firings_of(second, "shared") >= 9; }, std::chrono::seconds(40)));
  REQUIRE(second.http().request("PATCH", "/schedules/shared", R"({"paused": true})").status == 200);
  auto s = schedule_named(*f.orch, "shared");
  auto tasks = tasks_of_schedule(*f.orch, "shared");
  CHECK(tasks.size() == s["firings"].get<uint64_t>());
  std::set<micros> seconds;
  for (auto& t : tasks)
    seconds.insert(firing_of(t));
  CHECK(seconds.size() == tasks.size());  // one task per firing second
  CHECK(schedule_audit(*f.orch, "shared", "schedule.fire").size() == tasks.size());
  // Both tried: for some firings one of them lost the race to the other.
  auto counted = [](orchestrator_process& o, const std::string& outcome) {
    auto text = o.http().get("/metrics").body;
    auto line = "orchestrator_schedule_firings_total{outcome=\"" + outcome + "\"} ";
    auto at = text.find(line);
    return at == std::string::npos ? 0.0 : std::stod(text.substr(at + line.size()));
  };
  CHECK(counted(*f.orch, "made") + counted(second, "made") == static_cast<double>(tasks.size()));
  CHECK(counted(*f.orch, "lost") + counted(second, "lost") > 0);
}

TEST_CASE("schedules: a workflow schedule makes one workflow per firing, its tasks labelled, "
          "never two at once with overlap queue, held until the last of its tasks ends",
          "[e2e][schedules][workflows]") {
  e2e_fixture f;
  auto& o = *f.orch;
  // Two nodes, the second after the first, 1.2 s in all: about one firing in
  // two is held, and made as soon as the workflow before has ended.
  json graph{{"tasks",
              {{{"key", "first"}, {"command", "sleep"}, {"args", {"0.6"}}},
               {{"key", "second"}, {"command", "sleep"}, {"args", {"0.6"}}, {"after", {"first"}}}}}};
  json body{{"name", "wf-queue"}, {"cron", "* * * * * *"}, {"workflow", graph}, {"overlap", "queue"}};
  auto made = create_schedule(o, body);
  CHECK(made["task"].is_null());
  CHECK(made["workflow"]["tasks"].size() == 2);
  REQUIRE(wait_until([&] { return firings_of(o, "wf-queue") >= 3; }, std::chrono::seconds(30)));
  REQUIRE(o.http().request("PATCH", "/schedules/wf-queue", R"({"paused": true})").status == 200);
  auto s = schedule_named(o, "wf-queue");
  auto firings = s["firings"].get<uint64_t>();
  // Workflows, oldest first, each with both tasks labelled with the schedule.
  auto listed = o.http().get("/workflows?limit=100").json();
  std::vector<json> workflows;
  for (auto& w : listed["data"]["workflows"])
    workflows.push_back(w);
  REQUIRE(workflows.size() == firings);
  std::sort(workflows.begin(), workflows.end(),
            [](const json& a, const json& b) { return a["created_at"] < b["created_at"]; });
  CHECK(s["last_workflow"] == workflows.back()["id"]);
  CHECK(workflows[0]["name"] == "wf-queue");
  CHECK(workflows[0]["owner"] == "schedule:wf-queue");
  CHECK(tasks_of_schedule(o, "wf-queue").size() == 2 * firings);
  micros previous_end = 0;
  for (auto& w : workflows) {
    json view;
    REQUIRE(wait_until([&] {
      view = o.http().get("/workflows/" + w["id"].get<std::string>()).json()["data"];
      return view["status"] == "Completed";
    }));
    micros start = INT64_MAX, end = 0;
    for (auto& n : view["tasks"]) {
      auto t = o.task(n["id"]);
      CHECK(t["labels"]["schedule"] == "wf-queue");
      start = std::min(start, time_of(t["created_at"]));
      end = std::max(end, time_of(t["completed_at"]));
    }
    INFO("workflow " << w["id"]);
    // Made only once the whole workflow before had ended.
    CHECK(start >= previous_end);
    previous_end = end;
  }
  CHECK_FALSE(schedule_audit(o, "wf-queue", "schedule.fire").empty());
  // A task given by a change replaces the workflow.
  auto changed = o.http().request("PATCH", "/schedules/wf-queue", R"({"task": {"command": "true"}})");
  REQUIRE(changed.status == 200);
  CHECK(changed.json()["data"]["workflow"].is_null());
}

TEST_CASE("schedules: a schedule may name a workflow template - each firing makes what the "
          "template makes of its params, an edit of the template applies from the next firing, "
          "and a template that no longer fits skips the firing saying why",
          "[e2e][schedules][workflows][templates]") {
  temp_dir templates{"orch-sched-templates"};
  auto write_template = [&](const std::string& echo) {
    json t{{"description", "two steps"},
           {"params", {{"msg", {{"required", true}, {"pattern", "[a-z]+"}}}}},
           {"workflow",
            {{"tasks",
              {{{"key", "say"}, {"command", "sh"}, {"args", {"-c", echo, "say", "{{params.msg}}"}}},
               {{"key", "after"}, {"command", "true"}, {"after", {"say"}}}}}}}};
    std::ofstream{templates / "pair.json.part"} << t.dump();
    std::filesystem::rename(templates / "pair.json.part", templates / "pair.json");
  };
  write_template("echo \"$1\"");
  e2e_fixture f{{"--workflow-templates", templates.path()}};
  auto& o = *f.orch;
  auto refused = [&](const json& workflow) {
    auto r = o.http().post("/schedules", json{{"name", "bad"}, {"cron", "* * * * * *"},
                                              {"workflow", workflow}}.dump());
    INFO(r.body);
    CHECK(r.status == 400);
    return r.json()["error"].get<std::string>();
  };
  CHECK_THAT(refused({{"template", "nope"}}), Catch::Contains("no workflow template 'nope'"));
  CHECK_THAT(refused({{"template", "pair"}, {"params", {{"msg", "NOT OK"}}}}),
             Catch::Contains("msg"));
  CHECK_THAT(refused({{"template", "pair"}}), Catch::Contains("msg"));
  CHECK_THAT(refused({{"template", "pair"}, {"tasks", json::array()}}),
             Catch::Contains("unknown field 'tasks'"));
  CHECK(o.http().get("/schedules/bad").status == 404);

  json reference{{"template", "pair"}, {"params", {{"msg", "hello"}}}};
  auto made = create_schedule(o, {{"name", "tpl"}, {"cron", "* * * * * *"},
                                  {"workflow", reference}, {"overlap", "allow"}});
  CHECK(made["workflow"] == reference);
  // The output of a firing's `say` task, once one has completed.
  auto said = [&](const std::string& expected) {
    return wait_until([&] {
      for (auto& t : tasks_of_schedule(o, "tpl"))
        if (t["status"] == "Completed" && t["output"] == expected)
          return true;
      return false;
    }, std::chrono::seconds(30));
  };
  REQUIRE(said("hello\n"));
  write_template("echo \"v2 $1\"");
  REQUIRE(said("v2 hello\n"));
  // A template that no longer takes the params: the firing is skipped, saying why.
  json changed{{"description", "now needs more"},
               {"params", {{"msg", {{"required", true}}}, {"size", {{"required", true}}}}},
               {"workflow", {{"tasks", {{{"key", "x"}, {"command", "true"}}}}}}};
  std::ofstream{templates / "pair.json.part"} << changed.dump();
  std::filesystem::rename(templates / "pair.json.part", templates / "pair.json");
  REQUIRE(wait_until([&] {
    for (auto& a : schedule_audit(o, "tpl", "schedule.skip"))
      if (a["details"].get<std::string>().find("its workflow cannot be made") != std::string::npos
          && a["details"].get<std::string>().find("size") != std::string::npos)
        return true;
    return false;
  }, std::chrono::seconds(30)));
  REQUIRE(o.http().request("PATCH", "/schedules/tpl", R"({"paused": true})").status == 200);
}
