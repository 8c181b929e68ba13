// The embedded backend (RocksDB) on a real database: namespace/database
// isolation, the lock against a second process, names that are refused.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <rocksdb/db.h>

#include "backends/actor/engine_actor.hpp"
#include "backends/rocksdb/rocks_engine.hpp"
#include "runtime/messages/actor_env.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"
#include "backends/storage_client.hpp"
#include "tests/support/dataset.hpp"
#include "tests/support/orchestrator_process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace orch;
using namespace orch::test;

namespace {

record a_task(const std::string& name) {
  task t;
  t.id = new_uuid_v4();
  t.name = name;
  t.command = "true";
  t.status = task_status::queued;
  t.created_at = now_us();
  return to_record(t);
}

/// A storage client on the orchestrator/main database in `dir`.
std::unique_ptr<storage_client> open_main(actor_env& env, const temp_dir& dir, bool read_only) {
  return std::make_unique<storage_client>(
    env.sys(),
    spawn_engine_actor(env.sys(), open_rocksdb_engine({dir.path(), "orchestrator", "main",
                                                       read_only})));
}

} // namespace

TEST_CASE("embedded: two namespace/database pairs in one directory never see each other",
          "[rocksdb]") {
  temp_dir dir;
  actor_env env;
  auto open = [&](const std::string& ns, const std::string& db) {
    return std::make_unique<storage_client>(
      env.sys(), spawn_engine_actor(env.sys(), open_rocksdb_engine({dir.path(), ns, db})));
  };
  auto a = a_task("in a"), b = a_task("in b"), c = a_task("in c");
  {
    auto s = open("prod", "main");
    REQUIRE(s->put({a}).ok());
    REQUIRE(s->put({to_record(queue_entry{a.key, 0, now_us(), 0, 0, "", 0, {}})}).ok());
    REQUIRE(s->close().ok());
  }
  {
    auto s = open("prod", "other");  // same namespace, other database
    CHECK(s->count(record_kind::task).value() == 0);
    CHECK(s->get(record_kind::task, a.key).code() == errc::not_found);
    CHECK(s->scan(record_kind::task, "", 100).value().empty());
    CHECK(s->claim({"w", now_us(), us_per_second, 10, "", {}}).value().tasks.empty());
    REQUIRE(s->put({b}).ok());
    REQUIRE(s->close().ok());
  }
  {
    auto s = open("staging", "main");  // other namespace, same database name
    CHECK(s->count(record_kind::task).value() == 0);
    record_query q;
    q.kind = record_kind::task;
    CHECK(s->query(q).value().total == 0);
    REQUIRE(s->put({c}).ok());
    REQUIRE(s->close().ok());
  }
  auto s = open("prod", "main");
  CHECK(s->count(record_kind::task).value() == 1);
  CHECK(s->get(record_kind::task, a.key).ok());
  CHECK(s->get(record_kind::task, b.key).code() == errc::not_found);
  CHECK(s->get(record_kind::task, c.key).code() == errc::not_found);
  // The queue index is rebuilt from the database: the entry is claimable.
  CHECK(s->claim({"w", now_us(), us_per_second, 10, "", {}}).value().tasks.size() == 1);
  REQUIRE(s->close().ok());
}

TEST_CASE("embedded: namespaces are separate for the orchestrator too", "[rocksdb]") {
  temp_dir dir;
  auto args = [&](const std::string& ns) {
    return std::vector<std::string>{"--storage-type", "surrealdb-embedded", "--data-dir",
                                    dir / "data", "--surrealdb-namespace", ns};
  };
  std::string id;
  {
    orchestrator_process o{args("team-a"), dir / "a"};
    id = o.submit({{"command", "true"}})["id"];
    o.wait_terminal(id);
    o.proc().terminate();
  }
  orchestrator_process o{args("team-b"), dir / "b"};
  CHECK(o.http().get("/tasks/" + id).status == 404);
  CHECK(o.http().get("/tasks").json()["data"]["total"] == 0);
}

TEST_CASE("embedded: a second process on the same database gets a clear error", "[rocksdb]") {
  temp_dir dir;
  orchestrator_process first{{"--storage-type", "surrealdb-embedded", "--data-dir", dir / "data"},
                             dir / "first"};
  auto r = run_orchestrator({"--storage-type", "embedded", "--data-dir", dir / "data", "--port",
                             "0"},
                            dir / "second");
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("error: the embedded database " + dir.path() + "/data/orchestrator.db is in use "
                   "by another orchestrator process")
        == 0);
  CHECK(r.err.find("Stop that process first, or use a different --data-dir") != std::string::npos);
  // The first one is unharmed.
  CHECK(first.http().get("/health").status == 200);
  // In the same process the lock holds too.
  try {
    open_rocksdb_engine({dir / "data", "orchestrator", "main"});
    FAIL("opened a database another process holds");
  } catch (const status_error& e) {
    CHECK(e.code() == errc::locked);
  }
}

TEST_CASE("embedded: invalid namespace and database names are refused", "[rocksdb]") {
  temp_dir dir;
  auto r = run_orchestrator({"--storage-type", "rocksdb", "--data-dir", dir / "data",
                             "--surrealdb-namespace", "../x", "--dry-run"},
                            dir / "bad");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--surrealdb-namespace '../x' is not valid") != std::string::npos);
}

TEST_CASE("embedded: read-only opens change no byte and refuse writes", "[rocksdb]") {
  temp_dir dir;
  actor_env env;
  auto open = [&](bool read_only) { return open_main(env, dir, read_only); };
  {
    auto missing = open(true);
    CHECK(missing->count(record_kind::task).value() == 0);
    CHECK(missing->get(record_kind::task, new_uuid_v4()).code() == errc::not_found);
    REQUIRE(missing->close().ok());
    CHECK(dir_entries(dir.path()).empty());
  }
  auto t = a_task("kept");
  {
    auto rw = open(false);
    REQUIRE(rw->put({t}).ok());
    REQUIRE(rw->close().ok());
  }
  auto bytes = tree_digest(dir.path());
  {
    auto ro = open(true);
    CHECK(ro->get(record_kind::task, t.key).value().json == t.json);
    CHECK(ro->scan(record_kind::task, "", 10).value().size() == 1);
    auto w = ro->commit(write_batch{{{record_op::put, a_task("refused")}}, {}});
    CHECK(w.code() == errc::invalid);
    CHECK(w.message().find("is opened read-only") != std::string::npos);
    CHECK(ro->claim({"w", now_us(), us_per_second, 1, "", {}}).code() == errc::invalid);
    REQUIRE(ro->close().ok());
  }
  CHECK(tree_digest(dir.path()) == bytes);
}

namespace {

/// Makes the database look as one written before an index: no entries of
/// `index_cf` behind the byte `tag`, no `marker` in meta.
/// Opens the database in `data_dir` with RocksDB alone (every column family
/// it has) and calls fn(db, handle_of_family_named).
template <class F>
void with_raw_db(const std::string& data_dir, F fn) {
  std::vector<std::string> names;
  auto path = rocksdb_path(data_dir);
  REQUIRE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions{}, path, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (auto& n : names)
    cfs.emplace_back(n, rocksdb::ColumnFamilyOptions{});
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  REQUIRE(rocksdb::DB::Open(rocksdb::DBOptions{}, path, cfs, &handles, &raw).ok());
  std::unique_ptr<rocksdb::DB> db{raw};
  auto handle = [&](const std::string& name) {
    for (size_t i = 0; i < names.size(); ++i)
      if (names[i] == name)
        return handles[i];
    FAIL("no column family " << name);
    return handles[0];
  };
  fn(*db, handle);
  for (auto* h : handles)
    db->DestroyColumnFamilyHandle(h);
}

void drop_index(const std::string& data_dir, const std::string& index_cf, char tag,
                const std::string& marker) {
  with_raw_db(data_dir, [&](rocksdb::DB& db, auto handle) {
  std::string prefix = std::string{"orchestrator"} + '\0' + "main" + '\0';
  rocksdb::WriteBatch wb;
  std::unique_ptr<rocksdb::Iterator> it{db.NewIterator({}, handle(index_cf))};
  size_t dropped = 0;
  for (it->Seek(prefix + tag); it->Valid() && it->key().starts_with(prefix + tag); it->Next()) {
    wb.Delete(handle(index_cf), it->key());
    ++dropped;
  }
  it.reset();
  CHECK(dropped > 0);
  wb.Delete(handle("meta"), prefix + marker);
  REQUIRE(db.Write(rocksdb::WriteOptions{}, &wb).ok());
  });
}

} // namespace

TEST_CASE("embedded: audit records are found by target through an index, which older databases "
          "get at their first writable open", "[rocksdb]") {
  temp_dir dir;
  actor_env env;
  auto open = [&](bool read_only) { return open_main(env, dir, read_only); };
  auto target = new_uuid_v4();
  std::vector<record> records;
  for (int i = 0; i < 30; ++i) {
    auto t = now_us() + i * 2000;
    records.push_back(to_record(audit_record{new_uuid_v7(t), t, "tester", "task.submit",
                                             i % 3 == 0 ? target : new_uuid_v4(), "ok", {}}));
  }
  auto by_target = [&](storage_client& db) {
    record_query q;
    q.kind = record_kind::audit;
    q.field = "target";
    q.value = target;
    return db.query(q).value();
  };
  {
    auto db = open(false);
    REQUIRE(db->put(records).ok());
    CHECK(by_target(*db).total == 10);
    REQUIRE(db->close().ok());
  }
  drop_index(dir.path(), "idx_event_task", '\x01', "index/audit_target");
  {
    // Read-only, nothing may be added: it scans, and finds the same.
    auto ro = open(true);
    CHECK(by_target(*ro).total == 10);
    REQUIRE(ro->close().ok());
  }
  auto db = open(false);
  bool noted = false;
  auto info = db->info().value();
  for (auto& note : info.notes)
    noted = noted || note.find("indexed the targets of 30 audit records") != std::string::npos;
  CHECK(noted);
  auto page = by_target(*db);
  CHECK(page.total == 10);
  for (auto& r : page.items)
    CHECK(nlohmann::json::parse(r.json)["target"] == target);
}

TEST_CASE("embedded: tasks are searched through an index, which older databases get at their "
          "first writable open", "[rocksdb][search]") {
  temp_dir dir;
  actor_env env;
  auto open = [&](bool read_only) { return open_main(env, dir, read_only); };
  std::vector<record> records;
  for (int i = 0; i < 30; ++i) {
    task t;
    t.id = new_uuid_v4();
    t.name = i % 3 == 0 ? "nightly backup " + std::to_string(i) : "report " + std::to_string(i);
    t.command = "true";
    t.labels = {{"team", i % 2 == 0 ? "infra" : "data"}};
    t.created_at = now_us() + i;
    records.push_back(to_record(t));
  }
  auto found = [&](storage_client& db, const std::string& search) {
    record_query q;
    q.kind = record_kind::task;
    q.search = search;
    return db.query(q).value().total;
  };
  {
    auto db = open(false);
    REQUIRE(db->put(records).ok());
    CHECK(found(*db, "backup") == 10);
    CHECK(found(*db, "backup label:team=infra") == 5);
    REQUIRE(db->close().ok());
  }
  drop_index(dir.path(), "idx_task_deps", '\x02', "index/task_search");
  {
    // Read-only, nothing may be added: it reads the tasks, and finds the same.
    auto ro = open(true);
    CHECK(found(*ro, "backup") == 10);
    CHECK(found(*ro, "backup label:team=infra") == 5);
    REQUIRE(ro->close().ok());
  }
  auto db = open(false);
  bool noted = false;
  auto info = db->info().value();
  for (auto& note : info.notes)
    noted = noted || note.find("indexed 30 tasks for search") != std::string::npos;
  CHECK(noted);
  CHECK(found(*db, "backup") == 10);
  CHECK(found(*db, "backup label:team=infra") == 5);
  CHECK(found(*db, "nightly report") == 0);
}

TEST_CASE("embedded: a search beside a term of thousands of tasks reads the few left, and one "
          "of only large terms reads them whole", "[rocksdb][search]") {
  temp_dir dir;
  actor_env env;
  auto db = open_main(env, dir, false);
  std::vector<record> records;
  for (int i = 0; i < 6000; ++i) {
    task t;
    t.id = new_uuid_v4();
    t.name = "common " + std::string(i % 2000 == 0 ? "rare" : "other");
    t.command = "true";
    t.labels = {{"half", i % 2 == 0 ? "even" : "odd"}};
    t.status = i % 3 == 0 ? task_status::failed : task_status::completed;
    t.created_at = 1'767'225'600'000'000 + i;
    records.push_back(to_record(t));
  }
  REQUIRE(db->put(records).ok());
  auto total = [&](const std::string& search) {
    record_query q;
    q.kind = record_kind::task;
    q.search = search;
    q.limit = 10;
    auto page = db->query(q).value();
    CHECK(page.items.size() == std::min<uint64_t>(page.total, 10));
    return page.total;
  };
  CHECK(total("common") == 6000);                      // only large terms
  CHECK(total("common rare") == 3);                    // i = 0, 2000, 4000
  CHECK(total("rare label:half=even") == 3);
  CHECK(total("common label:half=odd") == 3000);
  CHECK(total("common label:half=odd status:failed") == 1000);  // i % 6 == 3
  CHECK(total("rare status:completed") == 2);          // 2000, 4000
  CHECK(total("common nomatch") == 0);
}

TEST_CASE("embedded: a database made before the schedules column family existed opens read-only "
          "with no schedules, and gets the family at its first writable open", "[rocksdb]") {
  temp_dir dir;
  actor_env env;
  auto open = [&](bool read_only) { return open_main(env, dir, read_only); };
  auto t = a_task("kept");
  {
    auto db = open(false);
    REQUIRE(db->put({t}).ok());
    REQUIRE(db->close().ok());
  }
  {
    // What an earlier version left: every family but schedules.
    with_raw_db(dir.path(), [](rocksdb::DB& db, auto handle) {
      REQUIRE(db.DropColumnFamily(handle("schedules")).ok());
    });
  }
  {
    auto ro = open(true);
    CHECK(ro->count(record_kind::schedule).value() == 0);
    CHECK(ro->scan(record_kind::schedule, "", 10).value().empty());
    CHECK(ro->get(record_kind::schedule, "nightly").code() == errc::not_found);
    CHECK(ro->get(record_kind::task, t.key).value().key == t.key);
    REQUIRE(ro->close().ok());
  }
  auto db = open(false);
  schedule s;
  s.name = "nightly";
  s.cron = "0 2 * * *";
  s.created_at = now_us();
  REQUIRE(db->put({to_record(s)}).ok());
  CHECK(db->get(record_kind::schedule, "nightly").value().key == "nightly");
}
