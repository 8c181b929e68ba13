// A process ended at each step of a filesystem group commit's disk protocol
// (a child process, _exit()ed at the step as kill -9 would end it: what it
// wrote stays in the page cache, nothing more happens) leaves the round
// wholly there or wholly absent for the next start-up: never a task file
// from one round beside an event line from another. A round is there once
// its block in the commit log is; the files and segment lines written after
// it (without fsync) are written again from the log when they are missing,
// as after a power loss, and a block cut off at the end never happened.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <sys/wait.h>
#include <unistd.h>

#include "backends/filesystem/fs_engine.hpp"
#include "backends/filesystem/round_steps.hpp"
#include "runtime/core/clock.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"
#include "tests/support/batches.hpp"
#include "tests/support/temp_dir.hpp"

using namespace orch;
using namespace orch::test;

namespace {

/// The records of the test: task A queued by the first round; the second
/// round starts A (new revision, queue entry removed, a started event, an
/// audit record) and submits B (task file, queue entry).
struct scenario {
  task a, a_started, b;
  queue_entry a_entry, b_entry;
  task_event a_created, a_began;
  audit_record submitted_b;

  scenario() {
    auto now = now_us();
    a.id = new_uuid_v4();
    a.command = "true";
    a.created_at = now;
    a.revision = 1;
    a_started = a;
    a_started.status = task_status::running;
    a_started.revision = 2;
    b = a;
    b.id = new_uuid_v4();
    a_entry = {a.id, 0, now, 0, 0, {}, 0, {}};
    b_entry = {b.id, 0, now, 0, 0, {}, 0, {}};
    a_created = {new_uuid_v7(now), now, a.id, "created", "queued", 0, {}, ""};
    a_began = {new_uuid_v7(now + 5000), now + 5000, a.id, "started", "running", 1, {}, ""};
    submitted_b = {new_uuid_v7(now + 10000), now + 10000, "tester", "task.submit", b.id, "ok", {}};
  }

  write_batch first_round() const {
    return puts({to_record(a), to_record(a_entry), to_record(a_created)});
  }

  write_batch second_round() const {
    auto batch = puts({to_record(a_started), to_record(b), to_record(b_entry), to_record(a_began),
                       to_record(submitted_b)});
    batch.ops.push_back({record_op::remove, record{record_kind::queue, a.id, {}}});
    return batch;
  }
};

std::atomic<int> crash_at{-1};

void crash_hook(fs::round_step step) {
  if (static_cast<int>(step) == crash_at.load())
    ::_exit(0);
}

/// Runs both rounds in a child that ends itself at `step` of the second.
/// Exit codes: 0 ended at the step, 2 the step never came, 3 a round failed.
int run_child(const std::string& dir, const scenario& s, fs::round_step step) {
  auto pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto engine = open_filesystem_engine(dir);
    auto first = s.first_round();
    if (!engine->commit_batches({&first}))
      ::_exit(3);
    crash_at = static_cast<int>(step);
    fs::set_round_step_hook(crash_hook);
    auto second = s.second_round();
    auto r = engine->commit_batches({&second});
    ::_exit(r && r.value().at(0).ok() ? 2 : 3);
  }
  int wstatus = 0;
  REQUIRE(::waitpid(pid, &wstatus, 0) == pid);
  REQUIRE(WIFEXITED(wstatus));
  return WEXITSTATUS(wstatus);
}

bool has(storage_engine& e, record_kind kind, const std::string& key) {
  return e.get(kind, key).ok();
}

std::vector<std::string> temp_files(const std::string& root) {
  std::vector<std::string> found;
  for (auto& entry : std::filesystem::recursive_directory_iterator(root))
    if (entry.path().filename().string().find(".tmp") != std::string::npos)
      found.push_back(entry.path().string());
  return found;
}

} // namespace

namespace {

/// What a start-up finds of the second round: all of it, or none.
void check_round_two(const std::string& dir, const scenario& s, bool committed) {
  for (int reopen = 0; reopen < 2; ++reopen) {
    CAPTURE(reopen);
    auto engine = open_filesystem_engine(dir);
    auto a = engine->get(record_kind::task, s.a.id);
    REQUIRE(a);
    CHECK(decode<task>(a.value().json).value().revision == (committed ? 2u : 1u));
    CHECK(has(*engine, record_kind::queue, s.a.id) == !committed);
    CHECK(has(*engine, record_kind::task, s.b.id) == committed);
    CHECK(has(*engine, record_kind::queue, s.b.id) == committed);
    CHECK(has(*engine, record_kind::event, s.a_began.id) == committed);
    CHECK(has(*engine, record_kind::audit, s.submitted_b.id) == committed);
    CHECK(has(*engine, record_kind::event, s.a_created.id));
    CHECK(temp_files(dir).empty());
    REQUIRE(engine->close());
  }
}

void expect_read_only_refusal(const std::string& dir) {
  try {
    open_filesystem_engine(dir, true);
    FAIL("a read-only open of a half-finished round succeeded");
  } catch (const status_error& e) {
    CHECK(e.code() == errc::corrupted);
    CHECK_THAT(e.message(), Catch::Contains("Start the orchestrator on this data once"));
  }
}

std::string day_of(micros t) {
  return format_rfc3339(t).substr(0, 10) + ".jsonl";
}

} // namespace

TEST_CASE("filesystem: a kill at any step of a round after its commit leaves it wholly there",
          "[filesystem][crash]") {
  using fs::round_step;
  auto step = GENERATE(round_step::committed, round_step::half_published, round_step::published);
  CAPTURE(static_cast<int>(step));
  temp_dir dir{"orch-fs-crash"};
  scenario s;
  REQUIRE(run_child(dir.path(), s, step) == 0);
  // A reader that must change nothing refuses a committed round it would
  // have to finish, and says how to finish it.
  if (step != round_step::published)
    expect_read_only_refusal(dir.path());
  check_round_two(dir.path(), s, true);
}

TEST_CASE("filesystem: a round whose commit-log block was cut off never happened",
          "[filesystem][crash]") {
  auto cut = GENERATE(1, 2, 40);
  CAPTURE(cut);
  temp_dir dir{"orch-fs-crash"};
  scenario s;
  REQUIRE(run_child(dir.path(), s, fs::round_step::committed) == 0);
  // As if the machine stopped while the block was being written: its last
  // bytes (or its last quarter) never reached the disk.
  auto log = dir.path() + "/queue.rkvs/commit.log";
  auto size = std::filesystem::file_size(log);
  std::filesystem::resize_file(log, cut == 40 ? size - size / 4 : size - static_cast<uint64_t>(cut));
  check_round_two(dir.path(), s, false);
}

TEST_CASE("filesystem: files and lines lost after their round committed are written again from "
          "the commit log", "[filesystem][crash]") {
  temp_dir dir{"orch-fs-crash"};
  scenario s;
  REQUIRE(run_child(dir.path(), s, fs::round_step::published) == 0);
  // As after a power loss that dropped what the page cache held: B's files
  // are gone, A's file is torn, the event line is cut in half and the audit
  // segment was never created.
  auto root = dir.path() + "/queue.rkvs";
  auto events = root + "/events/" + day_of(s.a_created.time);
  std::filesystem::remove(root + "/tasks/" + s.b.id + ".json");
  std::filesystem::remove(root + "/queue/" + s.b.id + ".json");
  std::ofstream{root + "/tasks/" + s.a.id + ".json", std::ios::trunc} << "{\n  \"id\": ";
  std::filesystem::resize_file(events, to_record(s.a_created).json.size() + 1
                                         + to_record(s.a_began).json.size() / 2);
  std::filesystem::remove(root + "/audit/" + day_of(s.submitted_b.time));
  expect_read_only_refusal(dir.path());
  {
    auto engine = open_filesystem_engine(dir.path());
    bool reported = false;
    auto info = engine->info().value();
    for (auto& note : info.notes)
      reported = reported || note.find("written again") != std::string::npos;
    CHECK(reported);
    REQUIRE(engine->close());
  }
  check_round_two(dir.path(), s, true);
  CHECK(slurp(events) == to_record(s.a_created).json + "\n" + to_record(s.a_began).json + "\n");
}

TEST_CASE("filesystem: a clean close leaves a commit log of one checkpoint line",
          "[filesystem][crash]") {
  temp_dir dir{"orch-fs-crash"};
  scenario s;
  {
    auto engine = open_filesystem_engine(dir.path());
    auto first = s.first_round();
    REQUIRE(engine->commit_batches({&first}).value().at(0).ok());
    auto second = s.second_round();
    REQUIRE(engine->commit_batches({&second}).value().at(0).ok());
    REQUIRE(engine->close());
  }
  auto log = slurp(dir.path() + "/queue.rkvs/commit.log");
  CHECK(log.find('\n') == log.size() - 1);
  CHECK_THAT(log, Catch::Contains("\"checkpoint\":true"));
  auto reader = open_filesystem_engine(dir.path(), true);
  CHECK(has(*reader, record_kind::task, s.b.id));
}

TEST_CASE("filesystem: after a crash, rounds append where the committed lines end",
          "[filesystem][crash]") {
  temp_dir dir{"orch-fs-crash"};
  scenario s;
  auto root = dir.path() + "/queue.rkvs";
  auto day = day_of(s.a.created_at);
  {
    auto engine = open_filesystem_engine(dir.path());
    auto first = s.first_round();
    REQUIRE(engine->commit_batches({&first}).value().at(0).ok());
    REQUIRE(engine->close());
  }
  // Lines past the sizes the log committed, as the previous format's writer
  // left them when a crash cut a round off before its commit line.
  std::ofstream{root + "/events/" + day, std::ios::app} << to_record(s.a_began).json << "\n";
  std::filesystem::create_directories(root + "/audit");
  std::ofstream{root + "/audit/" + day} << to_record(s.submitted_b).json << "\n";
  {
    auto engine = open_filesystem_engine(dir.path());
    // The lines of the cut-off round are set aside, not destroyed.
    bool reported = false;
    auto info = engine->info().value();
    for (auto& note : info.notes)
      reported = reported || note.find("never acknowledged") != std::string::npos;
    CHECK(reported);
    CHECK(slurp(root + "/uncommitted/task_events-" + day) == to_record(s.a_began).json + "\n");
    CHECK(slurp(root + "/uncommitted/audit_log-" + day) == to_record(s.submitted_b).json + "\n");
    CHECK_FALSE(std::filesystem::exists(root + "/corrupted"));
    auto again = s.second_round();
    auto r = engine->commit_batches({&again});
    REQUIRE(r);
    REQUIRE(r.value().at(0).ok());
    REQUIRE(engine->close());
  }
  auto engine = open_filesystem_engine(dir.path());
  CHECK(engine->info().value().notes.empty());
  CHECK(has(*engine, record_kind::event, s.a_began.id));
  CHECK(has(*engine, record_kind::audit, s.submitted_b.id));
  CHECK(has(*engine, record_kind::task, s.b.id));
  CHECK(slurp(root + "/events/" + day)
        == to_record(s.a_created).json + "\n" + to_record(s.a_began).json + "\n");
  CHECK(slurp(root + "/audit/" + day) == to_record(s.submitted_b).json + "\n");
}

namespace {

std::string blocked_path;  // where the hook puts a directory in a rename's way

void block_rename(fs::round_step step) {
  if (step == fs::round_step::committed && !blocked_path.empty()) {
    std::filesystem::create_directories(blocked_path + "/in-the-way");
    blocked_path.clear();
  }
}

} // namespace

TEST_CASE("filesystem: a committed round whose renames fail counts, and is put in place before "
          "the next one or by the next start-up", "[filesystem][crash]") {
  temp_dir dir{"orch-fs-crash"};
  scenario s;
  auto root = dir.path() + "/queue.rkvs";
  auto b_file = root + "/tasks/" + s.b.id + ".json";
  auto restart = GENERATE(false, true);
  CAPTURE(restart);
  {
    auto engine = open_filesystem_engine(dir.path());
    auto first = s.first_round();
    REQUIRE(engine->commit_batches({&first}).value().at(0).ok());
    blocked_path = b_file;
    fs::set_round_step_hook(block_rename);
    auto second = s.second_round();
    auto r = engine->commit_batches({&second});
    fs::set_round_step_hook(nullptr);
    // The rename of B's file fails after the round committed: the round
    // happened, its writer is told so, and reads see it...
    REQUIRE(r);
    CHECK(r.value().at(0).ok());
    CHECK(decode<task>(engine->get(record_kind::task, s.b.id).value().json).value().id == s.b.id);
    CHECK(decode<task>(engine->get(record_kind::task, s.a.id).value().json).value().revision == 2u);
    CHECK_FALSE(has(*engine, record_kind::queue, s.a.id));
    // ...but nothing more is written until it is in place.
    auto more = puts({to_record(task_event{new_uuid_v7(now_us() + 20000), now_us() + 20000,
                                           s.a.id, "note", "running", 1, {}, ""})});
    auto refused = engine->commit_batches({&more});
    bool refused_whole = !refused || !refused.value().at(0).ok();
    CHECK(refused_whole);
    if (!restart) {
      std::filesystem::remove_all(b_file);
      auto after = engine->commit_batches({&more});
      REQUIRE(after);
      CHECK(after.value().at(0).ok());
      CHECK(std::filesystem::is_regular_file(b_file));
    }
    REQUIRE(engine->close());
  }
  if (restart)
    std::filesystem::remove_all(b_file);  // out of the way now: start-up finishes the round
  // However it ended, the committed round is there after a restart, whole.
  auto engine = open_filesystem_engine(dir.path());
  CHECK(decode<task>(engine->get(record_kind::task, s.a.id).value().json).value().revision == 2u);
  CHECK_FALSE(has(*engine, record_kind::queue, s.a.id));
  CHECK(has(*engine, record_kind::task, s.b.id));
  CHECK(has(*engine, record_kind::queue, s.b.id));
  CHECK(has(*engine, record_kind::event, s.a_began.id));
  CHECK(has(*engine, record_kind::audit, s.submitted_b.id));
  CHECK(temp_files(dir.path()).empty());
}
