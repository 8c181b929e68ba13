// Fast validation of a stored record's JSON: one streaming pass of the
// field decoder (field_decoder.hpp) that checks every known field's type
// against the kind's schema and keeps only the fields storage engines index,
// without building a JSON tree. Storage engines run it on every record they
// write, so it is on the hot path of every durable write.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/records.hpp"
#include "runtime/core/status.hpp"
#include "runtime/core/task_search.hpp"

namespace orch {

struct record_summary {
  std::string key;                           // id, task_id or username
  micros time = 0;                           // the kind's time field (see record_time)
  // tasks
  task_status status = task_status::pending;
  micros created_at = 0;
  uint64_t revision = 0;
  std::vector<std::string> dependencies;
  search_doc search;                         // what a search reads of it
  // events: the task; audit records: the target (what they are grouped by)
  std::string task_id;
  // queue entries
  queue_entry entry;
};

/// Checks `text` as a record of `kind` with the same rules as the codec's
/// decoder (unknown fields allowed, null means unset) and fills `out`.
status scan_record(record_kind kind, std::string_view text, record_summary& out);

/// One top-level field of a JSON object as text (field_text() semantics),
/// without building a tree; false if the text is not a JSON object.
bool scan_field(std::string_view text, const std::string& field, std::string& value);

} // namespace orch
