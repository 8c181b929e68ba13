// The vocabulary of the storage interface: generic records (one kind + key +
// canonical JSON body), atomic write batches with preconditions, queries,
// claims. Every backend speaks exactly this; see runtime/messages/storage_actor.hpp.
#pragma once

#include <array>
#include <cstdint>
#include <iterator>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/task.hpp"

namespace orch {

enum class record_kind : uint8_t { task, queue, user, audit, metric, event, schedule, workflow };

constexpr std::array<record_kind, 8> all_record_kinds{
  record_kind::task,   record_kind::queue, record_kind::user,     record_kind::audit,
  record_kind::metric, record_kind::event, record_kind::schedule, record_kind::workflow};
static_assert(static_cast<size_t>(record_kind::workflow) + 1 == all_record_kinds.size(),
              "a new record kind belongs in all_record_kinds (and in schema::visit_kind)");

/// Table / column family / folder name: tasks, task_queue, users, audit_log,
/// metrics, task_events, schedules, workflows.
const char* to_string(record_kind k);

/// Accepts the table names above and short forms (task, queue, user, audit,
/// metric, event, schedule, workflow). False on anything else.
bool parse_record_kind(std::string_view text, record_kind& out);

/// Is `key` acceptable as the key of a record of this kind (UUID for tasks,
/// queue entries and the time-ordered kinds, a name of A-Z a-z 0-9 . _ - for
/// users and schedules)?
bool is_valid_key(record_kind k, std::string_view key);

/// One stored record. `json` is the canonical JSON text (sorted keys, no
/// whitespace), so equal records have equal bytes and digests.
struct record {
  record_kind kind = record_kind::task;
  std::string key;
  std::string json;
};

struct record_op {
  enum op_type : uint8_t { put = 0, remove = 1 };
  op_type op = put;
  record rec;                                // for `remove`, only kind and key matter
};

/// A condition a write batch needs to hold at commit time; if any fails the
/// whole batch is rejected with storage_errc::conflict and nothing is written.
struct precondition {
  enum check_type : uint8_t {
    absent = 0,        // the record must not exist
    present = 1,       // the record must exist
    field_in = 2,      // the record exists and field `field` is one of `values`
  };
  check_type check = present;
  record_kind kind = record_kind::task;
  std::string key;
  std::string field;
  std::vector<std::string> values;           // compared to strings / integers as text
};

struct write_batch {
  std::vector<record_op> ops;
  std::vector<precondition> expect;
  /// A state change's batch (transitions.cpp): the storage gives its task
  /// events their ids as it commits, so that event ids sort in commit order
  /// (what GET /events resumes by). Off: the ids are kept as written
  /// (migration, restores, tests).
  bool stamp_events = false;
};

/// Adds a put of `r` to the batch.
inline void put(write_batch& b, record r) {
  b.ops.push_back({record_op::put, std::move(r)});
}

/// The record `kind`/`key` must still have revision `revision` at commit: a
/// change decided on what was read is refused if anything changed it since.
precondition expect_revision(record_kind kind, std::string key, uint64_t revision);

/// Adds `more`'s writes and preconditions to `into`: several changes
/// committed as one, all or none.
inline void append(write_batch& into, write_batch more) {
  into.ops.insert(into.ops.end(), std::make_move_iterator(more.ops.begin()),
                  std::make_move_iterator(more.ops.end()));
  into.expect.insert(into.expect.end(), std::make_move_iterator(more.expect.begin()),
                     std::make_move_iterator(more.expect.end()));
  into.stamp_events = into.stamp_events || more.stamp_events;
}

/// Filtered, paginated listing. `field`/`value`: equality, or "contains" when
/// the field is an array. Time range applies to the kind's time field:
/// created_at for tasks and users, time for audit/metrics/events, and
/// lease_until for queue entries (so since=1, until=now finds expired leases;
/// unclaimed entries have no lease time and never match a time range).
struct record_query {
  record_kind kind = record_kind::task;
  std::string field;
  std::string value;
  micros since = 0;                          // inclusive; 0: unbounded
  micros until = 0;                          // exclusive; 0: unbounded
  uint32_t limit = 100;
  uint64_t offset = 0;
  bool newest_first = false;                 // order by time field, then key
  /// Tasks only: a search (runtime/core/task_search.hpp), on top of the rest.
  std::string search;
};

struct record_page {
  std::vector<record> items;
  uint64_t total = 0;                        // matches before limit/offset
};

/// Up to `limit` records of `kind` with key > `after`, in ascending key order.
struct scan_request {
  record_kind kind = record_kind::task;
  std::string after;
  uint32_t limit = 500;
};

/// Extend the leases `worker` holds on these tasks until `until`.
struct renew_request {
  std::string worker;
  std::vector<std::string> task_ids;
  micros until = 0;
};

struct claim_request {
  std::string worker;                        // instance id of the claimer
  micros now = 0;
  micros lease = 0;                          // lease duration
  uint32_t limit = 1;                        // claim up to this many tasks at once
  /// The node whose free slots the claim fills: written into each claimed
  /// task and its `started` event; only tasks whose node_labels it has
  /// (`labels`) are claimed.
  std::string node;
  std::map<std::string, std::string> labels;
};

/// One claimed task: the queue entry's claimed_by/lease_until are set, the
/// task is Running with one more attempt and started_at = now, and a
/// `started` event and audit record were appended, atomically and durably.
struct claimed_task {
  task claimed;
  queue_entry entry;
  task_event started_event;
};

struct claim_result {
  std::vector<claimed_task> tasks;           // empty: nothing ready
  micros next_ready = 0;                     // earliest not_before still waiting; 0: none
};

struct storage_info {
  std::string backend;                       // filesystem, surrealdb-embedded, surrealdb-server
  std::string location;                      // directory or URL (no credentials)
  std::string ns, db;                        // SurrealDB's namespace and database
  bool shared = false;                       // several processes may use it at once
  std::vector<std::string> notes;            // start-up findings: quarantined files, repairs
};

} // namespace orch
