// The filesystem backend on real files, through its storage actor: durable
// layout, quarantine of corrupted files, the lock against a second process,
// repair after a crash between two renames, and reopening.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "backends/actor/engine_actor.hpp"
#include "backends/filesystem/file_io.hpp"
#include "backends/filesystem/fs_engine.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"
#include "tests/support/orchestrator_process.hpp"
#include "runtime/messages/actor_env.hpp"
#include "backends/storage_client.hpp"
#include "tests/support/temp_dir.hpp"

using namespace orch;
using namespace orch::test;

namespace {

task make_task(int priority = 0, task_status status = task_status::queued) {
  task t;
  t.id = new_uuid_v4();
  t.command = "true";
  t.priority = priority;
  t.status = status;
  t.created_at = now_us();
  return t;
}

queue_entry entry_for(const task& t, micros enqueued = 0) {
  queue_entry e;
  e.task_id = t.id;
  e.priority = t.priority;
  e.enqueued_at = enqueued ? enqueued : now_us();
  return e;
}

struct fs_fixture {
  temp_dir dir{"orch-fs"};
  actor_env env;
  std::unique_ptr<storage_client> db;

  fs_fixture() { open(); }

  void open() { db = std::make_unique<storage_client>(env.sys(), spawn_engine_actor(env.sys(), open_filesystem_engine(dir.path()))); }

  void reopen() {
    REQUIRE(db->close().ok());
    db.reset();
    open();
  }

  std::string root() const { return dir.path() + "/queue.rkvs"; }
};

} // namespace

TEST_CASE("filesystem: records land in the documented layout as readable JSON", "[filesystem]") {
  fs_fixture f;
  auto t = make_task(3);
  auto e = entry_for(t);
  REQUIRE(f.db->put({to_record(t), to_record(e)}).ok());
  auto task_file = f.root() + "/tasks/" + t.id + ".json";
  auto queue_file = f.root() + "/queue/" + t.id + ".json";
  REQUIRE(std::filesystem::exists(task_file));
  REQUIRE(std::filesystem::exists(queue_file));
  auto on_disk = json::parse(slurp(task_file));
  CHECK(on_disk["id"] == t.id);
  CHECK(on_disk["priority"] == 3);
  CHECK(slurp(task_file).find("\n  \"command\": \"true\"") != std::string::npos);  // indented
  CHECK(json::parse(slurp(queue_file))["task_id"] == t.id);
  // No temp files are left behind.
  for (auto& name : dir_entries(f.root() + "/tasks"))
    CHECK(name.find(".tmp") == std::string::npos);
  auto got = f.db->get(record_kind::task, t.id);
  REQUIRE(got.ok());
  CHECK(got.value().json == to_record(t).json);
}

TEST_CASE("filesystem: events - audit records and metrics go to JSON-lines segments", "[filesystem]") {
  fs_fixture f;
  task_event ev{new_uuid_v7(now_us()), now_us(), new_uuid_v4(), "created", "Queued", 0, "", ""};
  audit_record a{new_uuid_v7(now_us()), now_us(), "api:x", "task.submit", "task:y", "ok", ""};
  REQUIRE(f.db->put({to_record(ev), to_record(a)}).ok());
  auto day = format_rfc3339(ev.time).substr(0, 10);
  auto lines = slurp(f.root() + "/events/" + day + ".jsonl");
  CHECK(lines == to_record(ev).json + "\n");
  CHECK(slurp(f.root() + "/audit/" + day + ".jsonl") == to_record(a).json + "\n");
  // Deleting appends a tombstone; the record is gone after a reopen too.
  write_batch del;
  del.ops.push_back({record_op::remove, {record_kind::event, ev.id, {}}});
  REQUIRE(f.db->commit(del).ok());
  CHECK(f.db->get(record_kind::event, ev.id).code() == errc::not_found);
  f.reopen();
  CHECK(f.db->get(record_kind::event, ev.id).code() == errc::not_found);
  CHECK(f.db->get(record_kind::audit, a.id).ok());
}

TEST_CASE("filesystem: everything is still there after close and reopen", "[filesystem]") {
  fs_fixture f;
  std::vector<record> records;
  std::vector<task> tasks;
  for (int i = 0; i < 50; ++i) {
    tasks.push_back(make_task(i % 3));
    records.push_back(to_record(tasks.back()));
    records.push_back(to_record(entry_for(tasks.back())));
  }
  user u{"alice", "hash", {"admin"}, now_us(), false, {}, 0, 0};
  records.push_back(to_record(u));
  REQUIRE(f.db->put(records).ok());
  f.reopen();
  CHECK(f.db->count(record_kind::task).value() == 50);
  CHECK(f.db->count(record_kind::queue).value() == 50);
  CHECK(f.db->count(record_kind::user).value() == 1);
  for (auto& t : tasks)
    CHECK(f.db->get(record_kind::task, t.id).value().json == to_record(t).json);
}

TEST_CASE("filesystem: a corrupted task file is quarantined and start-up goes on", "[filesystem]") {
  fs_fixture f;
  auto good = make_task();
  REQUIRE(f.db->put({to_record(good)}).ok());
  REQUIRE(f.db->close().ok());
  f.db.reset();
  auto bad_id = new_uuid_v4();
  auto bad_path = f.root() + "/tasks/" + bad_id + ".json";
  write_text(bad_path, "{\"id\": \"" + bad_id + "\", \"priority\": ");  // cut off
  write_text(f.root() + "/tasks/notes.txt", "not a record");
  f.open();
  auto info = f.db->info();
  REQUIRE(info.ok());
  std::string notes;
  for (auto& n : info.value().notes)
    notes += n + "\n";
  CHECK(notes.find(bad_path) != std::string::npos);
  CHECK(notes.find("not valid JSON") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(bad_path));
  CHECK(std::filesystem::exists(f.root() + "/corrupted/tasks/" + bad_id + ".json"));
  CHECK(std::filesystem::exists(f.root() + "/corrupted/tasks/notes.txt"));
  CHECK(f.db->get(record_kind::task, good.id).ok());
  CHECK(f.db->count(record_kind::task).value() == 1);
}

TEST_CASE("filesystem: a torn last line of a segment is cut off - a bad line is set aside",
          "[filesystem]") {
  fs_fixture f;
  auto now = now_us();
  task_event bad{new_uuid_v7(now), now, new_uuid_v4(), "created", "Queued", 0, "", ""};
  task_event ev{new_uuid_v7(now + 5000), now + 5000, bad.task_id, "queued", "Queued", 0, "", ""};
  REQUIRE(f.db->put({to_record(bad), to_record(ev)}).ok());
  REQUIRE(f.db->close().ok());
  f.db.reset();
  auto seg = f.root() + "/events/" + format_rfc3339(ev.time).substr(0, 10) + ".jsonl";
  auto bad_line = to_record(bad).json;
  {
    // The first line damaged in place, then a write cut off by a crash.
    std::fstream out{seg, std::ios::in | std::ios::out};
    out << std::string(bad_line.size(), 'x');
    out.seekp(0, std::ios::end);
    out << "{\"id\":\"0190";
  }
  f.open();
  CHECK_FALSE(f.db->get(record_kind::event, bad.id).ok());
  CHECK(f.db->get(record_kind::event, ev.id).ok());
  CHECK(f.db->count(record_kind::event).value() == 1);
  CHECK(slurp(seg) == to_record(ev).json + "\n");
  bool line_aside = false;
  for (auto& name : dir_entries(f.root() + "/corrupted"))
    line_aside = line_aside || (name.find("task_events-") == 0 && name.find(".line") != std::string::npos);
  CHECK(line_aside);
  // The cut-off write is set aside apart from damage: it was never acknowledged.
  CHECK(slurp(f.root() + "/uncommitted/task_events-" + format_rfc3339(ev.time).substr(0, 10)
              + ".jsonl") == "{\"id\":\"0190\n");
  // Reported once: the next start finds nothing to repair.
  f.reopen();
  CHECK(f.db->info().value().notes.empty());
  // Appends after the repair start on a clean line.
  task_event ev2{new_uuid_v7(now_us()), now_us(), ev.task_id, "started", "Running", 1, "", ""};
  REQUIRE(f.db->put({to_record(ev2)}).ok());
  f.reopen();
  CHECK(f.db->count(record_kind::event).value() == 2);
}

TEST_CASE("filesystem: a second process on the same data dir is refused", "[filesystem]") {
  fs_fixture f;
  // In this process: a second open fails with errc::locked.
  try {
    open_filesystem_engine(f.dir.path());
    FAIL("second open succeeded");
  } catch (const status_error& e) {
    CHECK(e.code() == errc::locked);
    CHECK(e.message().find("in use by another orchestrator process") != std::string::npos);
  }
  // A real second process: the orchestrator binary exits with the message.
  auto r = run_orchestrator({"--data-dir", f.dir.path(), "--dry-run"}, f.dir / "second");
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("is in use by another orchestrator process (pid ") != std::string::npos);
  // Once closed, it can be opened again.
  f.reopen();
  CHECK(f.db->info().ok());
}

TEST_CASE("filesystem: preconditions make a batch all-or-nothing", "[filesystem]") {
  fs_fixture f;
  auto t = make_task();
  t.revision = 1;
  REQUIRE(f.db->put({to_record(t)}).ok());
  auto other = make_task();
  write_batch b;
  b.ops.push_back({record_op::put, to_record(other)});
  b.expect.push_back({precondition::field_in, record_kind::task, t.id, "revision", {"0"}});
  auto r = f.db->commit(b);
  CHECK_FALSE(r.ok());
  CHECK(r.code() == errc::conflict);
  CHECK(f.db->get(record_kind::task, other.id).code() == errc::not_found);
  b.expect[0].values = {"1"};
  CHECK(f.db->commit(b).ok());
  write_batch dup;
  dup.expect.push_back({precondition::absent, record_kind::task, t.id, {}, {}});
  CHECK(f.db->commit(dup).code() == errc::conflict);
}

TEST_CASE("filesystem: claims follow priority then FIFO - and honour not_before", "[filesystem]") {
  fs_fixture f;
  auto now = now_us();
  auto low = make_task(1), high_old = make_task(9), high_new = make_task(9),
       delayed = make_task(100);
  auto d = entry_for(delayed, now - 10);
  d.not_before = now + 3600 * us_per_second;
  REQUIRE(f.db->put({to_record(low), to_record(entry_for(low, now - 50)), to_record(high_new),
                     to_record(entry_for(high_new, now - 5)), to_record(high_old),
                     to_record(entry_for(high_old, now - 40)), to_record(delayed), to_record(d)})
            .ok());
  std::vector<std::string> order;
  for (uint32_t limit : {1u, 5u, 1u}) {
    auto c = f.db->claim({"me", now_us(), 30 * us_per_second, limit, "", {}});
    REQUIRE(c.ok());
    CHECK(c.value().tasks.size() <= limit);
    CHECK(c.value().next_ready == d.not_before);
    for (auto& ct : c.value().tasks) {
      CHECK(ct.claimed.status == task_status::running);
      CHECK(ct.claimed.attempts == 1);
      CHECK(ct.entry.claimed_by == "me");
      CHECK(ct.started_event.kind == "started");
      order.push_back(ct.claimed.id);
    }
  }
  CHECK(order == std::vector<std::string>{high_old.id, high_new.id, low.id});
  // The claim is durable: the task file says Running, the queue file names us.
  auto on_disk = json::parse(slurp(f.root() + "/tasks/" + high_old.id + ".json"));
  CHECK(on_disk["status"] == "Running");
  CHECK(json::parse(slurp(f.root() + "/queue/" + high_old.id + ".json"))["claimed_by"] == "me");
  // Renewing: our leases are kept, unknown ones are reported lost.
  auto lost = f.db->renew("me", {high_old.id, delayed.id}, now_us() + us_per_second);
  REQUIRE(lost.ok());
  CHECK(lost.value() == std::vector<std::string>{delayed.id});
}

TEST_CASE("filesystem: ids with path tricks never reach the filesystem", "[filesystem]") {
  fs_fixture f;
  CHECK(f.db->get(record_kind::task, "../../etc/passwd").code() == errc::invalid);
  write_batch b;
  record evil{record_kind::task, "../evil", "{}"};
  b.ops.push_back({record_op::put, evil});
  auto r = f.db->commit(b);
  CHECK(r.code() == errc::invalid);
  CHECK_FALSE(std::filesystem::exists(f.root() + "/evil.json"));
}

TEST_CASE("filesystem: permission problems name the path and the fix", "[filesystem]") {
  auto e = fs::io_failure("cannot create directory", "/var/lib/x/queue.rkvs", EACCES);
  CHECK(e.message().find("cannot create directory /var/lib/x/queue.rkvs: Permission denied")
        == 0);
  CHECK(e.message().find("chown -R") != std::string::npos);
  CHECK(e.message().find("--data-dir") != std::string::npos);
  // A data dir in a directory its user may not write. Root may write
  // anywhere: as root, the check runs as nobody, through the binary.
  temp_dir d;
  auto data = d.path() + "/data";
  if (::geteuid() != 0) {
    std::filesystem::permissions(d.path(), std::filesystem::perms::owner_read
                                             | std::filesystem::perms::owner_exec);
    try {
      open_filesystem_engine(data);
      FAIL("opened a data dir in a read-only directory");
    } catch (const status_error& f) {
      CHECK(f.message().find("Permission denied") != std::string::npos);
    }
    return;
  }
  constexpr uid_t nobody = 65534;
  REQUIRE(::chown(d.path().c_str(), nobody, nobody) == 0);
  REQUIRE(::chmod(d.path().c_str(), 0500) == 0);
  auto r = run_orchestrator({"--data-dir", data, "--dry-run"}, d.path() + "-run", {},
                            {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"});
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("cannot create directory " + data + ": Permission denied")
        != std::string::npos);
  CHECK(r.err.find("chown -R") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(data));
}

TEST_CASE("filesystem: a batch whose write fails leaves no line behind in any segment",
          "[filesystem]") {
  fs_fixture f;
  micros day1 = 0, day2 = 0;
  REQUIRE(parse_rfc3339("2026-03-01T12:00:00Z", day1));
  REQUIRE(parse_rfc3339("2026-03-02T12:00:00Z", day2));
  task_event first{new_uuid_v7(day1), day1, new_uuid_v4(), "created", "Queued", 0, "", ""};
  REQUIRE(f.db->put({to_record(first)}).ok());
  auto seg1 = f.root() + "/events/2026-03-01.jsonl";
  auto before = slurp(seg1);
  // The second day's segment cannot be opened for writing (a directory in its
  // place fails even for root), so the batch fails after the first day's
  // lines were appended: they must be taken back.
  std::filesystem::create_directories(f.root() + "/events/2026-03-02.jsonl");
  task_event a{new_uuid_v7(day1 + 1), day1 + 1, first.task_id, "started", "Running", 1, "", ""};
  task_event b{new_uuid_v7(day2), day2, first.task_id, "completed", "Completed", 1, "", ""};
  write_batch w;
  w.ops.push_back({record_op::put, to_record(a)});
  w.ops.push_back({record_op::put, to_record(b)});
  auto r = f.db->commit(w);
  REQUIRE_FALSE(r.ok());
  CHECK(r.message().find("2026-03-02.jsonl") != std::string::npos);
  CHECK(slurp(seg1) == before);
  CHECK(f.db->get(record_kind::event, a.id).code() == errc::not_found);
  std::filesystem::remove(f.root() + "/events/2026-03-02.jsonl");
  f.reopen();
  CHECK(f.db->count(record_kind::event).value() == 1);
  CHECK(f.db->get(record_kind::event, a.id).code() == errc::not_found);
}

TEST_CASE("filesystem: read-only opens change nothing and refuse writes", "[filesystem]") {
  temp_dir dir{"orch-fs"};
  actor_env env;
  auto ro = [&] {
    return storage_client{env.sys(),
                          spawn_engine_actor(env.sys(), open_filesystem_engine(dir.path(), true))};
  };
  SECTION("missing data reads as empty and nothing is created") {
    auto db = ro();
    CHECK(db.count(record_kind::task).value() == 0);
    CHECK(db.scan(record_kind::event, "", 10).value().empty());
    auto w = db.commit(write_batch{{{record_op::put, to_record(make_task())}}, {}});
    CHECK(w.code() == errc::invalid);
    CHECK(w.message().find("is opened read-only: nothing may be written") != std::string::npos);
    REQUIRE(db.close().ok());
    CHECK(dir_entries(dir.path()).empty());
  }
  SECTION("a damaged file is reported, not moved; a leftover temp file stays") {
    auto t = make_task();
    {
      storage_client rw{env.sys(), spawn_engine_actor(env.sys(), open_filesystem_engine(dir.path()))};
      REQUIRE(rw.put({to_record(t)}).ok());
      REQUIRE(rw.close().ok());
    }
    auto root = dir.path() + "/queue.rkvs";
    write_text(root + "/tasks/.half-written.json.tmp", "{");
    auto bad = root + "/tasks/" + new_uuid_v4() + ".json";
    write_text(bad, "{\"id\": ");
    try {
      open_filesystem_engine(dir.path(), true);
      FAIL("a damaged file was accepted read-only");
    } catch (const status_error& e) {
      CHECK(e.code() == errc::corrupted);
      CHECK(e.message().find(bad) != std::string::npos);
      CHECK(e.message().find("nothing was changed") != std::string::npos);
    }
    CHECK(std::filesystem::exists(bad));
    CHECK(std::filesystem::exists(root + "/tasks/.half-written.json.tmp"));
    CHECK_FALSE(std::filesystem::exists(root + "/corrupted"));
    std::filesystem::remove(bad);
    auto db = ro();
    CHECK(db.get(record_kind::task, t.id).ok());
    CHECK(std::filesystem::exists(root + "/tasks/.half-written.json.tmp"));
  }
  SECTION("a writer is kept out while it reads, and it cannot read while a writer runs") {
    REQUIRE(open_filesystem_engine(dir.path())->close().ok());  // the data and its LOCK file exist
    {
      std::unique_ptr<storage_engine> reader;
      try {
        reader = open_filesystem_engine(dir.path(), true);
      } catch (const status_error& e) {
        FAIL(e.message());
      }
      CHECK_THROWS_AS(open_filesystem_engine(dir.path()), status_error);
    }
    auto writer = open_filesystem_engine(dir.path());
    try {
      open_filesystem_engine(dir.path(), true);
      FAIL("read-only open beside a writer succeeded");
    } catch (const status_error& e) {
      CHECK(e.code() == errc::locked);
    }
  }
}

TEST_CASE("filesystem: a new version with an earlier time still wins after a restart",
          "[filesystem]") {
  // Segments are replayed in day order: the new version of a record must not
  // land in an earlier day's segment than the version it replaces.
  fs_fixture f;
  micros day1 = 0, day2 = 0;
  REQUIRE(parse_rfc3339("2026-03-01T12:00:00Z", day1));
  REQUIRE(parse_rfc3339("2026-03-02T12:00:00Z", day2));
  auto id = new_uuid_v7(day2);
  task_event later{id, day2, new_uuid_v4(), "started", "Running", 1, "", ""};
  task_event earlier{id, day1, later.task_id, "created", "Queued", 0, "corrected", ""};
  REQUIRE(f.db->put({to_record(later)}).ok());
  REQUIRE(f.db->put({to_record(earlier)}).ok());
  for (bool reopened : {false, true}) {
    INFO((reopened ? "after a restart" : "before"));
    auto got = f.db->get(record_kind::event, id);
    REQUIRE(got.ok());
    CHECK(got.value().json == to_record(earlier).json);
    if (!reopened)
      f.reopen();
  }
}
