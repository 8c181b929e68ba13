#include "backends/surrealdb/surreal_queries.hpp"

#include "backends/surrealdb/surreal_queue_layout.hpp"
#include "backends/surrealdb/surreal_search.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <map>
#include <optional>
#include <type_traits>

#include "runtime/core/codec.hpp"
#include "runtime/core/schema.hpp"

namespace orch::surreal {

namespace {

enum class ftype { string, array, scalar };

/// How a field compares in a filter, from its place in the schema: text
/// (strings, times, statuses), an array (contains), or a scalar compared as
/// text. Objects (env, labels) are not filterable.
template <class C, class V>
std::optional<ftype> filter_type(const schema::value_field<C, V>&) {
  if constexpr (std::is_same_v<V, std::string>)
    return ftype::string;
  else if constexpr (std::is_same_v<V, std::vector<std::string>>)
    return ftype::array;
  else if constexpr (std::is_same_v<V, std::map<std::string, std::string>>)
    return std::nullopt;
  else
    return ftype::scalar;
}
template <class C>
std::optional<ftype> filter_type(const schema::json_field<C>&) {
  return std::nullopt;
}
template <class D>
std::optional<ftype> filter_type(const D& d) {
  if constexpr (requires { d.present; })
    return ftype::scalar;
  else
    return ftype::string;
}

struct kind_info {
  std::string table;
  std::string time_field;
  std::string key_field;                     // the ORDER BY tie-break column
  bool id_field;                             // the record JSON has an `id` = its key
  std::map<std::string, ftype> fields;       // filterable fields
};

template <class T>
kind_info info_of() {
  using of = schema::of<T>;
  kind_info k{to_string(of::kind), std::string{schema::time_field_name<T>()},
              std::string{of::key_name}, of::key_name == "id", {}};
  schema::for_each_field<T>([&](const auto& d) {
    if (auto t = filter_type(d))
      k.fields.emplace(std::string{d.name}, *t);
  });
  return k;
}

const kind_info& info(record_kind k) {
  static const std::array<kind_info, all_record_kinds.size()> all = [] {
    std::array<kind_info, all_record_kinds.size()> out;
    for (auto kind : all_record_kinds)
      out[static_cast<size_t>(kind)] =
        schema::visit_kind(kind, [](auto tag) { return info_of<typename decltype(tag)::type>(); });
    return out;
  }();
  return all[static_cast<size_t>(k)];
}

/// The projection that turns a stored document back into the record JSON.
std::string projection(record_kind k) {
  if (k == record_kind::queue)
    return std::string{"* OMIT id"} + queue_hidden_fields;
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
  return "type::record('" + info(k).table + "', $" + var + ")";
}

std::string time_text(micros t) {
  return t == 0 ? std::string{} : format_rfc3339(t);
}

} // namespace

const char* table_of(record_kind k) {
  return to_string(k);
}

int failed_precondition(std::string_view message) {
  auto p = message.find(precondition_marker);
  if (p == std::string_view::npos)
    return -1;
  int n = 0;
  auto digits = message.substr(p + precondition_marker.size());
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  return ec == std::errc{} && end != digits.data() ? n : -1;
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
DEFINE TABLE IF NOT EXISTS schedules SCHEMALESS;
DEFINE TABLE IF NOT EXISTS workflows SCHEMALESS;
DEFINE TABLE IF NOT EXISTS depends_on TYPE RELATION IN tasks OUT tasks SCHEMALESS;
DEFINE INDEX IF NOT EXISTS tasks_status_created ON TABLE tasks FIELDS status, created_at;
DEFINE INDEX IF NOT EXISTS tasks_created ON TABLE tasks FIELDS created_at;
DEFINE INDEX IF NOT EXISTS task_queue_lease ON TABLE task_queue FIELDS lease_until;
DEFINE INDEX IF NOT EXISTS task_events_task_time ON TABLE task_events FIELDS task_id, time;
DEFINE INDEX IF NOT EXISTS task_events_time ON TABLE task_events FIELDS time;
DEFINE INDEX IF NOT EXISTS audit_log_time ON TABLE audit_log FIELDS time;
DEFINE INDEX IF NOT EXISTS audit_log_target_time ON TABLE audit_log FIELDS target, time;
DEFINE INDEX IF NOT EXISTS metrics_time ON TABLE metrics FIELDS time;
DEFINE INDEX IF NOT EXISTS depends_on_out ON TABLE depends_on FIELDS out;
)" + queue_layout_schema();
}

namespace {

// A batch is a few statements over arrays, not statements per record:
// SurrealDB 3.0.2 copies the variables in scope into every block (an IF's,
// a FOR's, a closure's), so with variables per record a batch of N records
// cost O(N^2) (2,000 IF checks 3 s on RocksDB; as arrays 0.3 s, linear).

/// The preconditions of one check on one table (absent, present), or of one
/// field on one table (field_in), with their numbers in the batch.
struct check_group {
  precondition::check_type check;
  record_kind kind;
  std::string field;
  json items = json::array();  // absent/present: keys; field_in: {n, key, values}
  json numbers = json::array();
};

std::string group_text(const check_group& g, const std::string& n) {
  auto table = "type::record('" + info(g.kind).table + "', ";
  auto bad = "$pb" + n, items = "$pi" + n;
  std::string text;
  if (g.check == precondition::field_in) {
    // Compared as text, null as "" (field_text() semantics).
    text = "LET " + bad + " = " + items + ".filter(|$p| !record::exists(" + table + "$p.key)) OR "
           + "<string> (" + table + "$p.key)." + g.field + " ?? '') NOT IN $p.values);\n";
    return text + "IF array::len(" + bad + ") > 0 { THROW '" + std::string{precondition_marker}
           + "' + <string> " + bad + "[0].n + ':' };\n";
  }
  auto negate = g.check == precondition::present ? "!" : "";
  text = "LET " + bad + " = " + items + ".filter(|$k| " + negate + "record::exists(" + table
         + "$k)));\n";
  return text + "IF array::len(" + bad + ") > 0 { THROW '" + std::string{precondition_marker}
         + "' + <string> $pn" + n + "[array::find_index(" + items + ", " + bad + "[0])] + ':' };\n";
}

/// The checks, grouped, adding the variables they use to `vars`; or why a
/// key or field name is refused.
result<std::string> checks_text(const std::vector<precondition>& expect, json& vars) {
  std::vector<check_group> groups;
  for (size_t i = 0; i < expect.size(); ++i) {
    auto& p = expect[i];
    if (!is_valid_key(p.kind, p.key))
      return status{errc::invalid, "'" + p.key + "' is not a valid key for " + to_string(p.kind)};
    if (p.check == precondition::field_in && !valid_field_name(p.field))
      return status{errc::invalid, "'" + p.field + "' is not a valid field name"};
    auto field = p.check == precondition::field_in ? p.field : std::string{};
    auto g = std::find_if(groups.begin(), groups.end(), [&](const check_group& x) {
      return x.check == p.check && x.kind == p.kind && x.field == field;
    });
    if (g == groups.end())
      g = groups.insert(groups.end(), check_group{p.check, p.kind, field});
    if (p.check == precondition::field_in)
      g->items.push_back({{"n", i}, {"key", p.key}, {"values", p.values}});
    else
      g->items.push_back(p.key);
    g->numbers.push_back(i);
  }
  std::string text;
  for (size_t j = 0; j < groups.size(); ++j) {
    auto n = std::to_string(j);
    vars["pi" + n] = std::move(groups[j].items);
    if (groups[j].check != precondition::field_in)
      vars["pn" + n] = std::move(groups[j].numbers);
    text += group_text(groups[j], n);
  }
  return text;
}

/// Dependencies are graph edges; RELATE is not idempotent, so a task's are
/// replaced only when its list changed (compared before the UPSERTs that
/// store the new lists). $tedges: {key, deps} of each task the batch puts.
std::string edges_text() {
  return "LET $te = $tedges.filter(|$o| (type::record('tasks', $o.key).dependencies ?? []) != "
         "$o.deps);\n"
         "DELETE array::flatten($te.map(|$o| type::record('tasks', $o.key)->depends_on)) "
         "RETURN NONE;\n"
         "INSERT RELATION INTO depends_on array::flatten($te.map(|$o| "
         "array::distinct($o.deps).map(|$d| { in: type::record('tasks', $o.key), out: "
         "type::record('tasks', $d) }))) RETURN NONE;\n";
}

} // namespace

result<statement> batch_statement(const write_batch& b) {
  statement s;
  auto checks = checks_text(b.expect, s.vars);
  if (!checks)
    return checks.error();
  // The records travel as two arrays walked by FOR, not as variables of
  // their own: every block (an IF's, a closure's) copies the variables in
  // scope, so N records as 2N variables made the queue's IFs and the edges'
  // closures O(N) each (measured on 3.0.2: 500 IFs 24 ms beside 10
  // variables, 689 ms beside 6,000).
  json queue_ops = json::array(), record_ops = json::array(), task_edges = json::array();
  for (auto& o : b.ops) {
    auto& op = o.rec;
    if (!is_valid_key(op.kind, op.key)) {
      return status{errc::invalid, "'" + op.key + "' is not a valid key for " + to_string(op.kind)};
    }
    json item{{"k", op.key}};
    if (o.op == record_op::remove) {
      item["rm"] = true;
    } else {
      auto doc = json::parse(op.json, nullptr, false);
      if (!doc.is_object()) {
        return status{errc::invalid,
                      std::string{to_string(op.kind)} + " record " + op.key + " is not a JSON object"};
      }
      if (op.kind == record_kind::task) {
        auto deps = doc.value("dependencies", json::array());
        task_edges.push_back({{"key", op.key}, {"deps", deps.is_array() ? deps : json::array()}});
      }
      item["d"] = std::move(doc);
    }
    if (op.kind == record_kind::queue) {
      queue_ops.push_back(std::move(item));
    } else {
      item["t"] = info(op.kind).table;
      record_ops.push_back(std::move(item));
    }
  }
  std::string text = "BEGIN TRANSACTION;\n" + *checks;
  if (!queue_ops.empty()) {
    // First: nothing else in the batch touches the queue's tables.
    s.vars["qops"] = std::move(queue_ops);
    text += "FOR $q IN $qops {\nLET $kq = $q.k;\nLET $dq = $q.d;\nIF $q.rm {\n"
            + queue_remove_text("q") + "} ELSE {\n" + queue_put_text("q") + "};\n};\n";
  }
  if (!task_edges.empty()) {
    s.vars["tedges"] = std::move(task_edges);
    text += edges_text();
  }
  if (!record_ops.empty()) {
    // In the batch's order. Deleting a task also removes its depends_on
    // edges (both directions).
    s.vars["rops"] = std::move(record_ops);
    text += "FOR $r IN $rops {\nIF $r.rm { DELETE type::record($r.t, $r.k) RETURN NONE }\n"
            "ELSE { UPSERT type::record($r.t, $r.k) CONTENT $r.d RETURN NONE };\n};\n";
  }
  s.text = std::move(text) + "COMMIT TRANSACTION;";
  // About five times what a record takes on a 2-core machine (0.2 ms).
  s.allowance = std::chrono::milliseconds(b.ops.size());
  return s;
}

statement get_statement(record_kind k, const std::string& key) {
  return {"SELECT " + projection(k) + " FROM ONLY " + rec(k, "key"), json{{"key", key}}};
}

result<statement> query_statement(const record_query& query) {
  auto q = query;
  auto search = apply_search(q);
  if (!search)
    return search.error();
  auto& ki = info(q.kind);
  statement s;
  std::vector<std::string> where;
  add_search_conditions(*search, where, s.vars);
  if (!q.field.empty()) {
    auto f = ki.fields.find(q.field);
    if (f == ki.fields.end()) {
      return status{errc::invalid, "records of " + ki.table + " cannot be filtered by '" + q.field + "'"};
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
  auto& tf = ki.time_field;
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
  if (auto i = doc.find(ki.key_field); i != doc.end() && i->is_string())
    r.key = i->get<std::string>();
  r.json = canonical(doc);
  return r;
}

} // namespace orch::surreal
