// Benchmark: N tasks running `true`, submitted over HTTP by C concurrent
// clients to a real orchestrator; reports submission throughput and
// end-to-end completion throughput, next to a baseline measured in the same
// run: spawning the same N `true` processes directly at the same parallelism.
//
//   bench_submit [--tasks N] [--clients C] [--slots S] [--storage-args "..."]
//
// Built by the test command, run by hand (timing belongs here, not in tests).
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <thread>
#include <vector>

#include <spawn.h>
#include <sys/wait.h>

#include <CLI/CLI.hpp>

#include "tests/support/orchestrator_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/wait.hpp"

extern char** environ;

using namespace orch;
using namespace orch::test;
using clock_type = std::chrono::steady_clock;

namespace {

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

/// Spawns `count` `true` processes with at most `parallel` alive at once.
double spawn_baseline(int count, int parallel) {
  auto start = clock_type::now();
  char* argv[] = {const_cast<char*>("true"), nullptr};
  int running = 0, started = 0;
  while (started < count || running > 0) {
    while (running < parallel && started < count) {
      pid_t pid;
      if (posix_spawnp(&pid, "true", nullptr, nullptr, argv, environ) == 0) {
        ++running;
        ++started;
      }
    }
    if (::wait(nullptr) > 0)
      --running;
  }
  return seconds_since(start);
}

} // namespace

int main(int argc, char** argv) {
  int tasks = 2000, clients = 16, slots = 2 * static_cast<int>(std::thread::hardware_concurrency());
  std::string storage_args;
  CLI::App app{"Tasks running `true` submitted over HTTP to a real orchestrator: submissions/s "
               "and end-to-end completions/s, beside spawning the same processes directly",
               "bench_submit"};
  app.add_option("--tasks", tasks, "Tasks to submit")->capture_default_str();
  app.add_option("--clients", clients, "Concurrent HTTP clients")->capture_default_str();
  app.add_option("--slots", slots, "--max-concurrent-tasks of the orchestrator")->capture_default_str();
  app.add_option("--storage-args", storage_args,
                 "More orchestrator options, e.g. \"--storage-type surrealdb-embedded\"");
  CLI11_PARSE(app, argc, argv);
  temp_dir dir{"orch-bench"};
  std::vector<std::string> args{"--data-dir", dir / "data", "--max-concurrent-tasks",
                                std::to_string(slots), "--log-level", "warn"};
  std::istringstream extra{storage_args};
  for (std::string w; extra >> w;)
    args.push_back(w);
  orchestrator_process orch{args, dir / "orch"};

  std::atomic<int> next{0}, failures{0};
  auto start = clock_type::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&] {
      http_client client{"127.0.0.1", orch.port()};
      while (next++ < tasks)
        if (client.post("/tasks", R"({"command":"true"})").status != 201)
          ++failures;
    });
  for (auto& t : threads)
    t.join();
  double submit_s = seconds_since(start);
  http_client probe{"127.0.0.1", orch.port()};
  wait_until(
    [&] {
      auto r = probe.get("/tasks?status=Completed&limit=1");
      return r.status == 200 && r.json()["data"]["total"].get<int>() >= tasks - failures;
    },
    std::chrono::minutes(30), std::chrono::milliseconds(5));
  double complete_s = seconds_since(start);
  double baseline_s = spawn_baseline(tasks, slots);

  std::printf("tasks=%d clients=%d slots=%d storage=%s failures=%d\n", tasks, clients, slots,
              storage_args.empty() ? "filesystem" : storage_args.c_str(), failures.load());
  std::printf("submit:      %8.0f tasks/s  (%.2f s, durable before 201)\n", tasks / submit_s,
              submit_s);
  std::printf("end-to-end:  %8.0f tasks/s  (%.2f s from first submit to last completion)\n",
              tasks / complete_s, complete_s);
  std::printf("baseline:    %8.0f spawns/s (%.2f s, posix_spawn+wait of `true`, %d at once)\n",
              tasks / baseline_s, baseline_s, slots);
  return failures == 0 ? 0 : 1;
}
