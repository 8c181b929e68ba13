// Which records a migration moves: the record kinds asked for (--kinds), and
// tasks by status and creation time (--status, --since, --until). Queue
// entries and task events follow their task; users, audit records and
// metrics are filtered by kind only. Records arrive kind by kind with tasks
// first, so the set of chosen task ids is complete before it is consulted.
#pragma once

#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "runtime/model/records.hpp"
#include "runtime/settings.hpp"

namespace orch::migration {

/// Kinds in migration order: tasks first, so their filter decides the rest.
std::vector<record_kind> migration_order(const std::set<record_kind>& chosen);

class record_filter {
public:
  /// Parses the filter options; throws std::invalid_argument saying what is wrong.
  explicit record_filter(const migrate_settings& s);

  const std::set<record_kind>& kinds() const { return kinds_; }
  bool filters_tasks() const { return !statuses_.empty() || since_ != 0 || until_ != 0; }

  /// Does the record pass? (Tasks that pass are remembered for the kinds that
  /// follow them.) `json_text` is the record's JSON.
  bool include(const record& r);

  /// Human-readable summary of the filter ("all records" if none).
  std::string describe() const;

private:
  std::set<record_kind> kinds_;
  std::set<task_status> statuses_;
  micros since_ = 0;
  micros until_ = 0;
  std::unordered_set<std::string> chosen_tasks_;
};

} // namespace orch::migration
