#include "backends/surrealdb/surreal_queue_layout.hpp"

#include "runtime/core/codec.hpp"

namespace orch::surreal {

namespace {

/// The old rows of entry $k<n>, read before it is overwritten or removed.
std::string drop_old_rows(const std::string& n) {
  return "LET $qo" + n + " = (SELECT _ready, _delayed FROM ONLY type::record('task_queue', $k" + n
         + "));\nIF $qo" + n + "._ready { DELETE $qo" + n + "._ready RETURN NONE };\nIF $qo" + n
         + "._delayed { DELETE $qo" + n + "._delayed RETURN NONE };\n";
}

/// The labels object at `expr`, or NONE when there are none (an order row
/// without labels is claimable by every node).
std::string labels_or_none(const std::string& expr) {
  return "IF object::len(" + expr + " ?? {}) > 0 { " + expr + " } ELSE { NONE }";
}

/// Which order rows a claim offering `labels` may take: those without
/// labels, and those whose every label the offer has.
std::string claimable_rows(const claim_request& req) {
  if (req.labels.empty())
    return "labels = NONE";
  return "labels = NONE OR object::entries(labels).all(|$e| $offer[$e[0]] = $e[1])";
}

} // namespace

std::string queue_layout_schema() {
  // The claim index of the first layout is no longer read; keeping it would
  // only cost every write.
  return R"(DEFINE TABLE IF NOT EXISTS queue_ready SCHEMALESS;
DEFINE TABLE IF NOT EXISTS queue_delayed SCHEMALESS;
DEFINE TABLE IF NOT EXISTS orch_meta SCHEMALESS;
REMOVE INDEX IF EXISTS task_queue_claim ON TABLE task_queue;)";
}

std::string queue_put_text(const std::string& n) {
  auto k = "$k" + n, d = "$d" + n, r = "$qr" + n, w = "$qd" + n, l = "$ql" + n;
  // Times are RFC 3339 text in the record; the order rows hold microseconds
  // so that they sort as numbers. The order rows carry the entry's node
  // labels (none: the field is left out), so a claim filters on them there.
  return drop_old_rows(n) + "LET " + r + " = type::record('queue_ready', [-(" + d
         + ".priority ?? 0), time::micros(<datetime> (" + d
         + ".enqueued_at ?? '1970-01-01T00:00:00Z')), " + k + "]);\nLET " + l + " = "
         + labels_or_none(d + ".node_labels") + ";\nLET " + w + " = IF (" + d
         + ".claimed_by ?? '') = '' AND " + d + ".not_before != NULL AND " + d
         + ".not_before != NONE { type::record('queue_delayed', [time::micros(<datetime> " + d
         + ".not_before), " + k + "]) } ELSE { NONE };\nUPSERT type::record('task_queue', " + k
         + ") CONTENT object::extend(" + d + ", { _ready: " + r + ", _delayed: " + w
         + " }) RETURN NONE;\nIF " + w + " { UPSERT " + w + " CONTENT { ready: " + r
         + ", task_id: " + k + ", labels: " + l + " } RETURN NONE } ELSE IF (" + d
         + ".claimed_by ?? '') = '' { UPSERT " + r + " CONTENT { task_id: " + k + ", labels: " + l
         + " } RETURN NONE };\n";
}

std::string queue_remove_text(const std::string& n) {
  return drop_old_rows(n) + "DELETE type::record('task_queue', $k" + n + ") RETURN NONE;\n";
}

statement queue_layout_upgrade_statement() {
  return {"BEGIN TRANSACTION;\nIF !record::exists(orch_meta:queue_layout) {\n"
          "LET $old = (SELECT * OMIT id FROM task_queue WHERE _ready = NONE);\nFOR $e IN $old {\n"
          "LET $ku = $e.task_id;\nLET $du = $e;\n"
            + queue_put_text("u")
            + "};\nUPSERT orch_meta:queue_layout CONTENT { version: 2 } RETURN NONE;\n};\n"
              "COMMIT TRANSACTION;",
          json::object()};
}

statement claim_statement(const claim_request& req) {
  // FOR over a sub-SELECT that finds nothing fails in 3.0.2 ("Cannot execute
  // statement using value: NONE"); over a LET variable it does not.
  // One transaction: two claimers that read the same first rows conflict at
  // commit, and the loser is retried (surreal_storage.cpp), so an entry is
  // claimed once. The UPDATE's own WHERE is a second guard: an order row
  // whose entry is claimed or gone is dropped, not handed out.
  return {"BEGIN TRANSACTION;\n"
          "LET $due = (SELECT id, ready, task_id, labels FROM queue_delayed:[NONE]..[$nowus, NONE] LIMIT 100);\n"
          "FOR $x IN $due {\n"
          "UPSERT $x.ready CONTENT { task_id: $x.task_id, labels: $x.labels } RETURN NONE;\n"
          "UPDATE type::record('task_queue', $x.task_id) SET _delayed = NONE RETURN NONE;\n"
          "DELETE $x.id RETURN NONE;\n};\n"
          "LET $picked = (SELECT id, task_id FROM queue_ready WHERE " + claimable_rows(req)
            + " LIMIT $n);\n"
          "DELETE $picked.id RETURN NONE;\n"
          "LET $got = (SELECT * OMIT id" + std::string{queue_hidden_fields}
            + " FROM (UPDATE $picked.map(|$p| type::record('task_queue', $p.task_id)) SET "
              "claimed_by = $me, lease_until = $until WHERE claimed_by = '' RETURN AFTER));\n"
              "LET $next = (SELECT VALUE record::id(id)[0] FROM queue_delayed LIMIT 1);\n"
              // The claimed entries' tasks in the same round trip: the start
              // of each needs the task as it is now.
              "LET $tasks = (SELECT *, record::id(id) AS id FROM $got.map(|$g| "
              "type::record('tasks', $g.task_id)));\n"
              "COMMIT TRANSACTION;\nRETURN { got: $got, next: $next, tasks: $tasks };",
          json{{"nowus", req.now},
               {"me", req.worker},
               {"until", format_rfc3339(req.now + req.lease)},
               {"n", req.limit},
               {"offer", req.labels}}};
}

statement release_statement(const std::string& task_id, const std::string& worker) {
  return {"BEGIN TRANSACTION;\nLET $a = (UPDATE type::record('task_queue', $key) SET claimed_by = "
          "'', lease_until = NULL WHERE claimed_by = $me RETURN AFTER);\nIF $a[0]._ready { UPSERT "
          "$a[0]._ready CONTENT { task_id: $key, labels: " + labels_or_none("$a[0].node_labels")
            + " } RETURN NONE };\nCOMMIT TRANSACTION;",
          json{{"key", task_id}, {"me", worker}}};
}

} // namespace orch::surreal
