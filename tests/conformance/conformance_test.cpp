// The storage conformance suite: one contract, written once, run against
// every backend (ctest runs it with --backend filesystem, surrealdb-embedded
// and surrealdb-server). Every operation goes through the storage actor, for
// every record kind.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "runtime/core/clock.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/core/transitions.hpp"
#include "backends/recovery.hpp"
#include "backends/open_storage.hpp"
#include "tests/support/batches.hpp"
#include "tests/support/open.hpp"
#include "tests/support/backend_under_test.hpp"

using namespace orch;
using namespace orch::test;

namespace {

constexpr micros base_time = 1'767'225'600'000'000;  // 2026-01-01T00:00:00Z

/// A valid record of `kind`, number `i`, with its time field at `t`.
record make_record(record_kind kind, int i, micros t = base_time) {
  switch (kind) {
    case record_kind::task: {
      task x;
      x.id = new_uuid_v4();
      x.name = "task " + std::to_string(i);
      x.command = "echo";
      x.args = {std::to_string(i)};
      x.priority = i % 7;
      x.status = static_cast<task_status>(i % 6);
      x.created_at = t;
      x.labels = {{"n", std::to_string(i)}};
      return to_record(x);
    }
    case record_kind::queue: {
      queue_entry x;
      x.task_id = new_uuid_v4();
      x.priority = i % 5;
      x.enqueued_at = t;
      return to_record(x);
    }
    case record_kind::user: {
      char name[32];
      std::snprintf(name, sizeof name, "user-%04d", i);
      return to_record(user{name, "$argon2id$" + std::to_string(i), {"viewer"}, t, i % 2 == 0, {}, 0, 0});
    }
    case record_kind::audit:
      return to_record(audit_record{new_uuid_v7(t), t, "api:" + std::to_string(i % 3),
                                    "task.submit", "task:x", "ok", std::to_string(i)});
    case record_kind::metric:
      return to_record(metric_sample{new_uuid_v7(t), t, "m" + std::to_string(i % 2),
                                     {{"i", std::to_string(i)}}, i * 0.5});
    case record_kind::event:
      return to_record(task_event{new_uuid_v7(t), t, "6f1c2c5e-0d4f-4b8a-9a3e-2b1c0d9e8f7a",
                                  "started", "Running", 1, std::to_string(i), ""});
    case record_kind::schedule: {
      schedule x;
      char name[32];
      std::snprintf(name, sizeof name, "nightly-%04d", i);
      x.name = name;
      x.cron = std::to_string(i % 60) + " 2 * * *";
      x.timezone = "Europe/Berlin";
      // A nested object, kept as canonical JSON text: every backend must
      // give it back as it was.
      x.task = R"({"args":["-c","echo )" + std::to_string(i)
               + R"("],"command":"sh","env":{"A":"1"},"priority":3})";
      x.overlap = "skip";
      x.catch_up = "once";
      x.next_firing = t + 3'600'000'000;
      x.created_at = t;
      return to_record(x);
    }
    case record_kind::workflow: {
      workflow x;
      x.id = new_uuid_v4();
      x.name = "workflow " + std::to_string(i);
      x.nodes = R"([{"after":[],"key":"fetch","task_id":")" + new_uuid_v4()
                + R"("},{"after":["fetch"],"key":"build","task_id":")" + new_uuid_v4() + R"("}])";
      x.on_failure = "cancel-dependants";
      x.created_at = t;
      return to_record(x);
    }
  }
  return {};
}

/// The same record with one visible change (for updates).
record changed(const record& r) {
  auto j = json::parse(r.json);
  switch (r.kind) {
    case record_kind::task: j["name"] = "renamed"; break;
    case record_kind::queue: j["priority"] = 42; break;
    case record_kind::user: j["disabled"] = !j["disabled"].get<bool>(); break;
    case record_kind::audit:
    case record_kind::event: j["details"] = "changed"; break;
    case record_kind::metric: j["value"] = 99.5; break;
    case record_kind::schedule: j["task"]["priority"] = 9; break;
    case record_kind::workflow: j["nodes"][1]["after"] = json::array(); break;
  }
  return {r.kind, r.key, canonical(j)};
}

write_batch removal(record_kind kind, const std::string& key) {
  write_batch b;
  b.ops.push_back({record_op::remove, {kind, key, {}}});
  return b;
}

/// Records compare by their JSON value (backends may store other bytes).
json value_of(const std::string& text) {
  return json::parse(text);
}

std::vector<std::string> scan_all_keys(storage_client& db, record_kind kind, uint32_t batch) {
  std::vector<std::string> keys;
  std::string after;
  for (;;) {
    auto r = db.scan(kind, after, batch);
    REQUIRE(r.ok());
    if (r.value().empty())
      break;
    CHECK(r.value().size() <= batch);
    for (auto& rec : r.value()) {
      CHECK(rec.kind == kind);
      keys.push_back(rec.key);
    }
    after = r.value().back().key;
  }
  return keys;
}

} // namespace

TEST_CASE("conformance: create read update delete for every record kind", "[conformance]") {
  backend_under_test b;
  for (auto kind : all_record_kinds) {
    INFO(to_string(kind));
    auto r = make_record(kind, 1);
    auto put = b.db().commit(puts({r}));
    REQUIRE(put.ok());
    CHECK(put.value() == 1);
    auto got = b.db().get(kind, r.key);
    REQUIRE(got.ok());
    CHECK(got.value().key == r.key);
    CHECK(value_of(got.value().json) == value_of(r.json));
    auto r2 = changed(r);
    REQUIRE(b.db().commit(puts({r2})).ok());
    CHECK(value_of(b.db().get(kind, r.key).value().json) == value_of(r2.json));
    CHECK(b.db().count(kind).value() == 1);
    REQUIRE(b.db().commit(removal(kind, r.key)).ok());
    auto gone = b.db().get(kind, r.key);
    CHECK_FALSE(gone.ok());
    CHECK(gone.code() == errc::not_found);
    CHECK(b.db().count(kind).value() == 0);
    // Removing what is not there is not an error.
    CHECK(b.db().commit(removal(kind, r.key)).ok());
  }
}

TEST_CASE("conformance: upserts are idempotent", "[conformance]") {
  backend_under_test b;
  std::vector<record> rs;
  for (auto kind : all_record_kinds)
    for (int i = 0; i < 3; ++i)
      rs.push_back(make_record(kind, i));
  REQUIRE(b.db().commit(puts(rs)).ok());
  REQUIRE(b.db().commit(puts(rs)).ok());
  for (auto kind : all_record_kinds)
    CHECK(b.db().count(kind).value() == 3);
  for (auto& r : rs)
    CHECK(value_of(b.db().get(r.kind, r.key).value().json) == value_of(r.json));
}

TEST_CASE("conformance: a full scan returns every record once in key order in batches",
          "[conformance]") {
  backend_under_test b;
  for (auto kind : all_record_kinds) {
    INFO(to_string(kind));
    std::vector<record> rs;
    for (int i = 0; i < 230; ++i)
      rs.push_back(make_record(kind, i, base_time + (i * 7919 % 230) * us_per_second));
    REQUIRE(b.db().commit(puts(rs)).ok());
    auto keys = scan_all_keys(b.db(), kind, 64);
    std::vector<std::string> expected;
    for (auto& r : rs)
      expected.push_back(r.key);
    std::sort(expected.begin(), expected.end());
    CHECK(keys == expected);
    // Any batch size gives the same sequence.
    CHECK(scan_all_keys(b.db(), kind, 1).size() == 230);
    CHECK(scan_all_keys(b.db(), kind, 1000) == expected);
    CHECK(b.db().count(kind).value() == 230);
  }
}

TEST_CASE("conformance: task queries filter by status and time and paginate", "[conformance]") {
  backend_under_test b;
  std::vector<record> rs;
  std::map<std::string, micros> created;
  for (int i = 0; i < 60; ++i) {
    auto r = make_record(record_kind::task, i, base_time + i * us_per_second);
    created[r.key] = base_time + i * us_per_second;
    rs.push_back(r);
  }
  REQUIRE(b.db().commit(puts(rs)).ok());
  record_query q;
  q.kind = record_kind::task;
  q.limit = 7;
  auto all = b.db().query(q);
  REQUIRE(all.ok());
  CHECK(all.value().total == 60);
  REQUIRE(all.value().items.size() == 7);
  CHECK(created[all.value().items[0].key] == base_time);  // oldest first
  q.offset = 56;
  CHECK(b.db().query(q).value().items.size() == 4);
  q.offset = 0;
  q.newest_first = true;
  CHECK(created[b.db().query(q).value().items[0].key] == base_time + 59 * us_per_second);
  // status: i % 6 == 4 is Failed -> 10 tasks
  q = {};
  q.kind = record_kind::task;
  q.field = "status";
  q.value = "Failed";
  q.limit = 100;
  auto failed = b.db().query(q);
  REQUIRE(failed.ok());
  CHECK(failed.value().total == 10);
  for (auto& r : failed.value().items)
    CHECK(value_of(r.json)["status"] == "Failed");
  q.value = "failed";  // any case
  CHECK(b.db().query(q).value().total == 10);
  // time range [10 s, 20 s): 10 tasks, 2 of them Failed (i = 10, 16)
  q.since = base_time + 10 * us_per_second;
  q.until = base_time + 20 * us_per_second;
  CHECK(b.db().query(q).value().total == 2);
  q.field.clear();
  CHECK(b.db().query(q).value().total == 10);
  // a field that is not indexed still filters
  q = {};
  q.kind = record_kind::task;
  q.field = "name";
  q.value = "task 33";
  auto named = b.db().query(q);
  REQUIRE(named.value().items.size() == 1);
  CHECK(named.value().total == 1);
}

TEST_CASE("conformance: task search by words, id, labels, status, node, owner and time, paged",
          "[conformance][search]") {
  backend_under_test b;
  std::vector<record> rs;
  for (int i = 0; i < 30; ++i)
    rs.push_back(make_record(record_kind::task, i, base_time + i * us_per_second));
  auto special = [&](int n, std::string name, std::string command, std::vector<std::string> args,
                     std::map<std::string, std::string> labels, task_status st) {
    task x;
    x.id = new_uuid_v4();
    x.name = std::move(name);
    x.command = std::move(command);
    x.args = std::move(args);
    x.labels = std::move(labels);
    x.status = st;
    x.created_at = base_time + (100 + n) * us_per_second;
    return x;
  };
  auto a = special(0, "Nightly backup-DB", "/usr/bin/rsync", {"--archive", "/srv/data"},
                   {{"team", "infra"}}, task_status::failed);
  a.node = "gpu-1";
  a.owner = "alice";
  auto bb = special(1, "nightly report", "", {}, {{"team", "data"}}, task_status::completed);
  bb.script_file = "reports/daily.nu";
  bb.owner = "bob";
  auto c = special(2, "Café crème", "echo", {"wörld"}, {{"team", "infra"}, {"env", "prod"}},
                   task_status::running);
  c.node = "cpu-2";
  auto d = special(3, "backupish", "true", {}, {}, task_status::queued);
  for (auto* x : {&a, &bb, &c, &d})
    rs.push_back(to_record(*x));
  REQUIRE(b.db().commit(puts(rs)).ok());

  auto found = [&](const std::string& search) {
    record_query q;
    q.kind = record_kind::task;
    q.search = search;
    q.limit = 1000;
    auto page = b.db().query(q);
    REQUIRE(page.ok());
    CHECK(page.value().total == page.value().items.size());
    std::set<std::string> keys;
    for (auto& r : page.value().items)
      keys.insert(r.key);
    return keys;
  };
  using keys = std::set<std::string>;
  CHECK(found("nightly") == keys{a.id, bb.id});
  CHECK(found("NIGHTLY backup") == keys{a.id});
  CHECK(found("backup") == keys{a.id, d.id});            // "backupish" starts with it
  CHECK(found("ightly").empty());                        // not inside a word
  CHECK(found("name:backup-db") == keys{a.id});
  CHECK(found("cmd:rsync") == keys{a.id});
  CHECK(found("cmd:srv") == keys{a.id});                 // an argument's word
  CHECK(found("cmd:daily") == keys{bb.id});              // the script file's
  CHECK(found("name:rsync").empty());
  CHECK(found("label:team=infra") == keys{a.id, c.id});
  CHECK(found("label:env") == keys{c.id});
  CHECK(found("status:failed,completed nightly") == keys{a.id, bb.id});
  CHECK(found("status:running label:team=infra") == keys{c.id});
  CHECK(found("node:gpu-1") == keys{a.id});
  CHECK(found("owner:bob") == keys{bb.id});
  CHECK(found("café") == keys{c.id});
  CHECK(found("cmd:wö") == keys{c.id});
  CHECK(found(a.id.substr(0, 8)) == keys{a.id});
  CHECK(found("id:" + c.id) == keys{c.id});
  CHECK(found("nightly since:" + format_rfc3339(base_time + 101 * us_per_second)) == keys{bb.id});
  CHECK(found("until:" + format_rfc3339(base_time + 2 * us_per_second)).size() == 2);

  // Paged and ordered like any listing; with a status filter beside it.
  record_query q;
  q.kind = record_kind::task;
  q.search = "name:task";
  q.limit = 7;
  auto page = b.db().query(q);
  REQUIRE(page.ok());
  CHECK(page.value().total == 30);
  REQUIRE(page.value().items.size() == 7);
  CHECK(value_of(page.value().items[0].json)["name"] == "task 0");
  q.newest_first = true;
  q.offset = 1;
  CHECK(value_of(b.db().query(q).value().items[0].json)["name"] == "task 28");
  q = {};
  q.kind = record_kind::task;
  q.field = "status";
  q.value = "Failed";
  q.search = "name:task";  // i % 6 == 4: 4, 10, 16, 22, 28
  CHECK(b.db().query(q).value().total == 5);

  q.search = "status:done";
  auto bad = b.db().query(q);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.code() == errc::invalid);

  // A state change keeps a task found; a rename finds it by its new words
  // only; a deleted task is not found.
  a.status = task_status::queued;
  REQUIRE(b.db().commit(puts({to_record(a)})).ok());
  CHECK(found("nightly status:queued") == keys{a.id});
  bb.name = "weekly summary";
  REQUIRE(b.db().commit(puts({to_record(bb)})).ok());
  CHECK(found("nightly") == keys{a.id});
  CHECK(found("weekly") == keys{bb.id});
  REQUIRE(b.db().commit(removal(record_kind::task, a.id)).ok());
  CHECK(found("nightly").empty());
  CHECK(found("label:team=infra") == keys{c.id});
  b.reopen();
  CHECK(found("weekly") == keys{bb.id});
  CHECK(found("label:team=infra") == keys{c.id});
}

TEST_CASE("conformance: dependants, events by task, audit by principal, users", "[conformance]") {
  backend_under_test b;
  task dep;
  dep.id = new_uuid_v4();
  dep.command = "true";
  dep.created_at = base_time;
  std::vector<record> rs{to_record(dep)};
  std::set<std::string> dependants;
  for (int i = 0; i < 5; ++i) {
    task t;
    t.id = new_uuid_v4();
    t.command = "true";
    t.created_at = base_time + i;
    t.dependencies = {dep.id};
    if (i % 2)
      t.dependencies.push_back(new_uuid_v4());
    if (i == 0)
      t.status = task_status::queued;  // released: a search tells it apart
    dependants.insert(t.id);
    rs.push_back(to_record(t));
  }
  std::vector<std::string> events_of_dep;
  for (int i = 0; i < 8; ++i) {
    task_event e{new_uuid_v7(base_time + i), base_time + i, i < 5 ? dep.id : new_uuid_v4(),
                 "k" + std::to_string(i), "Queued", 0, "", ""};
    if (i < 5)
      events_of_dep.push_back(e.id);
    rs.push_back(to_record(e));
  }
  for (int i = 0; i < 9; ++i)
    rs.push_back(make_record(record_kind::audit, i, base_time + i));
  for (int i = 0; i < 4; ++i)
    rs.push_back(make_record(record_kind::user, i, base_time + i));
  REQUIRE(b.db().commit(puts(rs)).ok());

  record_query q;
  q.kind = record_kind::task;
  q.field = "dependencies";
  q.value = dep.id;
  auto d = b.db().query(q);
  REQUIRE(d.ok());
  std::set<std::string> found;
  for (auto& r : d.value().items)
    found.insert(r.key);
  CHECK(found == dependants);
  CHECK(d.value().total == 5);
  // Searched, as GET /tasks?depends_on=ID&q=status:pending asks.
  q.search = "status:pending";
  auto waiting = b.db().query(q);
  REQUIRE(waiting.ok());
  CHECK(waiting.value().total == 4);
  CHECK(waiting.value().items.size() == 4);

  q = {};
  q.kind = record_kind::event;
  q.field = "task_id";
  q.value = dep.id;
  auto ev = b.db().query(q);
  REQUIRE(ev.ok());
  std::vector<std::string> ev_keys;
  for (auto& r : ev.value().items)
    ev_keys.push_back(r.key);
  CHECK(ev_keys == events_of_dep);  // in time order

  q = {};
  q.kind = record_kind::audit;
  q.field = "principal";
  q.value = "api:1";
  q.newest_first = true;
  auto au = b.db().query(q);
  REQUIRE(au.ok());
  CHECK(au.value().total == 3);
  REQUIRE(au.value().items.size() == 3);
  CHECK(value_of(au.value().items[0].json)["details"] == "7");

  q = {};
  q.kind = record_kind::user;
  q.field = "disabled";
  q.value = "true";
  CHECK(b.db().query(q).value().total == 2);
}

namespace {

/// Events are found by task, audit records by target: either follows a
/// record moved to another group, a deletion and a reopen.
void grouped_records_follow_changes(record_kind kind) {
  backend_under_test b;
  auto group_a = new_uuid_v4(), group_b = new_uuid_v4();
  auto record_of = [&](const std::string& id, micros t, const std::string& group) {
    return kind == record_kind::event
             ? to_record(task_event{id, t, group, "created", "Queued", 0, "", ""})
             : to_record(audit_record{id, t, "api:1", "task.submit", group, "ok", ""});
  };
  auto moved = new_uuid_v7(base_time), stays = new_uuid_v7(base_time + 1),
       removed = new_uuid_v7(base_time + 2);
  REQUIRE(b.db()
            .commit(puts({record_of(moved, base_time, group_a),
                          record_of(stays, base_time + 1, group_a),
                          record_of(removed, base_time + 2, group_b)}))
            .ok());
  auto keys_of = [&](const std::string& group) {
    record_query q;
    q.kind = kind;
    q.field = kind == record_kind::event ? "task_id" : "target";
    q.value = group;
    auto page = b.db().query(q);
    REQUIRE(page.ok());
    std::vector<std::string> keys;
    for (auto& r : page.value().items)
      keys.push_back(r.key);
    return keys;
  };
  CHECK(keys_of(group_a) == std::vector<std::string>{moved, stays});
  // The same record, now of the other group; another one deleted.
  write_batch change;
  change.ops.push_back({record_op::put, record_of(moved, base_time, group_b)});
  change.ops.push_back({record_op::remove, {kind, removed, {}}});
  REQUIRE(b.db().commit(change).ok());
  for (bool reopened : {false, true}) {
    INFO((reopened ? "after a reopen" : "before a reopen"));
    CHECK(keys_of(group_a) == std::vector<std::string>{stays});
    CHECK(keys_of(group_b) == std::vector<std::string>{moved});
    CHECK(b.db().count(kind).value() == 2);
    if (!reopened)
      b.reopen();
  }
  write_batch gone;
  gone.ops.push_back({record_op::remove, {kind, stays, {}}});
  REQUIRE(b.db().commit(gone).ok());
  CHECK(keys_of(group_a).empty());
}

} // namespace

TEST_CASE("conformance: events by task follow an event moved to another task, a deletion and "
          "a reopen",
          "[conformance]") {
  grouped_records_follow_changes(record_kind::event);
}

TEST_CASE("conformance: audit records by target follow a record moved to another target, a "
          "deletion and a reopen",
          "[conformance]") {
  grouped_records_follow_changes(record_kind::audit);
}

TEST_CASE("conformance: claims follow priority then FIFO and honour not_before", "[conformance]") {
  backend_under_test b;
  auto now = now_us();
  std::vector<record> rs;
  std::vector<std::string> expected;
  auto add = [&](int priority, micros enqueued, micros not_before) {
    task t;
    t.id = new_uuid_v4();
    t.command = "true";
    t.status = task_status::queued;
    t.priority = priority;
    t.created_at = now;
    queue_entry e{t.id, priority, enqueued, not_before, 0, "", 0, {}};
    rs.push_back(to_record(t));
    rs.push_back(to_record(e));
    return t.id;
  };
  auto low = add(1, now - 50, 0);
  auto high_old = add(9, now - 40, 0);
  auto high_new = add(9, now - 5, 0);
  auto mid = add(5, now - 60, 0);
  add(100, now - 70, now + 3600 * us_per_second);  // not ready for an hour
  REQUIRE(b.db().commit(puts(rs)).ok());
  std::vector<std::string> order;
  for (uint32_t limit : {1u, 2u, 5u, 5u}) {
    auto c = b.db().claim({"worker-1", now_us(), 30 * us_per_second, limit, "", {}});
    REQUIRE(c.ok());
    CHECK(c.value().tasks.size() <= limit);
    CHECK(c.value().next_ready == now + 3600 * us_per_second);
    for (auto& t : c.value().tasks) {
      CHECK(t.claimed.status == task_status::running);
      CHECK(t.claimed.attempts == 1);
      CHECK(t.entry.claimed_by == "worker-1");
      CHECK(t.entry.lease_until > now);
      CHECK(t.started_event.kind == "started");
      order.push_back(t.claimed.id);
      // The claim is stored: task Running, queue entry claimed.
      CHECK(value_of(b.db().get(record_kind::task, t.claimed.id).value().json)["status"]
            == "Running");
      CHECK(value_of(b.db().get(record_kind::queue, t.claimed.id).value().json)["claimed_by"]
            == "worker-1");
    }
  }
  CHECK(order == std::vector<std::string>{high_old, high_new, mid, low});
  // The delayed one becomes claimable when its time comes.
  auto later = b.db().claim({"worker-1", now + 3601 * us_per_second, 30 * us_per_second, 5, "", {}});
  REQUIRE(later.ok());
  CHECK(later.value().tasks.size() == 1);
}

TEST_CASE("conformance: a claim takes only the tasks whose node labels the node has, and names "
          "the node in the task and its started event", "[conformance]") {
  backend_under_test b;
  auto now = now_us();
  std::vector<record> rs;
  auto add = [&](int priority, label_map labels, micros not_before = 0) {
    task t;
    t.id = new_uuid_v4();
    t.command = "true";
    t.status = task_status::queued;
    t.priority = priority;
    t.created_at = now - 100;
    t.node_labels = labels;
    queue_entry e{t.id, priority, now - 100 + priority, not_before, 0, "", 0, labels};
    rs.push_back(to_record(t));
    rs.push_back(to_record(e));
    return t.id;
  };
  auto gpu = add(9, {{"gpu", "yes"}});
  auto gpu_in_zone = add(8, {{"gpu", "yes"}, {"zone", "a"}});
  auto plain = add(1, {});
  // Waiting for a retry: its labels must hold when it becomes due.
  auto gpu_later = add(7, {{"gpu", "yes"}}, now + 60 * us_per_second);
  REQUIRE(b.db().commit(puts(rs)).ok());
  auto claim_for = [&](const std::string& node, label_map labels, micros at) {
    claim_request req{"worker-1", at, 30 * us_per_second, 10, node, std::move(labels)};
    auto c = b.db().claim(req);
    REQUIRE(c.ok());
    std::vector<std::string> ids;
    for (auto& t : c.value().tasks) {
      ids.push_back(t.claimed.id);
      CHECK(t.claimed.node == node);
      CHECK(t.started_event.node == node);
      auto stored = value_of(b.db().get(record_kind::task, t.claimed.id).value().json);
      CHECK(stored["node"] == node);
      CHECK(stored["node_labels"] == json(t.claimed.node_labels));
      auto ev = b.db().get(record_kind::event, t.started_event.id);
      REQUIRE(ev.ok());
      CHECK(value_of(ev.value().json)["node"] == node);
    }
    return ids;
  };
  // A node without labels passes the labelled tasks by.
  CHECK(claim_for("plain-box", {}, now) == std::vector<std::string>{plain});
  // Another label value is not the label.
  CHECK(claim_for("cpu-box", {{"gpu", "no"}, {"zone", "a"}}, now).empty());
  // A node with more labels than asked for takes them, in claim order.
  CHECK(claim_for("gpu-box", {{"gpu", "yes"}}, now) == std::vector<std::string>{gpu});
  CHECK(claim_for("gpu-zone-a", {{"gpu", "yes"}, {"zone", "a"}, {"x", "y"}}, now)
        == std::vector<std::string>{gpu_in_zone});
  // The delayed one, once due: still only for a node with its labels.
  CHECK(claim_for("plain-box", {}, now + 61 * us_per_second).empty());
  CHECK(claim_for("gpu-box", {{"gpu", "yes"}}, now + 61 * us_per_second)
        == std::vector<std::string>{gpu_later});
}

TEST_CASE("conformance: concurrent claimers never get the same task", "[conformance]") {
  backend_under_test b;
  std::vector<record> rs;
  for (int i = 0; i < 60; ++i) {
    task t;
    t.id = new_uuid_v4();
    t.command = "true";
    t.status = task_status::queued;
    t.created_at = base_time;
    rs.push_back(to_record(t));
    rs.push_back(to_record(queue_entry{t.id, i % 3, base_time + i, 0, 0, "", 0, {}}));
  }
  REQUIRE(b.db().commit(puts(rs)).ok());
  std::mutex m;
  std::multiset<std::string> claimed;
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w)
    workers.emplace_back([&, w] {
      storage_client c{b.sys(), b.db().handle()};
      for (;;) {
        auto r = c.claim({"worker-" + std::to_string(w), now_us(), 30 * us_per_second, 3, "", {}});
        if (!r.ok() || r.value().tasks.empty())
          return;
        std::lock_guard<std::mutex> g{m};
        for (auto& t : r.value().tasks)
          claimed.insert(t.claimed.id);
      }
    });
  for (auto& t : workers)
    t.join();
  CHECK(claimed.size() == 60);
  CHECK(std::set<std::string>(claimed.begin(), claimed.end()).size() == 60);
}

TEST_CASE("conformance: leases are renewed and expired leases are found", "[conformance]") {
  backend_under_test b;
  auto now = now_us();
  std::vector<record> rs;
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    task t;
    t.id = new_uuid_v4();
    t.command = "true";
    t.status = task_status::queued;
    t.created_at = now;
    ids.push_back(t.id);
    rs.push_back(to_record(t));
    rs.push_back(to_record(queue_entry{t.id, 0, now + i, 0, 0, "", 0, {}}));
  }
  REQUIRE(b.db().commit(puts(rs)).ok());
  auto c = b.db().claim({"w1", now, 10 * us_per_second, 3, "", {}});
  REQUIRE(c.value().tasks.size() == 3);
  // Renewing: ours are extended; a foreign or unknown id is reported lost.
  auto lost = b.db().renew("w1", {ids[0], ids[1], new_uuid_v4()}, now + 60 * us_per_second);
  REQUIRE(lost.ok());
  CHECK(lost.value().size() == 1);
  auto lost2 = b.db().renew("w2", {ids[2]}, now + 60 * us_per_second);
  REQUIRE(lost2.ok());
  CHECK(lost2.value() == std::vector<std::string>{ids[2]});
  // ids[2]'s lease (10 s) has expired 20 s later; the renewed ones have not.
  record_query q;
  q.kind = record_kind::queue;
  q.since = 1;
  q.until = now + 20 * us_per_second;
  auto expired = b.db().query(q);
  REQUIRE(expired.ok());
  REQUIRE(expired.value().items.size() == 1);
  CHECK(expired.value().items[0].key == ids[2]);
}

TEST_CASE("conformance: preconditions make a batch all or nothing across kinds",
          "[conformance]") {
  backend_under_test b;
  task t;
  t.id = new_uuid_v4();
  t.command = "true";
  t.revision = 3;
  REQUIRE(b.db().commit(puts({to_record(t)})).ok());
  auto ev = make_record(record_kind::event, 1);
  auto au = make_record(record_kind::audit, 1);
  auto q = make_record(record_kind::queue, 1);
  write_batch batch = puts({ev, au, q});
  batch.ops.push_back({record_op::remove, {record_kind::task, t.id, {}}});
  SECTION("field_in fails: nothing is written") {
    batch.expect.push_back({precondition::field_in, record_kind::task, t.id, "revision", {"2"}});
    auto r = b.db().commit(batch);
    CHECK(r.code() == errc::conflict);
    CHECK(b.db().get(record_kind::event, ev.key).code() == errc::not_found);
    CHECK(b.db().get(record_kind::audit, au.key).code() == errc::not_found);
    CHECK(b.db().get(record_kind::queue, q.key).code() == errc::not_found);
    CHECK(b.db().get(record_kind::task, t.id).ok());
  }
  SECTION("absent fails on an existing record") {
    batch.expect.push_back({precondition::absent, record_kind::task, t.id, {}, {}});
    CHECK(b.db().commit(batch).code() == errc::conflict);
    CHECK(b.db().count(record_kind::event).value() == 0);
  }
  SECTION("present fails on a missing record") {
    batch.expect.push_back({precondition::present, record_kind::user, "nobody", {}, {}});
    CHECK(b.db().commit(batch).code() == errc::conflict);
    CHECK(b.db().count(record_kind::queue).value() == 0);
  }
  SECTION("all preconditions hold: everything is written") {
    batch.expect.push_back({precondition::field_in, record_kind::task, t.id, "revision", {"1", "3"}});
    batch.expect.push_back({precondition::absent, record_kind::event, ev.key, {}, {}});
    REQUIRE(b.db().commit(batch).ok());
    CHECK(b.db().get(record_kind::event, ev.key).ok());
    CHECK(b.db().get(record_kind::audit, au.key).ok());
    CHECK(b.db().get(record_kind::queue, q.key).ok());
    CHECK(b.db().get(record_kind::task, t.id).code() == errc::not_found);
  }
}

TEST_CASE("conformance: many concurrent writers through the actor", "[conformance]") {
  backend_under_test b;
  constexpr int writers = 16, per_writer = 40;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w)
    threads.emplace_back([&] {
      storage_client c{b.sys(), b.db().handle()};
      for (int i = 0; i < per_writer; ++i) {
        task t;
        t.id = new_uuid_v4();
        t.command = "true";
        auto tr = submit_transition(t, task_status::queued, "", {"test", now_us()});
        if (!c.commit(tr.batch).ok())
          ++failures;
      }
    });
  for (auto& t : threads)
    t.join();
  CHECK(failures == 0);
  constexpr uint64_t total = writers * per_writer;
  CHECK(b.db().count(record_kind::task).value() == total);
  CHECK(b.db().count(record_kind::queue).value() == total);
  CHECK(b.db().count(record_kind::event).value() == total);
  CHECK(b.db().count(record_kind::audit).value() == total);
  CHECK(scan_all_keys(b.db(), record_kind::task, 100).size() == total);
}

TEST_CASE("conformance: everything is still there after close and reopen", "[conformance]") {
  backend_under_test b;
  std::vector<record> rs;
  for (auto kind : all_record_kinds)
    for (int i = 0; i < 20; ++i)
      rs.push_back(make_record(kind, i, base_time + i));
  REQUIRE(b.db().commit(puts(rs)).ok());
  b.reopen();
  for (auto kind : all_record_kinds)
    CHECK(b.db().count(kind).value() == 20);
  for (auto& r : rs) {
    auto got = b.db().get(r.kind, r.key);
    REQUIRE(got.ok());
    CHECK(value_of(got.value().json) == value_of(r.json));
  }
  record_query q;
  q.kind = record_kind::task;
  q.field = "status";
  q.value = "Queued";
  CHECK(b.db().query(q).value().total == 4);  // i % 6 == 1
}

TEST_CASE("conformance: invalid keys and records are rejected", "[conformance]") {
  backend_under_test b;
  CHECK(b.db().get(record_kind::task, "../../etc/passwd").code() == errc::invalid);
  CHECK(b.db().get(record_kind::user, "../root").code() == errc::invalid);
  auto r = make_record(record_kind::task, 1);
  auto wrong_key = r;
  wrong_key.key = new_uuid_v4();
  CHECK(b.db().commit(puts({wrong_key})).code() == errc::invalid);
  auto bad_type = r;
  bad_type.json = R"({"id":")" + r.key + R"(","attempts":"many"})";
  CHECK(b.db().commit(puts({bad_type})).code() == errc::invalid);
  auto not_json = r;
  not_json.json = "{nope";
  CHECK(b.db().commit(puts({not_json})).code() == errc::invalid);
  record traversal{record_kind::task, "../evil", "{}"};
  CHECK(b.db().commit(puts({traversal})).code() == errc::invalid);
  // A bad record poisons only its own batch.
  CHECK(b.db().commit(puts({make_record(record_kind::task, 2), not_json})).code() == errc::invalid);
  CHECK(b.db().count(record_kind::task).value() == 0);
}

TEST_CASE("conformance: a backup holds every record", "[conformance]") {
  backend_under_test b;
  std::vector<record> rs;
  for (auto kind : all_record_kinds)
    for (int i = 0; i < 10; ++i)
      rs.push_back(make_record(kind, i, base_time + i));
  REQUIRE(b.db().commit(puts(rs)).ok());
  auto to = b.dir() / "backup";
  auto done = b.db().backup(to);
  if (selected_backend() == "surrealdb-server") {
    // A shared database is copied out by migration, and the reply says so.
    CHECK(done.code() == errc::invalid);
    CHECK(done.message().find("orchestrator migrate --from surrealdb-server") != std::string::npos);
    return;
  }
  REQUIRE(done.ok());
  // Writes after the backup do not reach it.
  REQUIRE(b.db().commit(puts({make_record(record_kind::task, 99)})).ok());
  // Open the copy as a backend of its own.
  auto copy_settings = b.settings();
  copy_settings.data_dir = to;
  actor_env env;
  storage_client copy{env.sys(), open_or_throw(env.sys(), copy_settings)};
  for (auto kind : all_record_kinds)
    CHECK(copy.count(kind).value() == 10);
  for (auto& r : rs)
    CHECK(value_of(copy.get(r.kind, r.key).value().json) == value_of(r.json));
  REQUIRE(copy.close().ok());
  // A second backup to the same place is refused rather than mixed in.
  CHECK(b.db().backup(to).code() == errc::conflict);
}

TEST_CASE("conformance: start-up recovery brings tasks and queue entries back in step",
          "[conformance]") {
  backend_under_test b;
  auto make = [](task_status s) {
    task t;
    t.id = new_uuid_v4();
    t.command = "true";
    t.status = s;
    t.created_at = now_us();
    return t;
  };
  auto queued = make(task_status::queued);     // its queue entry never got written
  auto done = make(task_status::completed);    // its queue entry was never removed
  auto running = make(task_status::running);   // claimed, queue entry not updated
  auto healthy = make(task_status::queued);
  queue_entry orphan{new_uuid_v4(), 0, now_us(), 0, 0, "", 0, {}};  // its task is gone
  REQUIRE(b.db()
            .commit(puts({to_record(queued), to_record(done), to_record(running),
                          to_record(healthy),
                          to_record(queue_entry{done.id, 0, now_us(), 0, 0, "", 0, {}}),
                          to_record(queue_entry{running.id, 0, now_us(), 0, 1, "", 0, {}}),
                          to_record(queue_entry{healthy.id, 0, now_us(), 0, 0, "", 0, {}}),
                          to_record(orphan)}))
            .ok());
  auto notes = reconcile_queue(b.sys(), b.db().handle());
  CHECK(notes.size() == 4);
  auto q = b.db().get(record_kind::queue, queued.id);
  REQUIRE(q.ok());
  CHECK(value_of(q.value().json)["claimed_by"] == "");
  CHECK(b.db().get(record_kind::queue, done.id).code() == errc::not_found);
  CHECK(b.db().get(record_kind::queue, orphan.task_id).code() == errc::not_found);
  CHECK(value_of(b.db().get(record_kind::queue, running.id).value().json)["claimed_by"]
        == lost_claim_holder);
  CHECK(b.db().get(record_kind::queue, healthy.id).ok());
  // Nothing left to do the second time.
  CHECK(reconcile_queue(b.sys(), b.db().handle()).empty());
}

TEST_CASE("conformance: a state change's events get ids in commit order, other writes keep theirs",
          "[conformance]") {
  backend_under_test b;
  task t;
  t.id = new_uuid_v4();
  t.command = "true";
  t.created_at = base_time;
  REQUIRE(b.db().commit(puts({to_record(t)})).ok());
  // Decided in one order, committed in the other: the later decision first.
  auto early = new_uuid_v7(base_time + 1), late = new_uuid_v7(base_time + 2);
  auto change = [&](const std::string& id, const std::string& kind) {
    task_event e{id, base_time, t.id, kind, "Queued", 0, "", ""};
    auto wb = puts({to_record(e)});
    wb.stamp_events = true;
    return wb;
  };
  REQUIRE(b.db().commit(change(late, "first")).ok());
  REQUIRE(b.db().commit(change(early, "second")).ok());
  // A migration's (or a restore's) event keeps its id.
  auto kept = new_uuid_v7(base_time + 3);
  REQUIRE(b.db().commit(puts({to_record(task_event{kept, base_time, t.id, "kept", "Queued", 0,
                                                   "", ""})}))
            .ok());
  auto all = b.db().scan(record_kind::event, "", 100);
  REQUIRE(all.ok());
  std::map<std::string, std::string> id_of;  // kind -> id
  for (auto& r : all.value()) {
    auto ev = value_of(r.json);
    CHECK(ev["id"] == r.key);  // the key and the record agree
    id_of[ev["kind"].get<std::string>()] = r.key;
  }
  REQUIRE(id_of.size() == 3);
  CHECK(id_of["kept"] == kept);
  if (selected_backend() == "surrealdb-server") {
    // Several instances commit concurrently there: ids are kept as decided
    // (README, the event stream).
    CHECK(id_of["first"] == late);
    CHECK(id_of["second"] == early);
  } else {
    CHECK(id_of["first"] != late);
    CHECK(id_of["second"] != early);
    CHECK(id_of["first"] < id_of["second"]);
  }
}
