// Benchmark of `orchestrator migrate`: records per second for each ordered
// pair of backends, next to the raw read rate of the source backend and the
// raw write rate of the target backend measured in the same run (open, batches
// of the same size through the storage actors, close: no migration
// machinery), and the migration process's peak RSS for a small and a large
// data set.
//
//   bench_migrate [--tasks N] [--batch N] [--pairs all|FROM:TO,...]
//                 [--rss-small N] [--rss-medium N] [--rss-large N] [--no-rss] [--dir D]
//   bench_migrate --fill BACKEND:DIR [--tasks N]   (a data set to profile by hand)
//
// A data set of N tasks holds about 4.8 N records of every kind (tasks, queue
// entries, two events per task, audit records, metrics, users). Built by the
// test command, run by hand (timing belongs here, not in tests).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <spawn.h>
#include <fcntl.h>
#include <sys/wait.h>

#include "runtime/migrate/pipeline.hpp"
#include "runtime/messages/actor_env.hpp"
#include "backends/storage_client.hpp"
#include "backends/open_storage.hpp"
#include <CLI/CLI.hpp>

#include "tests/e2e/migration_support.hpp"
#include "tests/support/stopwatch.hpp"
#include "tests/support/must.hpp"
#include "tests/support/open.hpp"
#include "tests/support/dataset.hpp"
#include "tests/support/surreal_server.hpp"
#include "tests/support/temp_dir.hpp"

extern char** environ;

using namespace orch;
using namespace orch::test;
using clock_type = std::chrono::steady_clock;

namespace {

const std::vector<std::string> backends{"filesystem", "surrealdb-embedded", "surrealdb-server"};

/// Reads every record of every kind in batches: records/s.
double raw_read_rate(caf::actor_system& sys, const storage_settings& where, uint32_t batch,
                     uint64_t& records) {
  auto ro = where;
  ro.read_only = true;
  auto start = clock_type::now();  // opening is part of reading (the filesystem loads its index)
  storage_client db{sys, open_or_throw(sys, ro)};
  records = 0;
  for (auto kind : all_record_kinds) {
    std::string after;
    for (;;) {
      auto page = db.scan(kind, after, batch);
      if (!page.ok() || page.value().empty())
        break;
      records += page.value().size();
      after = page.value().back().key;
    }
  }
  test::must(db.close(), "closing after the scan");
  return records / seconds_since(start);
}

/// Writes all records of `from` into the empty `to` in batches of `batch`
/// (read beforehand, so only the writes are timed): records/s.
double raw_write_rate(caf::actor_system& sys, const storage_settings& from,
                      const storage_settings& to, uint32_t batch) {
  std::vector<record> all;
  for (auto& [kind, records] : dump(sys, from))
    for (auto& [key, json] : records)
      all.push_back({kind, key, json});
  auto start = clock_type::now();  // opening and closing are part of writing
  storage_client db{sys, open_or_throw(sys, to)};
  for (size_t i = 0; i < all.size(); i += batch) {
    std::vector<record> chunk(all.begin() + i,
                              all.begin() + std::min(all.size(), i + batch));
    test::must(db.put(chunk), "writing a batch");
  }
  test::must(db.close(), "closing after the writes");
  return all.size() / seconds_since(start);
}

struct migrate_run {
  int exit_code = -1;
  double seconds = 0;
  double max_rss_mib = 0;
  double copy_seconds = 0;                   // the copy itself, as migrate reports it
  long in_flight = -1;                       // records between source and sink, at most (--verbose)
};

/// Runs the orchestrator binary to the end; its own peak RSS from wait4().
migrate_run run_measured(std::vector<std::string> args, const std::string& log) {
  args.insert(args.begin(), orchestrator_binary());
  args.insert(args.end(), {"--progress", "none"});
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, (log + ".out").c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&fa, 2, (log + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  migrate_run out;
  pid_t pid;
  auto start = clock_type::now();
  if (posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0)
    return out;
  posix_spawn_file_actions_destroy(&fa);
  int status = 0;
  ::waitpid(pid, &status, 0);
  out.seconds = seconds_since(start);
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  // wait4's ru_maxrss counts the spawning process's memory too (vfork), so
  // take the figure migrate reports from its own /proc/self/status.
  auto text = slurp(log + ".out");
  auto at = text.find("peak memory ");
  out.max_rss_mib = at == std::string::npos ? 0 : std::atof(text.c_str() + at + 12);
  auto in = text.find(" records in ");
  out.copy_seconds = in == std::string::npos ? 0 : std::atof(text.c_str() + in + 12);
  auto bp = text.find("backpressure: at most ");
  if (bp != std::string::npos)
    out.in_flight = std::atol(text.c_str() + bp + 22);
  return out;
}

dataset_spec spec_for(size_t tasks) {
  dataset_spec spec;
  spec.tasks = tasks;
  spec.audit = tasks;
  spec.metrics = tasks / 2;
  spec.batch = 1000;
  return spec;
}

} // namespace

int main(int argc, char** argv) {
  size_t tasks = 4000, rss_small = 2100, rss_medium = 20800, rss_large = 104000;
  uint32_t batch = 500;
  bool rss = true;
  std::string pairs = "all", base, fill_only;
  bool no_rss = false;
  CLI::App app{"`orchestrator migrate` for every backend pair: records/s over the whole process "
               "and over the copy beside the raw read and write rates; peak memory at three "
               "sizes",
               "bench_migrate"};
  app.add_option("--tasks", tasks, "Tasks in the data set (about 4.8 records each)")
    ->capture_default_str();
  app.add_option("--batch", batch, "--batch-size of the migrations")->capture_default_str();
  app.add_option("--pairs", pairs, "all, or FROM:TO,... (backend names)")->capture_default_str();
  app.add_option("--rss-small", rss_small, "Tasks of the small memory run")->capture_default_str();
  app.add_option("--rss-medium", rss_medium, "... of the medium one")->capture_default_str();
  app.add_option("--rss-large", rss_large, "... of the large one")->capture_default_str();
  app.add_flag("--no-rss", no_rss, "Skip the memory runs");
  app.add_option("--dir", base, "Where the data goes (default: a temp directory)");
  app.add_option("--fill", fill_only, "Only write a data set, BACKEND:DIR, to profile by hand");
  CLI11_PARSE(app, argc, argv);
  rss = !no_rss;
  if (!base.empty())
    ::setenv("TMPDIR", base.c_str(), 1);
  actor_env env;
  auto& sys = env.sys();
  if (auto colon = fill_only.find(':'); colon != std::string::npos) {
    storage_settings where;
    where.type = fill_only.substr(0, colon);
    where.data_dir = fill_only.substr(colon + 1);
    fill(sys, where, spec_for(tasks));
    std::printf("filled %s with %llu records\n", fill_only.c_str(),
                static_cast<unsigned long long>(spec_total(spec_for(tasks))));
    return 0;
  }
  surreal_server server;
  temp_dir dir{"orch-bench-migrate"};
  auto spec = spec_for(tasks);

  // One source data set per backend, filled once.
  std::map<std::string, storage_settings> sources;
  std::map<std::string, double> read_rates;
  for (auto& b : backends) {
    sources[b] = make_place(b, dir, "source-" + b, &server);
    auto start = clock_type::now();
    fill(sys, sources[b], spec);
    uint64_t n = 0;
    read_rates[b] = raw_read_rate(sys, sources[b], batch, n);
    std::printf("source %-19s %7llu records (filled in %.1f s), raw read %8.0f records/s\n",
                b.c_str(), static_cast<unsigned long long>(n), seconds_since(start),
                read_rates[b]);
  }
  std::printf("\nmigrate/s: records over the whole process (start-up, checks, copy, close);\n"
              "copy/s: over the copy alone; ratio: migrate/s against the slower of read/s and "
              "write/s\n");
  std::printf("\n%-40s %8s %10s %10s %10s %10s %6s %9s\n", "pair", "records", "migrate/s",
              "copy/s", "read/s", "write/s", "ratio", "peak RSS");
  int run = 0;
  for (auto& from : backends)
    for (auto& to : backends) {
      auto name = from + ":" + to;
      if (pairs != "all" && ("," + pairs + ",").find("," + name + ",") == std::string::npos)
        continue;
      ++run;
      // The raw write rate: the same records into a fresh place of the target.
      auto raw_target = make_place(to, dir, "raw-" + std::to_string(run), &server);
      auto write_rate = raw_write_rate(sys, sources[from], raw_target, batch);
      auto target = make_place(to, dir, "target-" + std::to_string(run), &server);
      auto r = run_measured(migrate_cmd(sources[from], target, dir,
                                        {"--batch-size", std::to_string(batch)}),
                            dir / ("run-" + std::to_string(run)));
      auto records = static_cast<double>(spec_total(spec));
      auto rate = records / r.seconds;
      auto slower = std::min(read_rates[from], write_rate);
      std::printf("%-40s %8.0f %10.0f %10.0f %10.0f %10.0f %5.0f%% %5.0f MiB%s\n",
                  (from + " -> " + to).c_str(), records, rate,
                  r.copy_seconds > 0 ? records / r.copy_seconds : 0.0, read_rates[from],
                  write_rate,
                  100.0 * rate / slower, r.max_rss_mib,
                  r.exit_code == 0 ? "" : "  (FAILED: see the log)");
      std::fflush(stdout);
    }

  if (rss) {
    std::printf("\npeak RSS of the migration process from surrealdb-embedded; 'dry run' is the "
                "source and the pipeline alone (a filesystem target, nothing written); in "
                "flight: records between source and sink at most (bound %zu)\n",
                migration::max_records_in_flight(batch));
    for (auto n : {rss_small, rss_medium, rss_large}) {
      auto s = spec_for(n);
      auto src = make_place("surrealdb-embedded", dir, "rss-source-" + std::to_string(n));
      fill(sys, src, s);
      for (std::string to : {"dry run", "surrealdb-embedded", "filesystem"}) {
        bool dry = to == "dry run";
        auto dst = make_place(dry ? "filesystem" : to, dir,
                              "rss-" + std::string{dry ? "dry" : to} + "-" + std::to_string(n));
        std::vector<std::string> extra{"--batch-size", std::to_string(batch), "--verbose"};
        if (dry)
          extra.push_back("--dry-run");
        auto r = run_measured(migrate_cmd(src, dst, dir, extra),
                              dir / ("rss-" + std::to_string(n)));
        std::printf("  %8llu records -> %-19s %7.1f s %8.0f records/s  peak RSS %6.1f MiB  "
                    "in flight %5ld%s\n",
                    static_cast<unsigned long long>(spec_total(s)), to.c_str(), r.seconds,
                    spec_total(s) / r.seconds, r.max_rss_mib, r.in_flight,
                    r.exit_code == 0 ? "" : "  (FAILED)");
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
