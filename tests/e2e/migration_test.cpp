// `orchestrator migrate` end to end: the real binary moving generated data
// sets between real backends (files, RocksDB, the SurrealDB test server), and
// everything that can go wrong on the way: kill -9, a server that goes away, a
// directory it may not write, a dry run, filters, misconfigurations.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <regex>
#include <set>
#include <sstream>

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "runtime/app/access.hpp"
#include "runtime/app/migrate_checks.hpp"
#include "runtime/migrate/pipeline.hpp"
#include "runtime/messages/actor_env.hpp"
#include "runtime/core/codec.hpp"
#include "backends/storage_client.hpp"
#include "backends/open_storage.hpp"
#include "tests/e2e/migration_support.hpp"
#include "tests/support/dataset.hpp"
#include "tests/support/orchestrator_process.hpp"
#include "tests/support/surreal_server.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/wait.hpp"

using namespace orch;
using namespace orch::test;
using orch::migrate_checks::describe;
using nlohmann::json;

namespace {

/// Copies every pair's data set, verifies, checks the copy record by record,
/// that the source did not change, and that running it again writes nothing.
void migrate_pair(const std::string& from, const std::string& to) {
  temp_dir d{"orch-migrate"};
  actor_env env;
  auto src = make_place(from, d, "source");
  auto dst = make_place(to, d, "target");
  dataset_spec spec;
  fill(env.sys(), src, spec);
  auto before = dump(env.sys(), src);
  REQUIRE(counts_of(before) == expected_counts(spec));
  auto total = std::to_string(spec_total(spec));
  auto source_bytes = tree_digest(local_dir(src));

  auto args = migrate_cmd(src, dst, d, {"--batch-size", "100", "--verify"});
  auto r = run_migrate(args, d / "run");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("verified: " + total + " records identical in source and target")
        != std::string::npos);
  CHECK(r.out.find("migration complete") != std::string::npos);
  CHECK(summary_row(r.out, "tasks") == std::vector<std::string>{"600", "600", "0", "0"});
  CHECK(summary_row(r.out, "task_events") == std::vector<std::string>{"1200", "1200", "0", "0"});
  auto copied = dump(env.sys(), dst);
  CHECK(copied_records(copied) == before);
  CHECK(dump(env.sys(), src) == before);
  // The target holds the migration's own audit record: what, from where, by whom.
  auto audit = migration_records(copied);
  REQUIRE(audit.size() == 1);
  CHECK(audit[0]["principal"] == cli_principal());
  CHECK(audit[0]["outcome"] == "ok");
  CHECK(audit[0]["target"] == "storage:" + describe(dst));
  auto details = audit[0]["details"].get<std::string>();
  CHECK(details.find("copied " + total + " of " + total + " records read (") == 0);
  CHECK(details.find("tasks 600") != std::string::npos);
  CHECK(details.find(" from " + describe(src) + " to " + describe(dst)) != std::string::npos);
  CHECK(details.find("; verified") != std::string::npos);
  CHECK(tree_digest(local_dir(src)) == source_bytes);

  // Running the finished migration again writes nothing.
  auto target_bytes = tree_digest(local_dir(dst));
  auto again = run_migrate(args, d / "again");
  INFO(again.err);
  CHECK(again.exit_code == 0);
  CHECK(again.out.find("this migration already completed") != std::string::npos);
  CHECK(again.out.find("verified: " + total + " records compared") != std::string::npos);
  CHECK(tree_digest(local_dir(dst)) == target_bytes);
  CHECK(dump(env.sys(), dst) == copied);
}

} // namespace

TEST_CASE("migrate: filesystem to filesystem copies every kind and verifies", "[migrate]") {
  migrate_pair("filesystem", "filesystem");
}
TEST_CASE("migrate: filesystem to surrealdb-embedded copies every kind and verifies", "[migrate]") {
  migrate_pair("filesystem", "surrealdb-embedded");
}
TEST_CASE("migrate: filesystem to surrealdb-server copies every kind and verifies", "[migrate]") {
  migrate_pair("filesystem", "surrealdb-server");
}
TEST_CASE("migrate: surrealdb-embedded to filesystem copies every kind and verifies",
          "[migrate]") {
  migrate_pair("surrealdb-embedded", "filesystem");
}
TEST_CASE("migrate: surrealdb-embedded to surrealdb-embedded copies every kind and verifies",
          "[migrate]") {
  migrate_pair("surrealdb-embedded", "surrealdb-embedded");
}
TEST_CASE("migrate: surrealdb-embedded to surrealdb-server copies every kind and verifies",
          "[migrate]") {
  migrate_pair("surrealdb-embedded", "surrealdb-server");
}
TEST_CASE("migrate: surrealdb-server to filesystem copies every kind and verifies", "[migrate]") {
  migrate_pair("surrealdb-server", "filesystem");
}
TEST_CASE("migrate: surrealdb-server to surrealdb-embedded copies every kind and verifies",
          "[migrate]") {
  migrate_pair("surrealdb-server", "surrealdb-embedded");
}
TEST_CASE("migrate: surrealdb-server to another database copies every kind and verifies",
          "[migrate]") {
  migrate_pair("surrealdb-server", "surrealdb-server");
}

TEST_CASE("migrate: a round trip through every backend ends with identical records",
          "[migrate]") {
  temp_dir d{"orch-migrate"};
  actor_env env;
  auto start = make_place("filesystem", d, "start");
  auto embedded = make_place("surrealdb-embedded", d, "embedded");
  auto server = make_place("surrealdb-server", d, "server");
  auto end = make_place("filesystem", d, "end");
  dataset_spec spec;
  spec.tasks = 300;
  fill(env.sys(), start, spec);
  auto original = dump(env.sys(), start);
  for (auto [from, to] : {std::pair{&start, &embedded}, {&embedded, &server}, {&server, &end}}) {
    auto r = run_migrate(migrate_cmd(*from, *to, d, {"--batch-size", "64"}), d / to->type);
    INFO(from->type << " -> " << to->type << ": " << r.err);
    REQUIRE(r.exit_code == 0);
  }
  auto end_records = dump(env.sys(), end);
  auto final_records = copied_records(end_records);
  CHECK(counts_of(final_records) == expected_counts(spec));
  // The audit trail travels with the data: each hop's record, carried on.
  auto trail = migration_records(end_records);
  REQUIRE(trail.size() == 3);
  CHECK(trail[0]["target"] == "storage:" + describe(embedded));
  CHECK(trail[1]["target"] == "storage:" + describe(server));
  CHECK(trail[2]["target"] == "storage:" + describe(end));
  for (auto kind : all_record_kinds) {
    INFO(to_string(kind));
    CHECK(final_records[kind] == original[kind]);
  }
}

TEST_CASE("migrate: a run killed with kill -9 continues with --resume and ends like an "
          "uninterrupted one",
          "[migrate]") {
  temp_dir d{"orch-migrate"};
  actor_env env;
  auto src = make_place("surrealdb-embedded", d, "source");
  auto dst = make_place("filesystem", d, "target");
  auto reference = make_place("filesystem", d, "reference");
  dataset_spec spec;
  spec.tasks = 2000;
  fill(env.sys(), src, spec);
  auto before = dump(env.sys(), src);
  auto journal = dst.data_dir + "/migration-journal.jsonl";
  auto args = migrate_cmd(src, dst, d, {"--batch-size", "25"});

  {
    auto argv = args;
    argv.insert(argv.begin(), orchestrator_binary());
    child killed{argv, d / "killed"};
    // Halfway is a few dozen committed batches into several hundred.
    REQUIRE(wait_until([&] { return journal_entries(journal, "commit").size() >= 60; },
                       std::chrono::seconds(120), std::chrono::milliseconds(2)));
    REQUIRE(killed.running());
    killed.kill9();
  }
  REQUIRE(journal_entries(journal, "done").empty());
  uint64_t committed_before = 0;
  for (auto& c : journal_entries(journal, "commit")) {
    committed_before += c.value("written", uint64_t{0});
    CHECK_FALSE(c.value("last", std::string{}).empty());  // where a resume goes on from
  }
  settle(env.sys(), dst);
  auto partial = dump(env.sys(), dst);
  CHECK(counts_of(partial) != counts_of(before));

  // Without --resume it refuses to start over the interrupted run.
  auto refused = run_migrate(args, d / "refused");
  CHECK(refused.exit_code == 2);
  CHECK(refused.err.find("an interrupted migration into this target is recorded in " + journal
                         + ": continue it with --resume, or undo it with --rollback")
        != std::string::npos);

  auto resumed_args = args;
  resumed_args.insert(resumed_args.end(), {"--resume", "--verify"});
  auto resumed = run_migrate(resumed_args, d / "resumed");
  INFO(resumed.err);
  REQUIRE(resumed.exit_code == 0);
  CHECK(resumed.err.find("verified: " + std::to_string(spec_total(spec))) != std::string::npos);
  // It went on after each kind's last committed key instead of reading from the start.
  std::smatch m;
  REQUIRE(std::regex_search(resumed.out, m, std::regex{R"((\d+) records in )"}));
  CHECK(std::stoull(m[1]) <= spec_total(spec) - committed_before);

  auto plain = run_migrate(migrate_cmd(src, reference, d, {"--batch-size", "25"}), d / "plain");
  REQUIRE(plain.exit_code == 0);
  auto resumed_records = copied_records(dump(env.sys(), dst));
  CHECK(resumed_records == copied_records(dump(env.sys(), reference)));
  CHECK(resumed_records == before);
  // Nothing was written twice: the batches committed by both runs add up to
  // exactly one write per record.
  uint64_t written = 0;
  for (auto& c : journal_entries(journal, "commit"))
    written += c.value("written", uint64_t{0});
  CHECK(written == spec_total(spec));
  CHECK(journal_entries(journal, "done").size() == 1);
}

TEST_CASE("migrate: a server stopped mid-run is rolled back once it is back, leaving the "
          "target as before",
          "[migrate]") {
  temp_dir d{"orch-migrate"};
  actor_env env;
  surreal_server server;
  auto src = make_place("filesystem", d, "source");
  auto dst = make_place("surrealdb-server", d, "target", &server);
  dataset_spec spec;
  spec.tasks = 1500;
  fill(env.sys(), src, spec);
  dataset_spec small;
  small.tasks = 12;
  small.users = 3;
  small.audit = 5;
  small.metrics = 5;
  fill(env.sys(), dst, small);
  // Some records the migration replaces: the rollback must bring them back.
  put_changed_copies(env.sys(), dst, src, 5);
  auto pre = dump(env.sys(), dst);

  SECTION("the rollback waits for the server to return") {
    auto argv = migrate_cmd(src, dst, d, {"--merge", "--batch-size", "20"});
    argv.insert(argv.begin(), orchestrator_binary());
    child run{argv, d / "run"};
    auto journal = d / ("journal-" + dst.surrealdb_database + ".jsonl");
    REQUIRE(wait_until([&] { return journal_entries(journal, "commit").size() >= 15; },
                       std::chrono::seconds(120), std::chrono::milliseconds(2)));
    server.stop();
    REQUIRE(wait_until([&] { return run.err().find("rolling back") != std::string::npos; },
                       std::chrono::seconds(60)));
    server.restart();
    CHECK(run.wait_exit(std::chrono::seconds(180)) == 1);
    INFO(run.err());
    CHECK(run.err().find("error: the migration failed: ") != std::string::npos);
    CHECK(run.err().find("the target failed: the connection to SurrealDB at " + dst.surrealdb_url
                         + " was lost")
          != std::string::npos);
    CHECK(run.err().find("rolled back: the target is as it was before") != std::string::npos);
    CHECK(dump(env.sys(), dst) == pre);
  }
  SECTION("a server that stays away is rolled back later with --rollback") {
    auto args = migrate_cmd(src, dst, d, {"--merge", "--batch-size", "20",
                                          "--rollback-timeout-s", "1"});
    auto argv = args;
    argv.insert(argv.begin(), orchestrator_binary());
    child run{argv, d / "run"};
    auto journal = d / ("journal-" + dst.surrealdb_database + ".jsonl");
    REQUIRE(wait_until([&] { return journal_entries(journal, "commit").size() >= 15; },
                       std::chrono::seconds(120), std::chrono::milliseconds(2)));
    server.stop();
    CHECK(run.wait_exit(std::chrono::seconds(120)) == 1);
    INFO(run.err());
    CHECK(run.err().find("run the same command with --rollback once the target is reachable")
          != std::string::npos);
    server.restart();
    args.push_back("--rollback");
    auto undo = run_migrate(args, d / "undo");
    INFO(undo.err);
    CHECK(undo.exit_code == 0);
    CHECK(undo.out.find("rolled back") != std::string::npos);
    CHECK(dump(env.sys(), dst) == pre);
  }
}

TEST_CASE("migrate: a target file it may not write fails a batch midway and is rolled back, "
          "leaving every record as before",
          "[migrate]") {
  temp_dir d{"orch-migrate"};
  actor_env env;
  auto src = make_place("surrealdb-embedded", d, "source");
  auto dst = make_place("filesystem", d, "target");
  dataset_spec spec;
  fill(env.sys(), src, spec);
  dataset_spec small;
  small.tasks = 12;
  small.users = 3;
  small.audit = 5;
  small.metrics = 5;
  fill(env.sys(), dst, small);
  put_changed_copies(env.sys(), dst, src, 3);
  auto pre = dump(env.sys(), dst);
  // A segment file of the target's events that may not be written: tasks and
  // queue entries (a dozen batches) are in the target when the first batch
  // of events fails.
  auto segment = dst.data_dir + "/queue.rkvs/events/2026-01-01.jsonl";
  REQUIRE(::chmod(segment.c_str(), 0444) == 0);
  unprivileged_owner(d.path());

  auto r = run_migrate(as_unprivileged(migrate_cmd(src, dst, d, {"--merge", "--batch-size", "50"})),
                       d / "run", /*prefixed=*/true);
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("writing 50 task_events records to the target failed: cannot open " + segment
                   + ": Permission denied")
        != std::string::npos);
  CHECK(r.err.find("rolled back: the target is as it was before") != std::string::npos);
  CHECK(dump(env.sys(), dst) == pre);
}

TEST_CASE("migrate: a dry run reads everything, reports what it would write and changes "
          "nothing",
          "[migrate]") {
  temp_dir d{"orch-migrate"};
  actor_env env;
  dataset_spec spec;

  SECTION("into a target that does not exist: it is not created") {
    auto src = make_place("filesystem", d, "source");
    auto dst = make_place("surrealdb-embedded", d, "target");
    fill(env.sys(), src, spec);
    auto source_bytes = tree_digest(src.data_dir);
    auto r = run_migrate(migrate_cmd(src, dst, d, {"--dry-run"}), d / "dry");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("dry run complete: nothing was written") != std::string::npos);
    CHECK(r.out.find("would write") != std::string::npos);
    CHECK(summary_row(r.out, "tasks") == std::vector<std::string>{"600", "600", "0", "0"});
    CHECK(summary_row(r.out, "users") == std::vector<std::string>{"20", "20", "0", "0"});
    CHECK_FALSE(std::filesystem::exists(dst.data_dir));
    CHECK(tree_digest(src.data_dir) == source_bytes);
  }
  SECTION("into a filesystem target holding records: not a byte changes") {
    auto src = make_place("surrealdb-embedded", d, "source");
    auto dst = make_place("filesystem", d, "target");
    fill(env.sys(), src, spec);
    dataset_spec small;
    small.tasks = 30;
    fill(env.sys(), dst, small);
    put_changed_copies(env.sys(), dst, src, 4);
    auto source_bytes = tree_digest(src.data_dir);
    auto target_bytes = tree_digest(dst.data_dir);
    auto r = run_migrate(migrate_cmd(src, dst, d, {"--dry-run", "--merge"}), d / "dry");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(summary_row(r.out, "tasks") == std::vector<std::string>{"604", "604", "0", "0"});
    CHECK(tree_digest(dst.data_dir) == target_bytes);
    CHECK(tree_digest(src.data_dir) == source_bytes);
  }
  SECTION("into an embedded target and a server holding records: nothing changes") {
    auto src = make_place("filesystem", d, "source");
    fill(env.sys(), src, spec);
    for (auto type : {"surrealdb-embedded", "surrealdb-server"}) {
      auto dst = make_place(type, d, std::string{"target-"} + type);
      dataset_spec small;
      small.tasks = 30;
      fill(env.sys(), dst, small);
      auto pre = dump(env.sys(), dst);
      auto target_bytes = tree_digest(local_dir(dst));
      // The same records as the target: a merge would leave them unchanged.
      auto same = make_place("filesystem", d, std::string{"same-"} + type);
      REQUIRE(run_migrate(migrate_cmd(dst, same, d, {}), d / "copy").exit_code == 0);
      auto r = run_migrate(migrate_cmd(same, dst, d, {"--dry-run", "--merge"}), d / "dry");
      INFO(type << ": " << r.err);
      REQUIRE(r.exit_code == 0);
      CHECK(summary_row(r.out, "tasks") == std::vector<std::string>{"30", "0", "30", "0"});
      CHECK(tree_digest(local_dir(dst)) == target_bytes);
      CHECK(dump(env.sys(), dst) == pre);
    }
  }
}

TEST_CASE("migrate: filters select exactly the matching records", "[migrate]") {
  temp_dir d{"orch-migrate"};
  actor_env env;
  auto src = make_place("filesystem", d, "source");
  dataset_spec spec;
  fill(env.sys(), src, spec);
  auto all = dump(env.sys(), src);

  // What a filter should select, computed from the dump.
  auto expect = [&](std::set<record_kind> kinds, std::set<std::string> statuses, micros since,
                    micros until) {
    dump_t out;
    std::set<std::string> chosen;
    for (auto& [key, text] : all[record_kind::task]) {
      auto t = json::parse(text);
      auto created = t["created_at"].get<std::string>();
      micros c = 0;
      parse_rfc3339(created, c);
      if ((statuses.empty() || statuses.count(t["status"].get<std::string>()))
          && (since == 0 || c >= since) && (until == 0 || c < until))
        chosen.insert(key);
    }
    for (auto kind : all_record_kinds) {
      auto& into = out[kind];
      if (!kinds.count(kind))
        continue;
      for (auto& [key, text] : all[kind]) {
        bool keep = true;
        if (kind == record_kind::task || kind == record_kind::queue)
          keep = chosen.count(key) > 0;
        else if (kind == record_kind::event)
          keep = chosen.count(json::parse(text)["task_id"].get<std::string>()) > 0;
        if (keep)
          into.emplace(key, text);
      }
    }
    return out;
  };
  std::set<record_kind> every(all_record_kinds.begin(), all_record_kinds.end());
  micros since = 0, until = 0;
  parse_rfc3339("2026-01-05T00:00:00Z", since);
  parse_rfc3339("2026-01-20T00:00:00Z", until);

  struct filter_case {
    const char* name;
    std::vector<std::string> args;
    dump_t expected;
  } cases[] = {
    {"status and time range",
     {"--status", "Completed", "--status", "failed", "--since", "2026-01-05T00:00:00Z",
      "--until", "2026-01-20T00:00:00Z"},
     expect(every, {"Completed", "Failed"}, since, until)},
    {"kinds", {"--kinds", "users,audit_log"}, expect({record_kind::user, record_kind::audit}, {}, 0, 0)},
    {"queue entries and events of queued tasks, without the tasks",
     {"--kinds", "task_queue,task_events", "--status", "Queued"},
     expect({record_kind::queue, record_kind::event}, {"Queued"}, 0, 0)},
  };
  for (auto& c : cases) {
    INFO(c.name);
    auto dst = make_place("surrealdb-embedded", d, std::string{"target-"} + std::to_string(&c - cases));
    auto args = c.args;
    args.push_back("--verify");
    auto r = run_migrate(migrate_cmd(src, dst, d, args), d / "filter");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto got = copied_records(dump(env.sys(), dst));
    for (auto kind : all_record_kinds) {
      INFO(to_string(kind));
      CHECK(got[kind].size() == c.expected[kind].size());
      CHECK(got[kind] == c.expected[kind]);
    }
  }
  CHECK(expect(every, {"Completed", "Failed"}, since, until)[record_kind::task].size() > 0);
  CHECK(expect(every, {"Completed", "Failed"}, since, until)[record_kind::task].size() < 600);

  auto bad = run_migrate(migrate_cmd(src, make_place("filesystem", d, "x"), d,
                                     {"--status", "Sleeping"}),
                         d / "bad");
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("--status: unknown status 'Sleeping' (use Pending, Queued, Running, "
                     "Completed, Failed, Cancelled)")
        != std::string::npos);
}

TEST_CASE("migrate: validate reports each misconfiguration with its own message", "[migrate]") {
  temp_dir d{"orch-migrate"};
  actor_env env;
  auto src = make_place("filesystem", d, "source");
  dataset_spec spec;
  spec.tasks = 60;
  fill(env.sys(), src, spec);
  auto validate = [&](const storage_settings& from, const storage_settings& to,
                      std::vector<std::string> extra = {}) {
    auto args = migrate_cmd(from, to, d, std::move(extra));
    args.insert(args.begin() + 1, "validate");
    return run_migrate(args, d / "validate");
  };

  SECTION("a valid pair passes and nothing is created") {
    auto dst = make_place("surrealdb-embedded", d, "fresh");
    auto r = validate(src, dst);
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("validation passed") != std::string::npos);
    CHECK(r.out.find("records to migrate: " + std::to_string(spec_total(spec)))
          != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dst.data_dir));
  }
  SECTION("a target holding records needs --merge") {
    auto dst = make_place("surrealdb-embedded", d, "full");
    fill(env.sys(), dst, spec);
    auto r = validate(src, dst);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("target: it already holds 60 tasks records; migrate into an empty target, "
                     "or pass --merge to add to them")
          != std::string::npos);
    CHECK(validate(src, dst, {"--merge"}).exit_code == 0);
  }
  SECTION("wrong credentials") {
    auto dst = make_place("surrealdb-server", d, "server");
    dst.surrealdb_password = "not-the-password";
    auto r = validate(src, dst);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("target (surrealdb-server at " + dst.surrealdb_url) != std::string::npos);
    CHECK(r.err.find("rejected the credentials of user 'root'") != std::string::npos);
    CHECK(r.err.find("not-the-password") == std::string::npos);
  }
  SECTION("an unreachable server") {
    auto dst = make_place("surrealdb-server", d, "server");
    dst.surrealdb_url = "ws://127.0.0.1:1";
    auto r = validate(src, dst);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("cannot connect to SurrealDB at ws://127.0.0.1:1") != std::string::npos);
  }
  SECTION("a source that a running orchestrator holds") {
    orchestrator_process running{{"--data-dir", src.data_dir, "--log-level", "warn"}, d / "orch"};
    auto r = validate(src, make_place("surrealdb-embedded", d, "t"));
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("is in use by another orchestrator process") != std::string::npos);
    CHECK(r.err.find("A running orchestrator uses this data: stop it before migrating from it")
          != std::string::npos);
  }
  SECTION("a target directory it may not write") {
    auto parent = d / "locked-parent";
    std::filesystem::create_directories(parent);
    REQUIRE(::chmod(parent.c_str(), 0555) == 0);
    unprivileged_owner(d.path());
    storage_settings dst;
    dst.type = "filesystem";
    dst.data_dir = parent + "/data";
    auto args = migrate_cmd(src, dst, d, {});
    args.insert(args.begin() + 1, "validate");
    auto r = run_migrate(as_unprivileged(args), d / "validate", /*prefixed=*/true);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("target: the target directory " + dst.data_dir + " is not writable ("
                     + parent + ": Permission denied)")
          != std::string::npos);
  }
  SECTION("a target without room for the copy") {
    // 60 tasks as files of a block each, and more, do not fit in 64 KiB. The
    // small disk is a tmpfs: mounted here, or, where this process may not
    // mount, inside a user and mount namespace of the commands' own.
    auto small = d / "small-disk";
    std::filesystem::create_directories(small);
    bool mounted = ::mount("tmpfs", small.c_str(), "tmpfs", 0, "size=64k") == 0;
    auto mount_error = mounted ? std::string{} : std::string{std::strerror(errno)};
    struct unmount {
      std::string path;
      bool mounted;
      ~unmount() {
        if (mounted)
          ::umount2(path.c_str(), MNT_DETACH);
      }
    } guard{small, mounted};
    auto on_small_disk = [&](std::vector<std::string> args) {
      args.insert(args.begin(), orchestrator_binary());
      if (mounted)
        return args;
      std::vector<std::string> wrapped{
        "unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
        "mount -t tmpfs -o size=64k tmpfs \"$0\" && exec \"$@\"", small};
      wrapped.insert(wrapped.end(), args.begin(), args.end());
      return wrapped;
    };
    storage_settings dst;
    dst.type = "filesystem";
    dst.data_dir = small + "/data";
    auto check_args = migrate_cmd(src, dst, d, {});
    check_args.insert(check_args.begin() + 1, "validate");
    auto r = run_migrate(on_small_disk(check_args), d / "validate", /*prefixed=*/true);
    INFO(r.err);
    if (!mounted && r.err.find("unshare") == 0)
      FAIL("no small filesystem for the free-space check: mount failed (" << mount_error
                                                                           << ") and so did "
                                                                           << r.err);
    CHECK(r.exit_code == 1);
    std::smatch m;
    CHECK(std::regex_search(
      r.err, m,
      std::regex{"target: the copy needs about [0-9.]+ (KiB|MiB) but only [0-9.]+ (bytes|KiB) are "
                 "free for "
                 + small + "/data; free some space or choose another --target-dir"}));
    CHECK(run_migrate(on_small_disk(migrate_cmd(src, dst, d, {})), d / "full", true).exit_code == 2);
    CHECK_FALSE(std::filesystem::exists(dst.data_dir));
  }
  SECTION("a server end without a URL, and the same place at both ends") {
    auto r = run_migrate({"migrate", "validate", "--from", "filesystem", "--to",
                          "surrealdb-server", "--source-dir", src.data_dir},
                         d / "nourl");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("the target is a SurrealDB server: give --surrealdb-url") != std::string::npos);
    auto same_place = src;
    auto same = validate(src, same_place);
    INFO(same.err);
    CHECK(same.exit_code == 2);
    CHECK(same.err.find("source and target are the same place") != std::string::npos);
  }
}

TEST_CASE("migrate: refuses a source that a running orchestrator holds", "[migrate]") {
  temp_dir d{"orch-migrate"};
  actor_env env;
  for (auto type : {"filesystem", "surrealdb-embedded"}) {
    auto src = make_place(type, d, std::string{"source-"} + type);
    fill(env.sys(), src, dataset_spec{.tasks = 10});
    orchestrator_process running{{"--storage-type", type, "--data-dir", src.data_dir,
                                  "--log-level", "warn"},
                                 d / "orch"};
    auto dst = make_place("filesystem", d, std::string{"target-"} + type);
    auto r = run_migrate(migrate_cmd(src, dst, d, {}), d / "refused");
    INFO(type << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("error: source (" + std::string{type}) != std::string::npos);
    CHECK(r.err.find("A running orchestrator uses this data: stop it before migrating from it, "
                     "or migrate from a backup (orchestrator backup)")
          != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dst.data_dir + "/queue.rkvs/tasks"));
  }
}

TEST_CASE("migrate: backpressure bounds the records between source and sink, whatever the "
          "size of the data",
          "[migrate]") {
  // Without the stream's credit bounding the stage, a fast source in front of
  // a slow sink (a file per task) is read whole into the stage's buffer.
  temp_dir d{"orch-migrate"};
  actor_env env;
  dataset_spec spec;
  spec.tasks = 6000;
  auto src = make_place("surrealdb-embedded", d, "source");
  auto dst = make_place("filesystem", d, "target");
  fill(env.sys(), src, spec);
  auto r = run_migrate(migrate_cmd(src, dst, d, {"--batch-size", "50", "--verbose"}), d / "bp");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::smatch m;
  std::regex line{R"(backpressure: at most (\d+) records were between the source and the sink \(bound (\d+)\))"};
  REQUIRE(std::regex_search(r.out, m, line));
  auto seen = std::stoull(m[1]);
  auto bound = std::stoull(m[2]);
  CHECK(bound == migration::max_records_in_flight(50));
  REQUIRE(spec_total(spec) > 4 * bound);       // the data set is far bigger than the bound
  CHECK(seen > 0);
  CHECK(seen <= bound);
}

TEST_CASE("migrate: a server source whose namespace or database does not exist reads as empty "
          "and is not created",
          "[migrate]") {
  // SurrealDB's `use` creates what it selects: a source must not be changed,
  // not even by a mistyped name.
  temp_dir d{"orch-migrate"};
  auto& server = surreal_server::shared();
  auto names_in = [&](const std::string& text, const char* field) {
    auto info = root_query(server.url(), text).back().at("result").at(field);
    std::set<std::string> names;
    for (auto& [name, definition] : info.items())
      names.insert(name);
    return names;
  };
  auto missing_db = make_place("surrealdb-server", d, "missing");
  root_query(server.url(), "DEFINE NAMESPACE IF NOT EXISTS " + missing_db.surrealdb_namespace);
  auto missing_ns = missing_db;
  missing_ns.surrealdb_namespace = "no-such-namespace";
  for (auto* src : {&missing_ns, &missing_db}) {
    INFO("namespace " << src->surrealdb_namespace << ", database " << src->surrealdb_database);
    auto dst = make_place("filesystem", d, "target-" + src->surrealdb_namespace);
    auto r = run_migrate(migrate_cmd(*src, dst, d, {}), d / "empty");
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.err.find("holds no records: is that the right place?") != std::string::npos);
  }
  CHECK(names_in("INFO FOR ROOT", "namespaces").count("no-such-namespace") == 0);
  REQUIRE(names_in("INFO FOR ROOT", "namespaces").count(missing_db.surrealdb_namespace) == 1);
  CHECK(names_in("USE NS " + missing_db.surrealdb_namespace + "; INFO FOR NS", "databases")
          .count(missing_db.surrealdb_database)
        == 0);
}

TEST_CASE("migrate: a source lost mid-run stops the copy and the target is rolled back to what "
          "it was",
          "[migrate]") {
  // The source fails while the sink has batches gathered and a write going
  // on: nothing may reach the target after the rollback has begun.
  temp_dir d{"orch-migrate"};
  actor_env env;
  surreal_server server;
  auto src = make_place("surrealdb-server", d, "source", &server);
  auto dst = make_place("surrealdb-embedded", d, "target");
  dataset_spec spec;
  spec.tasks = 1500;
  fill(env.sys(), src, spec);
  dataset_spec small;
  small.tasks = 12;
  fill(env.sys(), dst, small);
  put_changed_copies(env.sys(), dst, src, 5);
  auto pre = dump(env.sys(), dst);
  auto argv = migrate_cmd(src, dst, d, {"--merge", "--batch-size", "20"});
  argv.insert(argv.begin(), orchestrator_binary());
  child run{argv, d / "run"};
  auto journal = dst.data_dir + "/migration-journal.jsonl";
  REQUIRE(wait_until([&] { return journal_entries(journal, "commit").size() >= 15; },
                     std::chrono::seconds(120), std::chrono::milliseconds(2)));
  server.stop();
  CHECK(run.wait_exit(std::chrono::seconds(120)) == 1);
  INFO(run.err());
  CHECK(run.err().find("from the source failed") != std::string::npos);
  CHECK(run.err().find("rolled back: the target is as it was before") != std::string::npos);
  CHECK(journal_entries(journal, "rolled_back").size() == 1);
  CHECK(dump(env.sys(), dst) == pre);
}
