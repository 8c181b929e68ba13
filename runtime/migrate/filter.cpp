#include "runtime/migrate/filter.hpp"

#include <array>
#include <sstream>
#include <stdexcept>

#include "runtime/core/record_scan.hpp"

namespace orch::migration {

std::vector<record_kind> migration_order(const std::set<record_kind>& chosen) {
  std::vector<record_kind> order;
  static constexpr std::array order_of_kinds{record_kind::task,  record_kind::queue,
                                             record_kind::event, record_kind::user,
                                             record_kind::schedule, record_kind::workflow,
                                             record_kind::audit,    record_kind::metric};
  static_assert(order_of_kinds.size() == all_record_kinds.size(),
                "a new record kind needs its place in a migration's order");
  for (auto k : order_of_kinds)
    if (chosen.count(k))
      order.push_back(k);
  return order;
}

record_filter::record_filter(const filter_options& s) {
  if (s.kinds.empty()) {
    kinds_.insert(all_record_kinds.begin(), all_record_kinds.end());
  } else {
    std::istringstream in{s.kinds};
    for (std::string k; std::getline(in, k, ',');) {
      record_kind kind;
      if (!parse_record_kind(k, kind))
        throw std::invalid_argument("--kinds: unknown record kind '" + k
                                    + "' (use tasks, task_queue, users, audit_log, metrics, "
                                      "task_events, schedules, workflows)");
      kinds_.insert(kind);
    }
  }
  for (auto& name : s.statuses) {
    task_status st;
    if (!parse_status(name, st))
      throw std::invalid_argument("--status: unknown status '" + name
                                  + "' (use Pending, Queued, Running, Completed, Failed, "
                                    "Cancelled)");
    statuses_.insert(st);
  }
  if (!s.since.empty() && !parse_rfc3339(s.since, since_))
    throw std::invalid_argument("--since must be an RFC 3339 time such as 2026-01-02T03:04:05Z, "
                                "got '" + s.since + "'");
  if (!s.until.empty() && !parse_rfc3339(s.until, until_))
    throw std::invalid_argument("--until must be an RFC 3339 time such as 2026-01-02T03:04:05Z, "
                                "got '" + s.until + "'");
}

bool record_filter::task_passes(const record_summary& t) const {
  return (statuses_.empty() || statuses_.count(t.status)) && (since_ == 0 || t.created_at >= since_)
         && (until_ == 0 || t.created_at < until_);
}

bool record_filter::task_chosen(const std::string& task_id) {
  if (chosen_tasks_.count(task_id))
    return true;
  if (rejected_tasks_.count(task_id) || !lookup_)
    return false;
  auto text = lookup_(task_id);
  record_summary sum;
  bool ok = !text.empty() && scan_record(record_kind::task, text, sum).ok() && task_passes(sum);
  (ok ? chosen_tasks_ : rejected_tasks_).insert(task_id);
  return ok;
}

bool record_filter::include(const record& r) {
  record_summary sum;
  bool valid = true;
  if (filters_tasks() && (r.kind == record_kind::task || r.kind == record_kind::event))
    valid = scan_record(r.kind, r.json, sum).ok();
  return include(r, sum, valid);
}

bool record_filter::include(const record& r, const record_summary& sum, bool valid) {
  if (!kinds_.count(r.kind))
    return false;
  if (!filters_tasks())
    return true;
  switch (r.kind) {
    case record_kind::task: {
      if (!valid)
        return true;  // invalid records are the stage's to report
      bool ok = task_passes(sum);
      (ok ? chosen_tasks_ : rejected_tasks_).insert(r.key);
      return ok;
    }
    case record_kind::queue:
      return task_chosen(r.key);  // keyed by its task id
    case record_kind::event:
      if (!valid)
        return true;
      // A node's event (event_kinds.hpp) belongs to no task: kept, like
      // the audit log.
      return sum.task_id.empty() || task_chosen(sum.task_id);
    default:
      return true;
  }
}

std::string record_filter::describe() const {
  std::string out;
  if (kinds_.size() != all_record_kinds.size()) {
    out += "kinds";
    for (auto k : kinds_)
      out += std::string{" "} + to_string(k);
  }
  if (!statuses_.empty()) {
    out += out.empty() ? "" : "; ";
    out += "tasks with status";
    for (auto st : statuses_)
      out += std::string{" "} + to_string(st);
  }
  if (since_ != 0)
    out += (out.empty() ? "" : "; ") + std::string{"created at or after "} + format_rfc3339(since_);
  if (until_ != 0)
    out += (out.empty() ? "" : "; ") + std::string{"created before "} + format_rfc3339(until_);
  return out.empty() ? "all records" : out;
}

} // namespace orch::migration
