#include "runtime/core/schedule_spec.hpp"

#include <nlohmann/json.hpp>

#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/core/schedule_plan.hpp"
#include "runtime/core/submission.hpp"
#include "runtime/core/workflow_spec.hpp"
#include "runtime/core/workflow_template.hpp"

namespace orch {

namespace {

using nlohmann::json;

status bad(std::string message) {
  return {errc::invalid, std::move(message)};
}

/// The body as a JSON object, or why not.
result<json> body_object(std::string_view body) {
  if (body.empty())
    return bad("send a JSON object, such as {\"name\": \"nightly\", \"cron\": \"0 2 * * *\", "
               "\"task\": {\"command\": \"backup.sh\"}}");
  auto j = json::parse(body, nullptr, false);
  if (j.is_discarded())
    return bad("the body is not valid JSON");
  if (!j.is_object())
    return bad("the body must be a JSON object");
  return j;
}

status text_member(const json& j, const char* field, std::string& out) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null())
    return {};
  if (!it->is_string())
    return bad(std::string{"field '"} + field + "' must be a string");
  out = it->get<std::string>();
  return {};
}

status one_of(const std::string& value, const char* field, std::initializer_list<const char*> allowed) {
  std::string list;
  for (auto a : allowed) {
    if (value == a)
      return {};
    list += (list.empty() ? "" : " | ") + std::string{a};
  }
  return bad(std::string{"field '"} + field + "' must be " + list + ", got '"
             + value.substr(0, 40) + "'");
}

/// The task each firing creates, checked as POST /tasks checks a task.
status task_member(const json& j, std::string& out) {
  auto it = j.find("task");
  if (it == j.end() || it->is_null())
    return {};
  if (!it->is_object())
    return bad("field 'task' must be an object: a task as POST /tasks takes it, such as "
               "{\"command\": \"backup.sh\", \"args\": [\"--full\"]}");
  if (it->contains("id"))
    return bad("task: leave out 'id': each firing's task gets its own");
  if (it->contains("run_at"))
    return bad("task: leave out 'run_at': the schedule says when its tasks run");
  auto text = canonical(*it);
  if (auto t = parse_submission(text); !t)
    return bad("task: " + t.message());
  out = std::move(text);
  return {};
}

/// The workflow each firing creates, checked as POST /workflows checks one.
status workflow_member(const json& j, std::string& out) {
  auto it = j.find("workflow");
  if (it == j.end() || it->is_null())
    return {};
  if (!it->is_object())
    return bad("field 'workflow' must be an object: a workflow as POST /workflows takes it, such "
               "as {\"tasks\": [{\"key\": \"fetch\", \"command\": \"git\"}]}, or a "
               "template's name and params: {\"template\": \"disk-report\", \"params\": {}}");
  if (it->contains("template")) {
    // Made from the template at each firing; the gateway checks that it
    // exists and takes the params.
    auto text = canonical(*it);
    if (auto st = check_template_reference(text); !st)
      return bad("workflow: " + st.message());
    out = std::move(text);
    return {};
  }
  for (auto& node : it->value("tasks", json::array()))
    if (node.is_object() && node.contains("run_at"))
      return bad("workflow: leave out 'run_at': the schedule says when its workflows run");
  auto text = canonical(*it);
  if (auto w = parse_workflow(text, 0); !w)
    return bad("workflow: " + w.message());
  out = std::move(text);
  return {};
}

bool given(const json& j, const char* field) {
  auto it = j.find(field);
  return it != j.end() && !it->is_null();
}

/// The fields both POST and PATCH take, checked and set on `s`. A schedule
/// creates a task or a workflow: giving one replaces the other.
status apply_fields(schedule& s, const json& j) {
  static const std::initializer_list<const char*> known = {
    "name", "cron", "timezone", "task", "workflow", "overlap", "catch_up", "paused"};
  for (auto& [key, value] : j.items()) {
    bool ok = false;
    for (auto k : known)
      ok = ok || key == k;
    if (!ok)
      return bad("unknown field '" + key.substr(0, 40)
                 + "' (a schedule has name, cron, timezone, task or workflow, overlap, catch_up, "
                   "paused)");
  }
  if (given(j, "task") && given(j, "workflow"))
    return bad("give 'task' or 'workflow', not both: each firing creates one of them");
  status st;
  if (!(st = text_member(j, "cron", s.cron)) || !(st = text_member(j, "timezone", s.timezone))
      || !(st = text_member(j, "overlap", s.overlap))
      || !(st = text_member(j, "catch_up", s.catch_up)) || !(st = task_member(j, s.task))
      || !(st = workflow_member(j, s.workflow)))
    return st;
  if (given(j, "task"))
    s.workflow.clear();
  if (given(j, "workflow"))
    s.task.clear();
  if (auto it = j.find("paused"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean())
      return bad("field 'paused' must be true or false");
    s.paused = it->get<bool>();
  }
  if (auto st2 = one_of(s.overlap, "overlap",
                        {overlap_policy::skip, overlap_policy::queue, overlap_policy::allow});
      !st2)
    return st2;
  return one_of(s.catch_up, "catch_up", {catch_up_policy::once, catch_up_policy::skip});
}

/// The first firing after `now`, or why there is none.
status restart_firings(schedule& s, micros now) {
  auto clock = clock_of(s);
  if (!clock)
    return clock.error();
  auto next = next_firing(clock->cron, clock->zone, now);
  if (!next)
    return next.error();
  s.next_firing = *next;
  return {};
}

} // namespace

result<schedule> parse_new_schedule(std::string_view body, micros now) {
  auto j = body_object(body);
  if (!j)
    return j.error();
  schedule s;
  s.timezone = "UTC";
  s.overlap = overlap_policy::skip;
  s.catch_up = catch_up_policy::once;
  if (auto st = text_member(*j, "name", s.name); !st)
    return st;
  if (s.name.empty())
    return bad("field 'name' is missing: a schedule's name, 1-64 of A-Z a-z 0-9 . _ -");
  if (!is_valid_username(s.name))
    return bad("field 'name' must be 1-64 of A-Z a-z 0-9 . _ - (not starting with '.'), got '"
               + s.name.substr(0, 40) + "'");
  if (auto st = apply_fields(s, *j); !st)
    return st;
  if (s.cron.empty())
    return bad("field 'cron' is missing: when it fires, such as \"*/5 * * * *\" or \"@daily\"");
  if (s.task.empty() && s.workflow.empty())
    return bad("field 'task' is missing: the task each firing creates, such as "
               "{\"command\": \"backup.sh\"} (or 'workflow': the workflow it creates)");
  if (auto st = restart_firings(s, now); !st)
    return st;
  s.created_at = s.updated_at = now;
  return s;
}

status apply_schedule_patch(schedule& s, std::string_view body, micros now) {
  auto j = body_object(body);
  if (!j)
    return j.error();
  if (j->empty())
    return bad("send the fields to change: cron, timezone, task or workflow, overlap, catch_up or "
               "paused");
  if (auto it = j->find("name"); it != j->end() && *it != s.name)
    return bad("a schedule's name cannot change: create one under the new name and delete this");
  auto before = s;
  if (auto st = apply_fields(s, *j); !st) {
    s = before;
    return st;
  }
  bool resumed = before.paused && !s.paused;
  if (s.cron != before.cron || s.timezone != before.timezone || resumed)
    if (auto st = restart_firings(s, now); !st) {
      s = before;
      return st;
    }
  s.updated_at = now;
  return {};
}

std::string schedule_view(const schedule& s, size_t n) {
  auto j = json::parse(encode(s));
  auto times = json::array();
  if (auto clock = clock_of(s))
    for (auto t : upcoming_firings(s, *clock, n))
      times.push_back(format_rfc3339(t));
  j["next_firings"] = std::move(times);
  return canonical(j);
}

} // namespace orch
