#include "backends/surrealdb/surreal_queries.hpp"

#include <map>

#include "runtime/core/codec.hpp"

namespace orch::surreal {

namespace {

enum class ftype { string, array, scalar };

struct kind_info {
  const char* table;
  const char* time_field;
  const char* key_field;                     // the ORDER BY tie-break column
  bool id_field;                             // the record JSON has an `id` = its key
  std::map<std::string, ftype> fields;       // filterable fields
};

const kind_info& info(record_kind k) {
  static const kind_info task{
    "tasks", "created_at", "id", true,
    {{"id", ftype::string}, {"name", ftype::string}, {"command", ftype::string},
     {"workdir", ftype::string}, {"script", ftype::string}, {"script_file", ftype::string},
     {"status", ftype::string}, {"created_at", ftype::string}, {"started_at", ftype::string},
     {"completed_at", ftype::string}, {"not_before", ftype::string}, {"output", ftype::string},
     {"stderr", ftype::string}, {"error", ftype::string}, {"owner", ftype::string},
     {"args", ftype::array}, {"dependencies", ftype::array}, {"priority", ftype::scalar},
     {"attempts", ftype::scalar}, {"max_retries", ftype::scalar}, {"timeout_s", ftype::scalar},
     {"exit_code", ftype::scalar}, {"revision", ftype::scalar}}};
  static const kind_info queue{
    "task_queue", "lease_until", "task_id", false,
    {{"task_id", ftype::string}, {"enqueued_at", ftype::string}, {"not_before", ftype::string},
     {"claimed_by", ftype::string}, {"lease_until", ftype::string}, {"priority", ftype::scalar},
     {"attempt", ftype::scalar}}};
  static const kind_info users{
    "users", "created_at", "username", false,
    {{"username", ftype::string}, {"password_hash", ftype::string},
     {"created_at", ftype::string}, {"roles", ftype::array}, {"disabled", ftype::scalar}}};
  static const kind_info audit{
    "audit_log", "time", "id", true,
    {{"id", ftype::string}, {"time", ftype::string}, {"principal", ftype::string},
     {"action", ftype::string}, {"target", ftype::string}, {"outcome", ftype::string},
     {"details", ftype::string}}};
  static const kind_info metrics{
    "metrics", "time", "id", true,
    {{"id", ftype::string}, {"time", ftype::string}, {"name", ftype::string},
     {"value", ftype::scalar}}};
  static const kind_info events{
    "task_events", "time", "id", true,
    {{"id", ftype::string}, {"time", ftype::string}, {"task_id", ftype::string},
     {"kind", ftype::string}, {"status", ftype::string}, {"details", ftype::string},
     {"attempt", ftype::scalar}}};
  switch (k) {
    case record_kind::task: return task;
    case record_kind::queue: return queue;
    case record_kind::user: return users;
    case record_kind::audit: return audit;
    case record_kind::metric: return metrics;
    case record_kind::event: return events;
  }
  return task;
}

/// The projection that turns a stored document back into the record JSON.
std::string projection(record_kind k) {
  return info(k).id_field ? "*, record::id(id) AS id" : "* OMIT id";
}

bool valid_field_name(const std::string& f) {
  if (f.empty() || f.size() > 64)
    return false;
  for (char c : f)
    if (!((c >= 'a' && c <= 'z') || c == '_'))
      return false;
  return true;
}

std::string rec(record_kind k, const std::string& var) {
  return std::string{"type::record('"} + info(k).table + "', $" + var + ")";
}

std::string time_text(micros t) {
  return t == 0 ? std::string{} : format_rfc3339(t);
}

} // namespace

const char* table_of(record_kind k) {
  return info(k).table;
}

std::string schema_ns_db(const std::string& ns, const std::string& db) {
  // Names are validated (A-Z a-z 0-9 _ -) before they get here; DEFINE takes
  // no parameters, so they are quoted as identifiers.
  return "DEFINE NAMESPACE IF NOT EXISTS `" + ns + "`; USE NS `" + ns
         + "`; DEFINE DATABASE IF NOT EXISTS `" + db + "`;";
}

std::string schema_tables() {
  return R"(DEFINE TABLE IF NOT EXISTS tasks SCHEMALESS;
DEFINE TABLE IF NOT EXISTS task_queue SCHEMALESS;
DEFINE TABLE IF NOT EXISTS users SCHEMALESS;
DEFINE TABLE IF NOT EXISTS audit_log SCHEMALESS;
DEFINE TABLE IF NOT EXISTS metrics SCHEMALESS;
DEFINE TABLE IF NOT EXISTS task_events SCHEMALESS;
DEFINE TABLE IF NOT EXISTS depends_on TYPE RELATION IN tasks OUT tasks SCHEMALESS;
DEFINE INDEX IF NOT EXISTS tasks_status_created ON TABLE tasks FIELDS status, created_at;
DEFINE INDEX IF NOT EXISTS tasks_created ON TABLE tasks FIELDS created_at;
DEFINE INDEX IF NOT EXISTS task_queue_claim ON TABLE task_queue FIELDS claimed_by, priority, enqueued_at;
DEFINE INDEX IF NOT EXISTS task_queue_lease ON TABLE task_queue FIELDS lease_until;
DEFINE INDEX IF NOT EXISTS task_events_task_time ON TABLE task_events FIELDS task_id, time;
DEFINE INDEX IF NOT EXISTS task_events_time ON TABLE task_events FIELDS time;
DEFINE INDEX IF NOT EXISTS audit_log_time ON TABLE audit_log FIELDS time;
DEFINE INDEX IF NOT EXISTS metrics_time ON TABLE metrics FIELDS time;
DEFINE INDEX IF NOT EXISTS depends_on_out ON TABLE depends_on FIELDS out;)";
}

statement batch_statement(const write_batch& b, std::string& error) {
  statement s;
  std::string text = "BEGIN TRANSACTION;\n";
  for (size_t i = 0; i < b.expect.size(); ++i) {
    auto& p = b.expect[i];
    if (!is_valid_key(p.kind, p.key)) {
      error = "'" + p.key + "' is not a valid key for " + to_string(p.kind);
      return {};
    }
    auto n = std::to_string(i);
    auto tb = std::string{info(p.kind).table};
    auto r = rec(p.kind, "pk" + n);
    s.vars["pk" + n] = p.key;
    switch (p.check) {
      case precondition::absent:
        text += "IF record::exists(" + r + ") { THROW 'orch-precondition:" + n + ":' };\n";
        break;
      case precondition::present:
        text += "IF !record::exists(" + r + ") { THROW 'orch-precondition:" + n + ":' };\n";
        break;
      case precondition::field_in:
        if (!valid_field_name(p.field)) {
          error = "'" + p.field + "' is not a valid field name";
          return {};
        }
        s.vars["pv" + n] = p.values;
        // Compared as text, null as "" (field_text() semantics).
        text += "IF !record::exists(" + r + ") OR <string> (" + r + "." + p.field
                + " ?? '') NOT IN $pv" + n + " { THROW 'orch-precondition:" + n + ":' };\n";
        break;
    }
  }
  for (size_t j = 0; j < b.ops.size(); ++j) {
    auto& op = b.ops[j].rec;
    if (!is_valid_key(op.kind, op.key)) {
      error = "'" + op.key + "' is not a valid key for " + to_string(op.kind);
      return {};
    }
    auto n = std::to_string(j);
    auto r = rec(op.kind, "k" + n);
    s.vars["k" + n] = op.key;
    if (b.ops[j].op == record_op::remove) {
      // Deleting a task also removes its depends_on edges (both directions).
      text += "DELETE " + r + " RETURN NONE;\n";
      continue;
    }
    auto doc = json::parse(op.json, nullptr, false);
    if (!doc.is_object()) {
      error = std::string{to_string(op.kind)} + " record " + op.key + " is not a JSON object";
      return {};
    }
    s.vars["d" + n] = std::move(doc);
    if (op.kind == record_kind::task) {
      // Dependencies are graph edges; RELATE is not idempotent, so they are
      // replaced only when the list changed.
      text += "IF (" + r + ".dependencies ?? []) != ($d" + n + ".dependencies ?? []) {\n  DELETE " + r
              + "->depends_on RETURN NONE;\n  RELATE (" + r
              + ")->depends_on->(array::distinct($d" + n
              + ".dependencies ?? []).map(|$x| type::record('tasks', $x))) RETURN NONE;\n};\n";
    }
    text += "UPSERT " + r + " CONTENT $d" + n + " RETURN NONE;\n";
  }
  text += "COMMIT TRANSACTION;";
  s.text = std::move(text);
  return s;
}

statement get_statement(record_kind k, const std::string& key) {
  return {"SELECT " + projection(k) + " FROM ONLY " + rec(k, "key"), json{{"key", key}}};
}

statement query_statement(const record_query& q, std::string& error) {
  auto& ki = info(q.kind);
  statement s;
  std::vector<std::string> where;
  if (!q.field.empty()) {
    auto f = ki.fields.find(q.field);
    if (f == ki.fields.end()) {
      error = "records of " + std::string{ki.table} + " cannot be filtered by '" + q.field + "'";
      return {};
    }
    auto value = q.value;
    task_status st;
    if (q.kind == record_kind::task && q.field == "status" && parse_status(value, st))
      value = to_string(st);
    s.vars["match"] = value;
    switch (f->second) {
      case ftype::string: where.push_back(q.field + " = $match"); break;
      case ftype::array: where.push_back(q.field + " CONTAINS $match"); break;
      case ftype::scalar: where.push_back("<string> " + q.field + " = $match"); break;
    }
  }
  std::string tf = ki.time_field;
  if (q.since != 0 || q.until != 0) {
    // NULL sorts before every string: `>= ''` keeps unset times out.
    s.vars["since"] = time_text(q.since);
    where.push_back(tf + " >= $since");
    if (q.until != 0) {
      s.vars["until"] = time_text(q.until);
      where.push_back(tf + " < $until");
    }
  }
  std::string cond;
  for (size_t i = 0; i < where.size(); ++i)
    cond += (i == 0 ? " WHERE " : " AND ") + where[i];
  auto dir = q.newest_first ? "DESC" : "ASC";
  s.vars["limit"] = q.limit;
  s.vars["start"] = q.offset;
  s.text = "SELECT " + projection(q.kind) + " FROM " + ki.table + cond + " ORDER BY " + tf + " "
           + dir + ", " + ki.key_field + " " + dir + " LIMIT $limit START $start;\nSELECT count() FROM "
           + ki.table + cond + " GROUP ALL;";
  return s;
}

statement dependants_statement(const std::string& task_id) {
  return {"SELECT *, record::id(id) AS id FROM type::record('tasks', $key)<-depends_on<-tasks",
          json{{"key", task_id}}};
}

statement scan_statement(record_kind k, const std::string& after, uint32_t limit) {
  auto& ki = info(k);
  statement s;
  s.vars["limit"] = limit;
  // type::record(tb, '') is an error, so the first batch has its own text.
  if (after.empty()) {
    s.text = "SELECT " + projection(k) + " FROM " + ki.table + " ORDER BY id ASC LIMIT $limit";
  } else {
    s.vars["cursor"] = after;
    s.text = "SELECT " + projection(k) + " FROM " + ki.table + " WHERE id > " + rec(k, "cursor")
             + " ORDER BY id ASC LIMIT $limit";
  }
  return s;
}

statement count_statement(record_kind k) {
  return {std::string{"SELECT count() FROM "} + info(k).table + " GROUP ALL", json::object()};
}

statement claim_statement(const claim_request& req) {
  // One statement is one transaction: the sub-select picks, the UPDATE's own
  // WHERE re-checks, so two claimers never both get an entry.
  return {"SELECT * OMIT id FROM (UPDATE (SELECT id, priority, enqueued_at, task_id FROM task_queue "
          "WHERE claimed_by = '' AND (not_before = NULL OR not_before <= $now) ORDER BY priority "
          "DESC, enqueued_at ASC, task_id ASC LIMIT $n).id SET claimed_by = $me, lease_until = "
          "$until WHERE claimed_by = '' RETURN AFTER);\n"
          "SELECT not_before FROM task_queue WHERE claimed_by = '' AND not_before > $now ORDER BY "
          "not_before ASC LIMIT 1;",
          json{{"now", format_rfc3339(req.now)},
               {"me", req.worker},
               {"until", format_rfc3339(req.now + req.lease)},
               {"n", req.limit}}};
}

statement tasks_statement(const std::vector<std::string>& ids) {
  return {"SELECT *, record::id(id) AS id FROM $keys.map(|$k| type::record('tasks', $k))",
          json{{"keys", ids}}};
}

statement release_statement(const std::string& task_id, const std::string& worker) {
  return {"UPDATE type::record('task_queue', $key) SET claimed_by = '', lease_until = NULL WHERE "
          "claimed_by = $me RETURN NONE",
          json{{"key", task_id}, {"me", worker}}};
}

statement renew_statement(const std::string& worker, const std::vector<std::string>& ids,
                          micros until) {
  return {"SELECT VALUE task_id FROM (UPDATE $keys.map(|$k| type::record('task_queue', $k)) SET "
          "lease_until = $until WHERE claimed_by = $me RETURN AFTER)",
          json{{"keys", ids}, {"me", worker}, {"until", format_rfc3339(until)}}};
}

std::string live_events_statement() {
  return "LIVE SELECT *, record::id(id) AS id FROM task_events";
}

record to_record(record_kind k, const json& doc) {
  record r;
  r.kind = k;
  auto& ki = info(k);
  std::string key_field = ki.id_field ? "id" : k == record_kind::queue ? "task_id" : "username";
  if (auto i = doc.find(key_field); i != doc.end() && i->is_string())
    r.key = i->get<std::string>();
  r.json = canonical(doc);
  return r;
}

} // namespace orch::surreal
