#include "runtime/core/schedule_plan.hpp"

#include <nlohmann/json.hpp>

#include "runtime/core/ids.hpp"
#include "runtime/core/submission.hpp"

namespace orch {

namespace {

/// Due firings counted one by one at most this many times; past it (a
/// per-second schedule down for hours) the latest is found from `now`.
constexpr uint64_t max_counted = 10'000;

} // namespace

result<schedule_clock> clock_of(const schedule& s) {
  auto cron = parse_cron(s.cron);
  if (!cron)
    return cron.error();
  auto zone = find_time_zone(s.timezone.empty() ? "UTC" : s.timezone);
  if (!zone)
    return zone.error();
  return schedule_clock{std::move(*cron), *zone};
}

std::vector<micros> upcoming_firings(const schedule& s, const schedule_clock& clock, size_t n) {
  std::vector<micros> out;
  if (s.paused || s.next_firing == 0 || n == 0)
    return out;
  out.push_back(s.next_firing);
  auto more = next_firings(clock.cron, clock.zone, s.next_firing, n - 1);
  out.insert(out.end(), more.begin(), more.end());
  return out;
}

firing_plan plan_firing(const schedule& s, const schedule_clock& clock, const firing_facts& f) {
  firing_plan p;
  if (s.paused || s.next_firing == 0 || f.now < s.next_firing)
    return p;
  // The due firings: next_firing and every later one up to now.
  micros latest = s.next_firing;
  uint64_t due = 1;
  for (;;) {
    auto after = next_firing(clock.cron, clock.zone, latest);
    if (!after || *after > f.now)
      break;
    latest = *after;
    if (++due == max_counted)
      break;
  }
  auto next = next_firing(clock.cron, clock.zone, f.now);
  p.next = next ? *next : 0;
  p.firing = latest;
  bool missed = !f.held && f.now - latest > f.misfire_grace;
  if (missed && s.catch_up == catch_up_policy::skip) {
    p.action = firing_action::skip;
    p.passed_over = due;
    p.reason = std::to_string(due) + (due == 1 ? " firing" : " firings")
               + " missed while no orchestrator ran (catch_up: skip)";
    return p;
  }
  if (f.previous_running && s.overlap == overlap_policy::skip) {
    p.action = firing_action::skip;
    p.passed_over = due;
    p.reason = "the previous firing's task " + s.last_task + " is still running (overlap: skip)";
    return p;
  }
  if (f.previous_running && s.overlap == overlap_policy::queue) {
    p.action = firing_action::wait;
    p.reason = "waits for the previous firing's task " + s.last_task + " (overlap: queue)";
    return p;
  }
  p.action = firing_action::make;
  p.passed_over = due - 1;
  return p;
}

std::string schedule_task_id(const schedule& s, micros firing) {
  return derived_uuid(firing, "schedule\n" + s.name + "\n" + std::to_string(s.created_at) + "\n"
                                + std::to_string(firing));
}

result<task> firing_task(const schedule& s, micros firing) {
  auto t = parse_submission(s.task);
  if (!t)
    return status{errc::invalid, "schedule '" + s.name + "' has a task that is no longer valid: "
                                   + t.message()};
  t->id = schedule_task_id(s, firing);
  t->labels["schedule"] = s.name;
  if (t->name.empty())
    t->name = s.name;
  return t;
}

result<workflow_plan> firing_workflow(const schedule& s, const std::string& body, micros firing,
                                      micros now) {
  // Named after the schedule unless the graph has a name (its tasks too).
  auto named = nlohmann::json::parse(body, nullptr, false);
  if (named.is_object() && !named.contains("name"))
    named["name"] = s.name;
  auto plan = parse_workflow(named.is_discarded() ? body : named.dump(), now,
                             schedule_task_id(s, firing));
  if (!plan)
    return status{errc::invalid, "schedule '" + s.name
                                   + "' has a workflow that is no longer valid: " + plan.message()};
  plan->wf.owner = "schedule:" + s.name;
  for (auto& t : plan->tasks)
    t.labels["schedule"] = s.name;
  return plan;
}

} // namespace orch
