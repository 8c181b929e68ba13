// The SurrealQL of the surrealdb-server backend, for SurrealDB 3.0.x. Table
// and field names are constants of this code (or checked against a
// whitelist); every value that comes from a record or a request is a bound
// $variable, never spliced into the text. Measured facts behind these forms
// are in tests/surreal-server/README.md and the backend's comments.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/core/records.hpp"
#include "runtime/core/status.hpp"

namespace orch::surreal {

using json = nlohmann::json;

/// Table of a record kind: tasks, task_queue, users, audit_log, metrics, task_events.
const char* table_of(record_kind k);

/// The schema, idempotent; `ns_db` is the first part (namespace and database,
/// names already validated), run separately because a database-level user
/// may not define them.
std::string schema_ns_db(const std::string& ns, const std::string& db);
std::string schema_tables();

/// A query with its variables.
struct statement {
  std::string text;
  json vars = json::object();
  /// Time beyond the client's request timeout it may take: a write batch's
  /// grows with its records (a 10,000-node workflow is one transaction).
  std::chrono::milliseconds allowance{0};
};

/// What a failed precondition throws inside a transaction, followed by its
/// number in the batch and ':' ("orch-precondition:2:").
inline constexpr std::string_view precondition_marker = "orch-precondition:";

/// The number of the precondition a transaction's error message reports, or -1.
int failed_precondition(std::string_view message);

/// One atomic write batch: BEGIN; preconditions (THROW 'orch-precondition:…');
/// puts (tasks also keep their depends_on edges in step) and deletes; COMMIT.
/// errc::invalid if the batch cannot be expressed (an invalid key, record or
/// field name).
result<statement> batch_statement(const write_batch& b);

/// Reading one record; NONE (null) if it does not exist.
statement get_statement(record_kind k, const std::string& key);

/// A page and the total count, in two statements; errc::invalid for a field
/// that cannot be filtered on.
result<statement> query_statement(const record_query& q);

/// The dependants of a task (graph query over depends_on).
statement dependants_statement(const std::string& task_id);

/// Up to `limit` records with key > after, in key order.
statement scan_statement(record_kind k, const std::string& after, uint32_t limit);

statement count_statement(record_kind k);

/// Extends `worker`'s leases; returns the task ids renewed.
statement renew_statement(const std::string& worker, const std::vector<std::string>& ids,
                          micros until);

/// Task events as they are written, by any process.
std::string live_events_statement();

/// A stored document back to the orchestrator's record JSON: tasks, events,
/// audit records and metrics get their `id` from the projection already;
/// the text is canonical (sorted keys).
record to_record(record_kind k, const json& doc);

} // namespace orch::surreal
