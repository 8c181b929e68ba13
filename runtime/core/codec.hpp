// JSON for every record kind: one canonical form, shared by the REST API and
// every backend, so that migration is lossless. Decoders report what is wrong
// in words a user can act on ("field 'priority' must be an integer, got string").
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "runtime/core/records.hpp"
#include "runtime/core/task.hpp"

namespace orch {

using json = nlohmann::json;

json to_json(const task& x);
json to_json(const queue_entry& x);
json to_json(const task_event& x);
json to_json(const audit_record& x);
json to_json(const metric_sample& x);
json to_json(const user& x);

/// Decoders for stored records: every field checked for its type, missing
/// fields take their defaults. On failure `err` says which field and why.
bool from_json(const json& j, task& x, std::string& err);
bool from_json(const json& j, queue_entry& x, std::string& err);
bool from_json(const json& j, task_event& x, std::string& err);
bool from_json(const json& j, audit_record& x, std::string& err);
bool from_json(const json& j, metric_sample& x, std::string& err);
bool from_json(const json& j, user& x, std::string& err);

/// Strict decoder for `POST /tasks`: unknown fields, fields the orchestrator
/// owns (status, attempts, ...), wrong types, out-of-range values and a
/// missing command are all rejected with a message naming the field.
bool parse_submission(const json& j, task& x, std::string& err);

/// Canonical text: sorted keys, no whitespace.
std::string canonical(const json& j);

/// Key of a record: task id, queue entry's task id, username, event/audit/metric id.
record to_record(const task& x);
record to_record(const queue_entry& x);
record to_record(const task_event& x);
record to_record(const audit_record& x);
record to_record(const metric_sample& x);
record to_record(const user& x);

/// Parse a stored record's JSON into the struct; false (with `err`) if the
/// text is not JSON or does not decode.
template <class T>
bool decode_record(const std::string& text, T& out, std::string& err);

/// Decodes a record of any kind to check it; on success `key` is the key the
/// record names itself by (id, task_id or username).
bool check_record(record_kind kind, const json& j, std::string& key, std::string& err);

/// Field of a record's JSON, as text for precondition and filter matching:
/// strings as-is, numbers and booleans printed, null/missing as "".
std::string field_text(const json& j, const std::string& field);

/// The time field of a record kind (see record_query), in microseconds; 0 if unset.
micros record_time(record_kind kind, const json& j);

/// Does the record match a query's field/value and time filters?
bool matches(const record_query& q, const json& j);

} // namespace orch
