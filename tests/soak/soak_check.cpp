#include "tests/soak/soak.hpp"

#include <fstream>
#include <sstream>

namespace orch::soak {

const char* to_string(task_kind k) {
  switch (k) {
    case task_kind::ok: return "ok";
    case task_kind::sleeper: return "sleeper";
    case task_kind::failing: return "failing";
    case task_kind::flaky: return "flaky";
    case task_kind::dependant: return "dependant";
  }
  return "?";
}

std::map<std::string, std::vector<int>> run_log::read() const {
  std::map<std::string, std::vector<int>> runs;
  std::ifstream in{path};
  std::string id;
  int attempt = 0;
  while (in >> id >> attempt)
    runs[id].push_back(attempt);
  return runs;
}

namespace {

/// The audit action stored with each event kind (runtime/core/transitions.cpp).
std::string action_of(const std::string& event_kind) {
  static const std::map<std::string, std::string> actions{
    {"created", "task.submit"},       {"started", "task.start"},
    {"completed", "task.complete"},   {"retry_scheduled", "task.retry_scheduled"},
    {"failed", "task.fail"},          {"requeued", "task.requeue"},
    {"cancelled", "task.cancel"},     {"retried", "task.retry"},
    {"interrupted", "task.interrupt"}, {"queued", "task.queue"}};
  auto i = actions.find(event_kind);
  return i == actions.end() ? "?" + event_kind : i->second;
}

/// How the task must have ended, given what it was; "" if anything terminal will do.
std::string expected_status(const acknowledged& a, bool cancelled,
                            const std::map<std::string, std::string>& final_status,
                            std::string& why) {
  if (cancelled) {
    why = "a cancel was acknowledged";
    return "Cancelled";
  }
  switch (a.kind) {
    case task_kind::ok:
    case task_kind::sleeper:
    case task_kind::flaky:
      why = std::string{to_string(a.kind)} + " tasks succeed";
      return "Completed";
    case task_kind::failing:
      why = "its command always exits 3";
      return "Failed";
    case task_kind::dependant:
      for (auto& d : a.dependencies) {
        auto s = final_status.count(d) ? final_status.at(d) : "";
        if (s != "Completed") {
          why = "dependency " + d + " ended " + s;
          return "Failed";
        }
      }
      why = "its dependencies completed";
      return "Completed";
  }
  return "";
}

} // namespace

std::vector<finding> check_task(const std::string& id, const acknowledged& a, int cancel,
                                const nlohmann::json& task, const nlohmann::json& events,
                                const nlohmann::json& audit, const std::vector<int>& runs,
                                const std::map<std::string, std::string>& final_status) {
  std::vector<finding> out;
  auto bad = [&](const std::string& what) { out.push_back({id, what}); };
  auto status = task.value("status", std::string{});
  auto attempts = task.value("attempts", 0);
  std::string why;
  auto expected = expected_status(a, cancel == 2, final_status, why);
  // An attempt cut short by the kill counts (README, "Reliability"): with no
  // retries left the task fails saying so, whatever its command.
  auto error = task.value("error", std::string{});
  bool crash_failed = status == "Failed" && attempts == a.max_retries + 1
                      && (error.find("stopped before it finished; no retries left") != std::string::npos
                          || error.find("expired at") != std::string::npos);
  // A cancel whose answer was lost may have been carried out.
  bool maybe_cancelled = cancel == 1 && status == "Cancelled";
  if (!expected.empty() && status != expected && !crash_failed && !maybe_cancelled)
    bad(std::string{to_string(a.kind)} + " task ended " + status + " (error '"
        + task.value("error", std::string{}) + "'), expected " + expected + ": " + why);
  // Ran at most once per attempt counted.
  std::map<int, int> per_attempt;
  for (int n : runs)
    ++per_attempt[n];
  for (auto& [n, times] : per_attempt) {
    if (times > 1)
      bad("attempt " + std::to_string(n) + " ran " + std::to_string(times) + " times");
    if (n < 1 || n > attempts)
      bad("a run of attempt " + std::to_string(n) + " but attempts is "
          + std::to_string(attempts));
  }
  // A complete, ordered history: created first, the final status last, one
  // started event per attempt.
  if (!events.is_array() || events.empty()) {
    bad("no events");
    return out;
  }
  if (events.front().value("kind", "") != "created") {
    std::string history;
    for (auto& e : events)
      history += " " + e.value("time", std::string{}) + " " + e.value("kind", std::string{}) + ",";
    bad("the first event is " + events.front().value("kind", std::string{"?"}) + ":" + history);
  }
  if (events.back().value("status", "") != status)
    bad("the last event says " + events.back().value("status", std::string{"?"})
        + ", the task " + status);
  // Every event carries the task's attempt count after it: a start adds
  // exactly one; a start taken back uncounted (the claim's answer was lost,
  // a graceful shutdown interrupted it) shows as the count going down again.
  int counted = 0;
  std::string last_time, history;
  for (auto& e : events) {
    auto kind = e.value("kind", std::string{});
    int attempt = e.value("attempt", 0);
    history += " " + kind + "(" + std::to_string(attempt) + ")";
    if (kind == "started" && attempt != counted + 1)
      bad("a started event for attempt " + std::to_string(attempt) + " after "
          + std::to_string(counted) + " counted attempts");
    counted = attempt;
    auto t = e.value("time", std::string{});
    if (t < last_time)
      bad("events out of order at " + t);
    last_time = t;
  }
  if (counted != attempts)
    bad("the events end at " + std::to_string(counted) + " attempts, the task has "
        + std::to_string(attempts) + ":" + history);
  // One audit record per event, same actions in the same order.
  if (!audit.is_array() || audit.size() != events.size()) {
    bad(std::to_string(audit.is_array() ? audit.size() : 0) + " audit records for "
        + std::to_string(events.size()) + " events");
  } else {
    for (size_t i = 0; i < events.size(); ++i)
      if (audit[i].value("action", "") != action_of(events[i].value("kind", ""))) {
        bad("audit record " + std::to_string(i) + " is " + audit[i].value("action", std::string{})
            + " where the event is " + events[i].value("kind", std::string{}));
        break;
      }
  }
  return out;
}

} // namespace orch::soak
