// The backend-independent half of a group commit for local engines: decode
// and validate every put, check every precondition against the state left by
// the batches before it, and merge the accepted batches into one overlay of
// final record states. The engine then writes the overlay durably in one go.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "backends/engine/storage_engine.hpp"
#include "runtime/core/task_search.hpp"

namespace orch {

/// What the indexes of a backend need to know about a task.
struct task_meta {
  task_status status = task_status::pending;
  micros created_at = 0;
  uint64_t revision = 0;
  std::vector<std::string> dependencies;
};

/// The final state of one record after a group: its canonical JSON (or its
/// removal) and the decoded fields backends index.
struct staged_record {
  bool removed = false;
  std::string json;                          // canonical
  task_meta meta;                            // tasks
  search_doc search;                         // tasks: what a search reads
  queue_entry entry;                         // queue entries
  micros time = 0;                           // the kind's time field (record_time)
  std::string task_id;                       // events
};

using record_id = std::pair<record_kind, std::string>;
using record_overlay = std::map<record_id, staged_record>;

/// Looks up a committed record: false if it does not exist; otherwise, if
/// `field` is not empty, sets `value` to that field as text (field_text()).
using committed_field_fn =
  std::function<bool(record_kind kind, const std::string& key, const std::string& field,
                     std::string& value)>;

/// Decodes and checks a put (errc::invalid with what is wrong).
status stage_put(const record& r, staged_record& out);

/// A write batch with every put decoded and validated: the part of a commit
/// that needs no state, done before the batch reaches the engine's thread.
struct prepared_batch {
  std::vector<std::pair<record_id, staged_record>> staged;
  /// The task events it puts, decoded here (off the engine's thread), in
  /// the order of `staged`: what the storage tells its feed once committed.
  std::vector<task_event> events;
  std::vector<precondition> expect;
  bool stamp_events = false;                 // write_batch::stamp_events
  errc code = errc::internal;
  std::string error;                         // not empty: invalid, never applied
};

prepared_batch prepare_batch(const write_batch& b);

/// Plans the group: outcome per batch; accepted batches are merged into
/// `overlay` in order (later writes to a key win). Their staged records are
/// moved out of the batches.
std::vector<batch_outcome> plan_group(const std::vector<prepared_batch*>& batches,
                                      record_overlay& overlay, const committed_field_fn& lookup);

} // namespace orch
