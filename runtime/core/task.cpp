#include "runtime/core/task.hpp"

#include <cctype>

#include "runtime/core/ids.hpp"
#include "runtime/core/records.hpp"

namespace orch {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i]))
        != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

constexpr const char* status_names[] = {"Pending", "Queued",  "Running",
                                        "Completed", "Failed", "Cancelled"};

constexpr const char* kind_names[] = {"tasks",   "task_queue",  "users",     "audit_log",
                                      "metrics", "task_events", "schedules", "workflows"};
constexpr const char* kind_short_names[] = {"task",  "queue", "user",     "audit",
                                            "metric", "event", "schedule", "workflow"};
static_assert(std::size(kind_names) == all_record_kinds.size());
static_assert(std::size(kind_short_names) == all_record_kinds.size());

} // namespace

const char* to_string(task_status s) {
  return status_names[static_cast<size_t>(s)];
}

bool parse_status(std::string_view text, task_status& out) {
  for (size_t i = 0; i < std::size(status_names); ++i)
    if (iequals(text, status_names[i])) {
      out = static_cast<task_status>(i);
      return true;
    }
  return false;
}

bool is_terminal(task_status s) {
  return s == task_status::completed || s == task_status::failed || s == task_status::cancelled;
}

const char* to_string(record_kind k) {
  return kind_names[static_cast<size_t>(k)];
}

bool parse_record_kind(std::string_view text, record_kind& out) {
  for (size_t i = 0; i < std::size(kind_names); ++i)
    if (iequals(text, kind_names[i]) || iequals(text, kind_short_names[i])) {
      out = static_cast<record_kind>(i);
      return true;
    }
  return false;
}

precondition expect_revision(record_kind kind, std::string key, uint64_t revision) {
  return {precondition::field_in, kind, std::move(key), "revision", {std::to_string(revision)}};
}

bool is_valid_key(record_kind k, std::string_view key) {
  return k == record_kind::user || k == record_kind::schedule ? is_valid_username(key)
                                                               : is_uuid(key);
}

} // namespace orch
