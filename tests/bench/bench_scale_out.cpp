// Benchmark of the server backend's scale-out: claim+ack cycles per second of
// 1 and 3 real orchestrator processes sharing one SurrealDB test server,
// with 0, 2k, 20k and 200k tasks queued behind the work, and the CPU each
// process and the server used meanwhile (on a small machine the server
// saturates first; the figures say so instead of hiding it).
//
//   bench_scale_out [--depths 0,2000,20000,200000] [--processes 1,3]
//                   [--work 1000] [--slots 8]
//
// Each depth gets its own database: `depth` + `work` ready tasks running
// `true` are stored through the storage actor (not timed), then N
// orchestrators start on it and the clock runs until `work` more tasks have
// completed, so the queue stays at about `depth` while it is measured. Then
// `work` tasks are added again for the next N. Built by the test command,
// run by hand.
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include <unistd.h>

#include <CLI/CLI.hpp>

#include "backends/storage_client.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/core/transitions.hpp"
#include "runtime/messages/actor_env.hpp"
#include "tests/support/backend_under_test.hpp"
#include "tests/support/must.hpp"
#include "tests/support/open.hpp"
#include "tests/support/orchestrator_process.hpp"
#include "tests/support/proc_status.hpp"
#include "tests/support/surreal_server.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/wait.hpp"

using namespace orch;
using namespace orch::test;
using clock_type = std::chrono::steady_clock;

namespace {

/// Stores `count` ready tasks running `true`, 500 to a commit: the task and
/// its queue entry, as a submission stores them (its event and audit record
/// are left out: the queue does not read them, and the server takes minutes
/// over 200k of each).
void add_tasks(storage_client& db, int count) {
  for (int done = 0; done < count;) {
    write_batch b;
    for (int i = 0; i < 500 && done < count; ++i, ++done) {
      task t;
      t.id = new_uuid_v4();
      t.command = "true";
      auto tr = submit_transition(t, task_status::queued, "", {"bench", now_us()});
      for (auto& op : tr.batch.ops)
        if (op.rec.kind == record_kind::task || op.rec.kind == record_kind::queue)
          b.ops.push_back(op);
      b.expect.insert(b.expect.end(), tr.batch.expect.begin(), tr.batch.expect.end());
    }
    must(db.commit(b), "storing tasks");
  }
}

uint64_t completed(http_client& c) {
  auto r = c.get("/tasks?status=Completed&limit=1");
  return r.status == 200 ? r.json()["data"]["total"].get<uint64_t>() : 0;
}

struct run_figures {
  double cycles_per_s = 0;
  std::vector<double> orchestrator_cpu;     // % of one core, per process
  double server_cpu = 0;                    // % of one core
};

run_figures measure(const storage_settings& s, temp_dir& dir, int processes, int slots,
                    uint64_t work, pid_t server_pid, const std::string& tag) {
  auto with_slots = [&](int n) {
    auto args = storage_args(s);
    args.insert(args.end(), {"--max-concurrent-tasks", std::to_string(n), "--log-level", "warn"});
    return args;
  };
  // Completions are counted through an instance with no slots, which claims
  // nothing itself.
  orchestrator_process counter{with_slots(0), dir / (tag + "-counter")};
  auto before = completed(counter.http());
  std::vector<std::unique_ptr<orchestrator_process>> orchs;
  std::vector<double> cpu0;
  for (int i = 0; i < processes; ++i)
    orchs.push_back(std::make_unique<orchestrator_process>(
      with_slots(slots), dir / (tag + "-" + std::to_string(i))));
  auto t0 = clock_type::now();
  for (auto& o : orchs)
    cpu0.push_back(proc_cpu_seconds(o->proc().pid()));
  double server0 = proc_cpu_seconds(server_pid);
  wait_until([&] { return completed(counter.http()) >= before + work; }, std::chrono::minutes(30),
             std::chrono::milliseconds(100));
  double wall = std::chrono::duration<double>(clock_type::now() - t0).count();
  run_figures f;
  f.cycles_per_s = (completed(counter.http()) - before) / wall;
  for (size_t i = 0; i < orchs.size(); ++i)
    f.orchestrator_cpu.push_back(100 * (proc_cpu_seconds(orchs[i]->proc().pid()) - cpu0[i]) / wall);
  f.server_cpu = 100 * (proc_cpu_seconds(server_pid) - server0) / wall;
  for (auto& o : orchs)
    (void) o->proc().terminate();
  return f;
}

} // namespace

int main(int argc, char** argv) {
  std::vector<int> depths{0, 2000, 20000, 200000};
  std::vector<int> processes{1, 3};
  int work = 1000;
  int slots = 8;
  CLI::App app{"Claim+ack cycles/s of 1 and 3 orchestrators on one SurrealDB test server at "
               "several queue depths, with each process's CPU and the server's",
               "bench_scale_out"};
  app.add_option("--depths", depths, "Tasks queued behind the work")->delimiter(',')
    ->capture_default_str();
  app.add_option("--processes", processes, "Orchestrator processes, one run each")
    ->delimiter(',')->capture_default_str();
  app.add_option("--work", work, "Tasks completed per measurement")->capture_default_str();
  app.add_option("--slots", slots, "--max-concurrent-tasks of each orchestrator")
    ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  temp_dir dir{"orch-bench-scale-out"};
  surreal_server server{dir / "surreal"};
  std::printf("%-8s %-10s %12s  %s\n", "queued", "processes", "cycles/s",
              "CPU, % of one core (orchestrators | server)");
  for (int depth : depths) {
    storage_settings s;
    s.type = "surrealdb-server";
    s.data_dir = dir / "unused";
    s.surrealdb_url = server.url();
    s.surrealdb_username = "root";
    s.surrealdb_password = "root";
    s.surrealdb_namespace = "bench";
    s.surrealdb_database = "depth_" + std::to_string(depth);
    {
      actor_env env;
      storage_client db{env.sys(), open_or_throw(env.sys(), s), std::chrono::minutes(5)};
      auto t0 = clock_type::now();
      add_tasks(db, depth);
      if (depth > 0)
        std::fprintf(stderr, "stored %d queued tasks in %.1f s\n", depth,
                     std::chrono::duration<double>(clock_type::now() - t0).count());
      must(db.close(), "closing");
    }
    for (int n : processes) {
      {
        actor_env env;
        storage_client db{env.sys(), open_or_throw(env.sys(), s), std::chrono::minutes(5)};
        add_tasks(db, work);
        must(db.close(), "closing");
      }
      auto tag = "d" + std::to_string(depth) + "-p" + std::to_string(n);
      auto f = measure(s, dir, n, slots, static_cast<uint64_t>(work), server.pid(), tag);
      std::string cpu;
      for (auto c : f.orchestrator_cpu)
        cpu += (cpu.empty() ? "" : " ") + std::to_string(static_cast<int>(c));
      std::printf("%-8d %-10d %12.0f  %s | %d\n", depth, n, f.cycles_per_s, cpu.c_str(),
                  static_cast<int>(f.server_cpu));
      std::printf("RESULT scale_out_%d_%d.surrealdb-server %.3f\n", depth, n, f.cycles_per_s);
      std::fflush(stdout);
    }
  }
  return 0;
}
