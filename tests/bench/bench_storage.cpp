// Benchmark of the storage actors: durable task submissions per second (task
// + queue entry + event + audit record in one batch, the write POST /tasks
// makes) with 1, 16 and 64 concurrent submitters, claim+ack cycles per
// second over a backlog with 1 and 100 concurrent claimers, and a raw baseline of fsync() calls per second on the same disk,
// all measured in one run.
//
//   bench_storage [--backend filesystem|surrealdb-embedded|surrealdb-server|all]
//                 [--seconds S] [--dir D] [--submitters N] [--claimers 1,100]
//                 [--claim-tasks N] [--surrealdb-url URL ...]
//
// Built by the test command, run by hand (timing belongs here, not in tests).
#include <atomic>
#include <memory>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "caf/all.hpp"

#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/core/transitions.hpp"
#include "backends/engine/storage_engine.hpp"
#include "backends/open_storage.hpp"
#include "runtime/messages/actor_env.hpp"
#include "backends/storage_client.hpp"
#include <CLI/CLI.hpp>

#include "tests/support/must.hpp"
#include "tests/support/open.hpp"
#include "tests/support/proc_status.hpp"
#include "tests/support/surreal_server.hpp"
#include "tests/support/temp_dir.hpp"

using namespace orch;
using namespace orch::test;
using clock_type = std::chrono::steady_clock;

namespace {

double fsync_rate(const std::string& dir, double seconds) {
  auto path = dir + "/fsync-probe";
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  uint64_t n = 0;
  auto start = clock_type::now();
  auto until = start + std::chrono::duration<double>(seconds);
  while (clock_type::now() < until) {
    if (::write(fd, "x", 1) != 1 || ::fsync(fd) != 0)
      break;
    ++n;
  }
  ::close(fd);
  ::unlink(path.c_str());
  return n / std::chrono::duration<double>(clock_type::now() - start).count();
}

write_batch submit_batch() {
  task t;
  t.id = new_uuid_v4();
  t.command = "true";
  auto tr = submit_transition(t, task_status::queued, "", {"bench", now_us()});
  return tr.batch;
}

/// One submitter: a submission in flight at all times until the deadline.
void submit_loop(caf::event_based_actor* self, storage_actor storage,
                 clock_type::time_point deadline, std::shared_ptr<std::atomic<uint64_t>> done) {
  if (clock_type::now() >= deadline) {
    self->quit();
    return;
  }
  self->request(storage, caf::infinite, commit_atom_v, submit_batch())
    .then(
      [=](uint64_t) {
        ++*done;
        submit_loop(self, storage, deadline, done);
      },
      [=](caf::error& e) {
        std::fprintf(stderr, "commit failed: %s\n", error_text(e).c_str());
        self->quit();
      });
}

/// `submitters` actors, each keeping one submission in flight (the way the
/// scheduler and the gateway use storage), for `seconds`.
double submissions_per_second(caf::actor_system& sys, storage_actor storage, int submitters,
                              double seconds) {
  auto done = std::make_shared<std::atomic<uint64_t>>(0);
  auto start = clock_type::now();
  auto deadline = start + std::chrono::duration_cast<clock_type::duration>(
                            std::chrono::duration<double>(seconds));
  caf::scoped_actor waiter{sys};
  for (int i = 0; i < submitters; ++i)
    waiter->monitor(sys.spawn(
      [=](caf::event_based_actor* self) { submit_loop(self, storage, deadline, done); }));
  for (int i = 0; i < submitters; ++i)
    waiter->receive([](caf::down_msg&) {});
  return *done / std::chrono::duration<double>(clock_type::now() - start).count();
}

/// Fills the queue with `count` ready tasks, 500 to a commit (not timed).
void fill_queue(caf::actor_system& sys, storage_actor storage, int count) {
  storage_client c{sys, storage};
  for (int done = 0; done < count;) {
    write_batch b;
    for (int i = 0; i < 500 && done < count; ++i, ++done)
      append(b, submit_batch());
    test::must(c.commit(b), "filling the queue");
  }
}

/// One claimer (the way an executor slot uses storage): claim one task,
/// complete it with the finish transition, again, until `left` runs out.
void claim_loop(caf::event_based_actor* self, storage_actor storage,
                std::shared_ptr<std::atomic<int>> left, std::shared_ptr<std::atomic<int>> done) {
  if (--*left < 0)
    return self->quit();
  auto worker = "bench-" + std::to_string(self->id());
  self->request(storage, caf::infinite, claim_atom_v,
                claim_request{worker, now_us(), 30 * us_per_second, 1, "", {}})
    .then(
      [=](claim_result& r) {
        if (r.tasks.empty()) {
          std::fprintf(stderr, "the queue ran dry\n");
          return self->quit();
        }
        auto t = r.tasks[0].claimed;
        attempt_outcome out;
        out.success = true;
        auto tr = finish_transition(t, out, worker, 0, {"bench", now_us()});
        self->request(storage, caf::infinite, commit_atom_v, tr.batch)
          .then(
            [=](uint64_t) {
              ++*done;
              claim_loop(self, storage, left, done);
            },
            [=](caf::error& e) {
              std::fprintf(stderr, "ack failed: %s\n", error_text(e).c_str());
              self->quit();
            });
      },
      [=](caf::error& e) {
        std::fprintf(stderr, "claim failed: %s\n", error_text(e).c_str());
        self->quit();
      });
}

struct claim_figures {
  double per_second = 0;
  double cpu_us_per_cycle = 0;               // this process (storage and claimers)
};

/// `claimers` concurrent claimers working through `tasks` prefilled tasks
/// (BullMQ's worker shape: a backlog, concurrency N, no-op jobs).
claim_figures claim_ack_per_second(caf::actor_system& sys, storage_actor storage, int claimers,
                                   int tasks) {
  fill_queue(sys, storage, tasks);
  auto left = std::make_shared<std::atomic<int>>(tasks);
  auto done = std::make_shared<std::atomic<int>>(0);
  auto cpu0 = proc_cpu_seconds(::getpid());
  auto start = clock_type::now();
  caf::scoped_actor waiter{sys};
  for (int i = 0; i < claimers; ++i)
    waiter->monitor(sys.spawn(
      [=](caf::event_based_actor* self) { claim_loop(self, storage, left, done); }));
  for (int i = 0; i < claimers; ++i)
    waiter->receive([](caf::down_msg&) {});
  auto cycles = static_cast<double>(*done);
  return {cycles / std::chrono::duration<double>(clock_type::now() - start).count(),
          cycles > 0 ? 1e6 * (proc_cpu_seconds(::getpid()) - cpu0) / cycles : 0};
}

} // namespace

int main(int argc, char** argv) {
  std::string backend = "all";
  double seconds = 3;
  std::string dir_arg;
  int only_submitters = 0;  // 0: 1, 16 and 64
  std::vector<int> claimers{1, 100};
  int claim_tasks = 20000;
  storage_settings server;
  server.type = "surrealdb-server";
  CLI::App app{"Durable submissions/s through the storage actor with 1, 16 and 64 submitters, "
               "and claim+ack cycles/s, beside raw fsyncs/s (and the JS SDK for the server)",
               "bench_storage"};
  app.add_option("--backend", backend,
                 "filesystem, surrealdb-embedded, surrealdb-server or all")->capture_default_str();
  app.add_option("--seconds", seconds, "Seconds per measurement")->capture_default_str();
  app.add_option("--dir", dir_arg, "Where local data goes (default: a temp directory)");
  app.add_option("--submitters", only_submitters,
                 "Only this many submitters (0: 1, 16 and 64; -1: no submissions)");
  app.add_option("--claimers", claimers, "Concurrent claimers, one measurement each")
    ->delimiter(',')->capture_default_str();
  app.add_option("--claim-tasks", claim_tasks, "Tasks claimed and acked per measurement")
    ->capture_default_str();
  app.add_option("--surrealdb-url", server.surrealdb_url,
                 "A SurrealDB server to measure (default: the project's test server)");
  app.add_option("--surrealdb-username", server.surrealdb_username, "Its user");
  app.add_option("--surrealdb-password", server.surrealdb_password, "Its password");
  app.add_option("--surrealdb-namespace", server.surrealdb_namespace, "Its namespace");
  app.add_option("--surrealdb-database", server.surrealdb_database, "Its database");
  CLI11_PARSE(app, argc, argv);
  temp_dir tmp{"orch-bench-storage"};
  auto dir = dir_arg.empty() ? tmp.path() : dir_arg;
  std::printf("raw fsync baseline: %.0f fsyncs/s (one thread, %s)\n", fsync_rate(dir, seconds),
              dir.c_str());
  std::vector<std::string> backends;
  if (backend == "all")
    backends = {"filesystem", "surrealdb-embedded"};
  else
    backends = {backend};
  if (backend == "all")
    backends.push_back("surrealdb-server");
  // Without --surrealdb-url the server backend is measured against the
  // project's SurrealDB test server (the real engine, rocksdb store), and the
  // official JS SDK sends the same work to it for comparison.
  std::unique_ptr<surreal_server> own_server;
  bool want_server = std::find(backends.begin(), backends.end(), "surrealdb-server") != backends.end();
  if (want_server && server.surrealdb_url.empty()) {
    own_server = std::make_unique<surreal_server>(dir + "/surreal");
    server.surrealdb_url = own_server->url();
    server.surrealdb_username = "root";
    server.surrealdb_password = "root";
  }
  if (want_server && server.surrealdb_password.empty())
    server.surrealdb_password = "root";
  for (auto& b : backends) {
    actor_env env;
    storage_settings s = b == "surrealdb-server" ? server : storage_settings{};
    s.type = b;
    if (b == "surrealdb-server") {
      s.surrealdb_namespace = "bench";
      s.surrealdb_database = unique_name("cpp");
    }
    s.data_dir = dir + "/" + b;
    storage_actor storage;
    try {
      storage = open_or_throw(env.sys(), s);
    } catch (const status_error& e) {
      std::printf("%-20s cannot open: %s\n", b.c_str(), e.message().c_str());
      continue;
    }
    auto submitters = only_submitters < 0    ? std::vector<int>{}
                      : only_submitters > 0 ? std::vector<int>{only_submitters}
                                            : std::vector<int>{1, 16, 64};
    for (int n : submitters) {
      auto rate = submissions_per_second(env.sys(), storage, n, seconds);
      std::printf("%-20s submit  %3d submitters: %8.0f durable submissions/s\n", b.c_str(), n,
                  rate);
      std::printf("RESULT storage_submit_%d.%s %.3f\n", n, b.c_str(), rate);
    }
    for (int n : claimers) {
      auto f = claim_ack_per_second(env.sys(), storage, n, claim_tasks);
      std::printf("%-20s claim+ack %3d claimers: %8.0f cycles/s (%d tasks), %.0f us CPU/cycle\n",
                  b.c_str(), n, f.per_second, claim_tasks, f.cpu_us_per_cycle);
      std::printf("RESULT claim_%d.%s %.3f\n", n, b.c_str(), f.per_second);
      std::printf("RESULT cpu_claim_%d.%s %.3f\n", n, b.c_str(), f.cpu_us_per_cycle);
    }
    test::must(storage_client{env.sys(), storage}.close(), "closing " + b);
  }
  if (want_server) {
    auto cmd = std::string{"node " ORCH_SOURCE_DIR "/tests/surreal-server/bench-sdk.mjs --url "}
               + server.surrealdb_url + "/rpc --ns bench --db sdk --seconds "
               + std::to_string(static_cast<int>(seconds));
    if (only_submitters > 0)
      cmd += " --callers " + std::to_string(only_submitters);
    std::fflush(stdout);
    if (std::system(cmd.c_str()) != 0)
      std::printf("js-sdk comparison failed to run (%s)\n", cmd.c_str());
  }
  return 0;
}
