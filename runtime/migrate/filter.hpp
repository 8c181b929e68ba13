// Which records a migration moves: the record kinds asked for (--kinds), and
// tasks by status and creation time (--status, --since, --until). Queue
// entries and task events follow their task; users, audit records, metrics
// and a node's events (no task of theirs) are filtered by kind only. Records arrive kind by kind with tasks
// first, so the chosen task ids are usually known when their queue entries
// and events come; a task not seen (a resumed run skipped it, or --kinds left
// tasks out) is looked up in the source once and remembered.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "runtime/core/record_scan.hpp"
#include "runtime/core/records.hpp"
#include "runtime/migrate/filter_options.hpp"

namespace orch::migration {

/// Kinds in migration order: tasks first, so their filter decides the rest.
std::vector<record_kind> migration_order(const std::set<record_kind>& chosen);

class record_filter {
public:
  /// Parses the filter options; throws std::invalid_argument saying what is wrong.
  explicit record_filter(const filter_options& s);

  const std::set<record_kind>& kinds() const { return kinds_; }
  bool filters_tasks() const { return !statuses_.empty() || since_ != 0 || until_ != 0; }

  /// Does the record pass? (Tasks that pass are remembered for the kinds that
  /// follow them.) `sum` is the record scanned by the caller, `valid` whether
  /// the scan succeeded: invalid records pass, for the caller to report.
  bool include(const record& r, const record_summary& sum, bool valid);
  /// The same, scanning the record itself where the filter needs it.
  bool include(const record& r);

  /// Human-readable summary of the filter ("all records" if none).
  std::string describe() const;

  /// Returns a task's JSON from the source, or "" if there is no such task.
  using task_lookup = std::function<std::string(const std::string& task_id)>;
  void set_task_lookup(task_lookup f) { lookup_ = std::move(f); }

private:
  bool task_passes(const record_summary& task) const;
  bool task_chosen(const std::string& task_id);

  std::set<record_kind> kinds_;
  std::set<task_status> statuses_;
  micros since_ = 0;
  micros until_ = 0;
  std::unordered_set<std::string> chosen_tasks_;
  std::unordered_set<std::string> rejected_tasks_;  // looked up and left out
  task_lookup lookup_;
};

} // namespace orch::migration
