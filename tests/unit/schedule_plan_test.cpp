// When a schedule fires and what it does then (runtime/core/schedule_plan),
// and what POST/PATCH /schedules accept (runtime/core/schedule_spec).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "runtime/core/clock.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/core/schedule_plan.hpp"
#include "runtime/core/schedule_spec.hpp"

using namespace orch;

namespace {

micros at_utc(const char* rfc3339) {
  micros v = 0;
  REQUIRE(parse_rfc3339(rfc3339, v));
  return v;
}

/// Every minute in UTC, next due at 12:00.
schedule minutely(const char* overlap = "skip", const char* catch_up = "once") {
  schedule s;
  s.name = "minutely";
  s.cron = "* * * * *";
  s.timezone = "UTC";
  s.task = R"({"command":"true"})";
  s.overlap = overlap;
  s.catch_up = catch_up;
  s.next_firing = at_utc("2026-12-07T12:00:00Z");
  s.created_at = at_utc("2026-12-07T11:00:00Z");
  s.last_task = "6f1c2c5e-0d4f-4b8a-9a3e-2b1c0d9e8f7a";
  return s;
}

firing_plan plan_at(const schedule& s, const char* now, bool running = false, bool held = false) {
  auto clock = clock_of(s);
  REQUIRE(clock.ok());
  return plan_firing(s, *clock, {at_utc(now), running, held, 60 * us_per_second});
}

std::string refusal_of_new(const std::string& body) {
  auto s = parse_new_schedule(body, at_utc("2026-12-07T12:00:00Z"));
  return s ? std::string{"accepted"} : s.message();
}

} // namespace

TEST_CASE("schedule plan: not due, paused or never firing again: nothing", "[schedules]") {
  CHECK(plan_at(minutely(), "2026-12-07T11:59:59Z").action == firing_action::none);
  auto paused = minutely();
  paused.paused = true;
  CHECK(plan_at(paused, "2026-12-07T12:00:01Z").action == firing_action::none);
  auto done = minutely();
  done.next_firing = 0;
  CHECK(plan_at(done, "2026-12-07T12:00:01Z").action == firing_action::none);
}

TEST_CASE("schedule plan: a due firing is made, and the next is the first after now",
          "[schedules]") {
  auto p = plan_at(minutely(), "2026-12-07T12:00:00.004Z");
  CHECK(p.action == firing_action::make);
  CHECK(p.firing == at_utc("2026-12-07T12:00:00Z"));
  CHECK(p.next == at_utc("2026-12-07T12:01:00Z"));
  CHECK(p.passed_over == 0);
}

TEST_CASE("schedule plan: firings missed while down run once, or are passed over", "[schedules]") {
  // Down from 12:00 to 12:10:30: eleven firings due.
  auto once = plan_at(minutely("allow", "once"), "2026-12-07T12:10:30Z");
  CHECK(once.action == firing_action::make);
  CHECK(once.firing == at_utc("2026-12-07T12:10:00Z"));  // the latest
  CHECK(once.passed_over == 10);
  CHECK(once.next == at_utc("2026-12-07T12:11:00Z"));
  auto skip = plan_at(minutely("allow", "skip"), "2026-12-07T12:10:30Z");
  CHECK(skip.action == firing_action::make);  // 12:10 is within the grace of 60 s
  CHECK(skip.passed_over == 10);
  auto late = minutely("allow", "skip");
  late.cron = "*/5 * * * *";
  auto missed = plan_at(late, "2026-12-07T12:07:30Z");  // 12:00 and 12:05 both missed
  CHECK(missed.action == firing_action::skip);
  CHECK(missed.passed_over == 2);
  CHECK(missed.next == at_utc("2026-12-07T12:10:00Z"));
  CHECK_THAT(missed.reason, Catch::Contains("2 firings missed while no orchestrator ran"));
  // A firing held by overlap=queue is late because of that, not missed.
  auto held = plan_at(late, "2026-12-07T12:07:30Z", false, true);
  CHECK(held.action == firing_action::make);
  CHECK(held.firing == at_utc("2026-12-07T12:05:00Z"));
}

TEST_CASE("schedule plan: while the previous task runs, skip passes over, queue waits, allow "
          "makes", "[schedules]") {
  auto skip = plan_at(minutely("skip"), "2026-12-07T12:00:00Z", true);
  CHECK(skip.action == firing_action::skip);
  CHECK(skip.passed_over == 1);
  CHECK_THAT(skip.reason, Catch::Contains("still running"));
  auto queue = plan_at(minutely("queue"), "2026-12-07T12:00:00Z", true);
  CHECK(queue.action == firing_action::wait);
  CHECK(queue.firing == at_utc("2026-12-07T12:00:00Z"));
  CHECK(plan_at(minutely("allow"), "2026-12-07T12:00:00Z", true).action == firing_action::make);
  CHECK(plan_at(minutely("skip"), "2026-12-07T12:00:00Z", false).action == firing_action::make);
}

TEST_CASE("schedule plan: a firing's task has an id fixed by the schedule and the time",
          "[schedules]") {
  auto s = minutely();
  auto at = at_utc("2026-12-07T12:00:00Z");
  auto t = firing_task(s, at);
  REQUIRE(t.ok());
  CHECK(t->id == schedule_task_id(s, at));
  CHECK(is_uuid(t->id));
  CHECK(t->id.substr(14, 1) == "8");                          // version 8
  CHECK(t->labels.at("schedule") == "minutely");
  CHECK(t->name == "minutely");
  CHECK(t->command == "true");
  CHECK(schedule_task_id(s, at) == schedule_task_id(s, at));  // on every orchestrator
  CHECK(schedule_task_id(s, at) != schedule_task_id(s, at + 60 * us_per_second));
  auto other = s;
  other.name = "other";
  CHECK(schedule_task_id(other, at) != schedule_task_id(s, at));
  auto anew = s;
  anew.created_at += 1;  // deleted and made again under the same name
  CHECK(schedule_task_id(anew, at) != schedule_task_id(s, at));
  // Ids sort by firing time.
  CHECK(schedule_task_id(s, at) < schedule_task_id(s, at + us_per_second));
}

TEST_CASE("schedule spec: a new schedule with its defaults and first firing", "[schedules]") {
  auto s = parse_new_schedule(
    R"({"name":"nightly","cron":"0 2 * * *","timezone":"Europe/Berlin","task":{"command":"backup","args":["--full"]}})",
    at_utc("2026-12-07T12:00:00Z"));
  REQUIRE(s.ok());
  CHECK(s->overlap == "skip");
  CHECK(s->catch_up == "once");
  CHECK_FALSE(s->paused);
  CHECK(s->next_firing == at_utc("2026-12-08T01:00:00Z"));
  CHECK(s->task == R"({"args":["--full"],"command":"backup"})");
  auto view = nlohmann::json::parse(schedule_view(*s, 3));
  CHECK(view["next_firings"]
        == nlohmann::json::array({"2026-12-08T01:00:00.000000Z", "2026-12-09T01:00:00.000000Z",
                                  "2026-12-10T01:00:00.000000Z"}));
}

TEST_CASE("schedule spec: what is refused, and why", "[schedules]") {
  CHECK_THAT(refusal_of_new(""), Catch::Contains("send a JSON object"));
  CHECK_THAT(refusal_of_new("[1]"), Catch::Contains("must be a JSON object"));
  CHECK_THAT(refusal_of_new(R"({"name":5})"), Catch::Contains("'name' must be a string"));
  CHECK_THAT(refusal_of_new(R"({"name":"a","cron":"* * * * *"})"),
             Catch::Contains("'task' is missing"));
  CHECK_THAT(refusal_of_new(R"({"name":"a","task":{"command":"x"}})"),
             Catch::Contains("'cron' is missing"));
  CHECK_THAT(refusal_of_new(R"({"name":"a","cron":"* * * * *","task":"x"})"),
             Catch::Contains("'task' must be an object"));
  CHECK_THAT(refusal_of_new(R"({"name":"a","cron":"* * * * *","task":{"command":"x","run_at":"2027-01-01T00:00:00Z"}})"),
             Catch::Contains("leave out 'run_at'"));
  CHECK_THAT(refusal_of_new(R"({"name":"a","cron":"* * * * *","task":{}})"),
             Catch::StartsWith("task: "));
  CHECK_THAT(refusal_of_new(R"({"name":"a","cron":"* * * * *","task":{"command":"x"},"paused":"no"})"),
             Catch::Contains("'paused' must be true or false"));
  CHECK_THAT(refusal_of_new(R"({"name":"a","cron":"* * * * *","task":{"command":"x"},"catch_up":"all"})"),
             Catch::Contains("'catch_up' must be once | skip"));
  CHECK_THAT(refusal_of_new(R"({"name":"a","cron":"* * * * *","task":{"command":"x"},"workflow":{"tasks":[]}})"),
             Catch::Contains("give 'task' or 'workflow', not both"));
  CHECK_THAT(refusal_of_new(R"({"name":"a","cron":"* * * * *","workflow":"w"})"),
             Catch::Contains("'workflow' must be an object"));
  CHECK_THAT(refusal_of_new(R"({"name":"a","cron":"* * * * *","workflow":{"tasks":[{"key":"a","command":"x","after":["a"]}]}})"),
             Catch::StartsWith("workflow: tasks[0] (a) comes after itself"));
  CHECK_THAT(refusal_of_new(R"({"name":"a","cron":"* * * * *","workflow":{"tasks":[{"key":"a","command":"x","run_at":"2027-01-01T00:00:00Z"}]}})"),
             Catch::Contains("leave out 'run_at'"));
}

TEST_CASE("schedule spec: a workflow schedule's firing makes the workflow under the firing's "
          "derived id, named after the schedule, its tasks labelled, and a task given by a change "
          "replaces the workflow",
          "[schedules][workflows]") {
  auto s = parse_new_schedule(
    R"({"name":"nightly","cron":"0 2 * * *","workflow":{"tasks":[{"key":"a","command":"x"},{"key":"b","command":"y","after":["a"]}]}})",
    at_utc("2026-12-07T12:00:00Z"));
  REQUIRE(s.ok());
  CHECK(s->task.empty());
  auto firing = at_utc("2026-12-08T02:00:00Z");
  auto plan = firing_workflow(*s, s->workflow, firing, firing + 5);
  REQUIRE(plan.ok());
  CHECK(plan->wf.id == schedule_task_id(*s, firing));
  CHECK(plan->wf.name == "nightly");
  CHECK(plan->wf.owner == "schedule:nightly");
  REQUIRE(plan->tasks.size() == 2);
  CHECK(plan->tasks[1].name == "nightly/b");
  CHECK(plan->tasks[1].labels.at("schedule") == "nightly");
  CHECK(plan->tasks[1].labels.at("workflow") == plan->wf.id);
  CHECK(plan->tasks[1].dependencies == std::vector<std::string>{plan->tasks[0].id});
  REQUIRE(apply_schedule_patch(*s, R"({"task":{"command":"z"}})", firing).ok());
  CHECK(s->workflow.empty());
  CHECK_FALSE(s->task.empty());
}

TEST_CASE("schedule spec: a change keeps what it does not name, a new cron or a resume starts "
          "again from now, a refused change changes nothing", "[schedules]") {
  auto s = parse_new_schedule(R"({"name":"n","cron":"0 2 * * *","task":{"command":"x"}})",
                              at_utc("2026-12-07T12:00:00Z"));
  REQUIRE(s.ok());
  auto now = at_utc("2026-12-07T13:00:00Z");
  REQUIRE(apply_schedule_patch(*s, R"({"paused":true})", now).ok());
  CHECK(s->paused);
  CHECK(schedule_view(*s).find("\"next_firings\":[]") != std::string::npos);
  auto later = at_utc("2026-12-09T10:00:00Z");
  REQUIRE(apply_schedule_patch(*s, R"({"paused":false})", later).ok());
  CHECK(s->next_firing == at_utc("2026-12-10T02:00:00Z"));  // not the missed ones
  REQUIRE(apply_schedule_patch(*s, R"({"cron":"30 * * * *","overlap":"queue"})", later).ok());
  CHECK(s->next_firing == at_utc("2026-12-09T10:30:00Z"));
  CHECK(s->overlap == "queue");
  auto before = *s;
  CHECK_FALSE(apply_schedule_patch(*s, R"({"cron":"30 * * * *","overlap":"never"})", later).ok());
  CHECK_FALSE(apply_schedule_patch(*s, R"({"timezone":"Nowhere/Land"})", later).ok());
  CHECK(s->overlap == before.overlap);
  CHECK(s->timezone == before.timezone);
  CHECK_FALSE(apply_schedule_patch(*s, "{}", later).ok());
}
