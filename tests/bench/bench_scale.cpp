// Scale benchmark for the embedded backend (RocksDB):
//
//  1. start-up with many tasks: fill a database with --tasks N tasks (default
//     1,000,000), then start the real orchestrator on it and report the time
//     until it listens and its resident memory, next to the same for an empty
//     database (start-up does not load tasks into memory);
//  2. queue churn: --cycles N enqueue+claim+ack cycles (default 2,000,000)
//     through the storage actor, reporting the rate per slice (it must stay
//     flat as tombstones pile up), then the time to reopen the database and
//     the latency of a claim after that.
//
//   bench_scale [--tasks N] [--cycles N] [--dir D]
//
// Built by the test command, run by hand (it takes minutes).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "backends/actor/engine_actor.hpp"
#include "backends/rocksdb/rocks_engine.hpp"
#include "runtime/messages/actor_env.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/core/transitions.hpp"
#include "backends/storage_client.hpp"
#include <CLI/CLI.hpp>

#include "tests/support/stopwatch.hpp"
#include "tests/support/must.hpp"
#include "tests/support/proc_status.hpp"
#include "tests/support/orchestrator_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/wait.hpp"

using namespace orch;
using namespace orch::test;
using clock_type = std::chrono::steady_clock;

namespace {

long rss_kib(pid_t pid) {
  return proc_status_kib(pid, "VmRSS");
}

void startup(const std::string& data_dir, const char* label) {
  auto start = clock_type::now();
  orchestrator_process o{{"--storage-type", "surrealdb-embedded", "--data-dir", data_dir,
                          "--log-level", "warn"},
                         data_dir + "-orch"};
  auto listen_s = seconds_since(start);
  auto t0 = clock_type::now();
  auto r = o.http().get("/tasks?status=Failed&limit=10");
  auto list_ms = seconds_since(t0) * 1000;
  auto total = r.json()["data"]["total"];
  std::printf("%-28s listening after %.2f s, RSS %ld MiB; GET /tasks?status=Failed&limit=10: "
              "%.1f ms (total %s)\n",
              label, listen_s, rss_kib(o.proc().pid()) / 1024, list_ms, total.dump().c_str());
  o.proc().terminate();
}

void fill(const std::string& data_dir, long tasks) {
  actor_env env;
  storage_client db{env.sys(), spawn_engine_actor(env.sys(), open_rocksdb_engine({data_dir}))};
  auto start = clock_type::now();
  constexpr long batch = 1000;
  for (long done = 0; done < tasks; done += batch) {
    write_batch b;
    for (long i = done; i < std::min(tasks, done + batch); ++i) {
      task t;
      t.id = new_uuid_v4();
      t.command = "echo";
      t.args = {std::to_string(i)};
      t.status = static_cast<task_status>(3 + i % 3);  // Completed, Failed, Cancelled
      t.created_at = now_us();
      t.output = "output of task " + std::to_string(i) + "\n";
      b.ops.push_back({record_op::put, to_record(t)});
    }
    if (!db.commit(b).ok()) {
      std::fprintf(stderr, "fill failed\n");
      return;
    }
  }
  std::printf("filled %ld tasks in %.1f s\n", tasks, seconds_since(start));
  test::must(db.close(), "closing after the fill");
}

void churn(const std::string& data_dir, long cycles) {
  auto start_open = clock_type::now();
  auto env = std::make_unique<actor_env>();
  auto db = std::make_unique<storage_client>(
    env->sys(), spawn_engine_actor(env->sys(), open_rocksdb_engine({data_dir, "churn", "q"})));
  std::printf("opened for churn in %.2f s\n", seconds_since(start_open));
  constexpr long slice = 250000, pipeline = 64;
  auto slice_start = clock_type::now();
  for (long done = 0; done < cycles;) {
    // Enqueue `pipeline` tasks in one batch, claim them, complete them.
    write_batch enqueue;
    for (long i = 0; i < pipeline; ++i) {
      task t;
      t.id = new_uuid_v4();
      t.command = "true";
      auto tr = submit_transition(t, task_status::queued, "", {"bench", now_us()});
      enqueue.ops.insert(enqueue.ops.end(), tr.batch.ops.begin(), tr.batch.ops.end());
    }
    test::must(db->commit(enqueue), "enqueueing");
    auto claimed = db->claim({"bench", now_us(), 30 * us_per_second, pipeline, "", {}});
    write_batch ack;
    for (auto& c : claimed.value().tasks) {
      auto t = c.claimed;
      attempt_outcome out;
      out.success = true;
      auto tr = finish_transition(t, out, "bench", 0, {"bench", now_us()});
      ack.ops.insert(ack.ops.end(), tr.batch.ops.begin(), tr.batch.ops.end());
    }
    test::must(db->commit(ack), "acknowledging");
    auto before = done;
    done += static_cast<long>(claimed.value().tasks.size());
    if (done / slice != before / slice) {
      std::printf("  cycles %8ld: %6.0f enqueue+claim+ack cycles/s in the last slice\n", done,
                  slice / seconds_since(slice_start));
      std::fflush(stdout);
      slice_start = clock_type::now();
    }
  }
  test::must(db->close(), "closing after the churn");
  db.reset();
  env.reset();
  auto reopen = clock_type::now();
  env = std::make_unique<actor_env>();
  db = std::make_unique<storage_client>(
    env->sys(), spawn_engine_actor(env->sys(), open_rocksdb_engine({data_dir, "churn", "q"})));
  std::printf("reopened after %ld cycles in %.2f s (queue entries left: %lu)\n", cycles,
              seconds_since(reopen), static_cast<unsigned long>(db->count(record_kind::queue).value()));
  task t;
  t.id = new_uuid_v4();
  t.command = "true";
  test::must(db->commit(submit_transition(t, task_status::queued, "", {"bench", now_us()}).batch),
             "submitting after the reopen");
  auto c0 = clock_type::now();
  auto c = db->claim({"bench", now_us(), us_per_second, 1, "", {}});
  std::printf("claim after reopen: %.2f ms (found %zu)\n", seconds_since(c0) * 1000, c.value().tasks.size());
  test::must(db->close(), "closing after the reopen");
}

} // namespace

int main(int argc, char** argv) {
  long tasks = 1'000'000, cycles = 2'000'000;
  std::string dir_arg;
  CLI::App app{"Start-up time and memory of the orchestrator over a large embedded database, "
               "and the claim rate over many enqueue/claim/ack cycles",
               "bench_scale"};
  app.add_option("--tasks", tasks, "Tasks in the large database (0: skip)")->capture_default_str();
  app.add_option("--cycles", cycles, "Enqueue+claim+ack cycles (0: skip)")->capture_default_str();
  app.add_option("--dir", dir_arg, "Where the databases go (default: a temp directory)");
  CLI11_PARSE(app, argc, argv);
  temp_dir tmp{"orch-bench-scale"};
  auto dir = dir_arg.empty() ? tmp.path() : dir_arg;
  startup(dir + "/empty", "empty database:");
  if (tasks > 0) {
    fill(dir + "/full", tasks);
    startup(dir + "/full", (std::to_string(tasks) + " tasks:").c_str());
  }
  if (cycles > 0)
    churn(dir + "/churn", cycles);
  return 0;
}
