// The server backend's queue layout (backends/surrealdb/surreal_queue_layout.hpp)
// as stored on the real SurrealDB engine: every write keeps the order rows in
// step with the entries, a claim takes the first rows and removes them, a
// delayed entry waits in its own table until due, and a database written by
// the first layout (entries without order rows) is given them at start-up.
#include <catch2/catch.hpp>

#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/core/transitions.hpp"
#include "runtime/messages/actor_env.hpp"
#include "backends/storage_client.hpp"
#include "tests/support/batches.hpp"
#include "tests/support/open.hpp"
#include "tests/support/surreal_server.hpp"

using namespace orch;
using namespace orch::test;
using nlohmann::json;

namespace {

struct server_db {
  surreal_server& server = surreal_server::shared();
  std::string db = unique_name("queue");

  storage_settings settings() const {
    storage_settings s;
    s.type = "surrealdb-server";
    s.surrealdb_url = server.url();
    s.surrealdb_namespace = "test";
    s.surrealdb_database = db;
    s.surrealdb_password = "root";
    return s;
  }
  json query(const std::string& text, json vars = json::object()) const {
    return surreal_query(server.url(), "test", db, text, std::move(vars));
  }
  /// The task ids of a table of order rows, in the table's (key) order.
  std::vector<std::string> rows(const std::string& table) const {
    std::vector<std::string> out;
    auto reply = query("SELECT VALUE task_id FROM " + table);
    INFO(reply.dump());
    for (auto& r : reply[0])
      out.push_back(r.get<std::string>());
    return out;
  }
};

struct entry_spec {
  int priority;
  micros enqueued;
  micros not_before = 0;
};

/// A queued task and its entry, as records.
std::pair<std::string, std::vector<record>> queued(const entry_spec& s) {
  task t;
  t.id = new_uuid_v4();
  t.command = "true";
  t.status = task_status::queued;
  t.priority = s.priority;
  t.created_at = s.enqueued;
  t.max_retries = 3;  // a recovered attempt is queued again
  queue_entry e{t.id, s.priority, s.enqueued, s.not_before, 0, "", 0, {}};
  return {t.id, {to_record(t), to_record(e)}};
}

} // namespace

TEST_CASE("server queue: order rows follow every write, a claim takes them, a delayed entry "
          "waits apart until due",
          "[server][queue]") {
  server_db d;
  actor_env env;
  storage_client c{env.sys(), open_or_throw(env.sys(), d.settings())};
  auto now = now_us();
  auto [low, r1] = queued({1, now - 50});
  auto [high_old, r2] = queued({9, now - 40});
  auto [high_new, r3] = queued({9, now - 5});
  auto [delayed, r4] = queued({100, now - 70, now + 3600 * us_per_second});
  std::vector<record> all;
  for (auto* rs : {&r1, &r2, &r3, &r4})
    all.insert(all.end(), rs->begin(), rs->end());
  REQUIRE(c.commit(puts(all)).ok());

  // Ready rows in claim order; the delayed entry only in queue_delayed.
  CHECK(d.rows("queue_ready") == std::vector<std::string>{high_old, high_new, low});
  CHECK(d.rows("queue_delayed") == std::vector<std::string>{delayed});
  // The stored entry reads back as the same record JSON as on every backend.
  auto stored = c.get(record_kind::queue, low);
  REQUIRE(stored.ok());
  CHECK(stored.value().json == r1[1].json);

  // A changed priority moves the row (the old one does not linger).
  queue_entry moved{low, 10, now - 50, 0, 0, "", 0, {}};
  REQUIRE(c.commit(puts({to_record(moved)})).ok());
  CHECK(d.rows("queue_ready") == std::vector<std::string>{low, high_old, high_new});

  // A claim takes the first rows and removes them; the entries are claimed.
  auto got = c.claim({"w1", now_us(), 30 * us_per_second, 2, "", {}});
  REQUIRE(got.ok());
  REQUIRE(got.value().tasks.size() == 2);
  CHECK(got.value().tasks[0].claimed.id == low);
  CHECK(got.value().tasks[1].claimed.id == high_old);
  CHECK(got.value().next_ready == now + 3600 * us_per_second);
  CHECK(d.rows("queue_ready") == std::vector<std::string>{high_new});

  // An expired claim recovered through a batch (claimed_by cleared) is ready
  // again, behind the others: it was enqueued anew.
  auto held = got.value().tasks[1];
  auto t = held.claimed;
  auto tr = recover_transition(t, held.entry, "test", {"test", now_us()}, true);
  REQUIRE(c.commit(tr.batch).ok());
  CHECK(d.rows("queue_ready") == std::vector<std::string>{high_new, high_old});

  // Removing an entry removes its row.
  write_batch rm;
  rm.ops.push_back({record_op::remove, {record_kind::queue, high_new, {}}});
  REQUIRE(c.commit(rm).ok());
  CHECK(d.rows("queue_ready") == std::vector<std::string>{high_old});

  // When its time comes the delayed entry moves to the ready rows, and the
  // claim that moved it may take it at once.
  auto later = c.claim({"w1", now + 3601 * us_per_second, 30 * us_per_second, 5, "", {}});
  REQUIRE(later.ok());
  std::vector<std::string> ids;
  for (auto& x : later.value().tasks)
    ids.push_back(x.claimed.id);
  CHECK(ids == std::vector<std::string>{delayed, high_old});
  CHECK(later.value().next_ready == 0);
  CHECK(d.rows("queue_ready").empty());
  CHECK(d.rows("queue_delayed").empty());
  CHECK(d.query("SELECT count() FROM task_queue WHERE claimed_by = 'w1' GROUP ALL")[0][0]["count"]
        == 3);
}

TEST_CASE("server queue: entries stored by the first layout get their order rows at start-up "
          "and are claimed",
          "[server][queue]") {
  server_db d;
  auto now = now_us();
  auto [first, r1] = queued({5, now - 30});
  auto [second, r2] = queued({5, now - 20});
  auto [waiting, r3] = queued({5, now - 10, now + 3600 * us_per_second});
  {
    // A database as the first layout left it: tables, entries, no order rows.
    actor_env env;
    storage_client c{env.sys(), open_or_throw(env.sys(), d.settings())};
    REQUIRE(c.close().ok());
  }
  d.query("DELETE orch_meta; DELETE queue_ready; DELETE queue_delayed");
  for (auto* rs : {&r1, &r2, &r3})
    for (auto& r : *rs)
      d.query(std::string{"UPSERT type::record($tb, $k) CONTENT $d"},
              {{"tb", r.kind == record_kind::task ? "tasks" : "task_queue"},
               {"k", r.key},
               {"d", json::parse(r.json)}});
  REQUIRE(d.rows("queue_ready").empty());

  actor_env env;
  storage_client c{env.sys(), open_or_throw(env.sys(), d.settings())};
  CHECK(d.rows("queue_ready") == std::vector<std::string>{first, second});
  CHECK(d.rows("queue_delayed") == std::vector<std::string>{waiting});
  CHECK(d.query("SELECT VALUE version FROM ONLY orch_meta:queue_layout")[0] == 2);
  auto got = c.claim({"w1", now_us(), 30 * us_per_second, 5, "", {}});
  REQUIRE(got.ok());
  REQUIRE(got.value().tasks.size() == 2);
  CHECK(got.value().tasks[0].claimed.id == first);
  CHECK(got.value().tasks[1].claimed.id == second);
  // Once built, the layout is not rebuilt: a later start leaves rows alone.
  d.query("DELETE queue_delayed");
  storage_client again{env.sys(), open_or_throw(env.sys(), d.settings())};
  CHECK(d.rows("queue_delayed").empty());
}
