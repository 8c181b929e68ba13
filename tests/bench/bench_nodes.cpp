// Benchmark of worker nodes: tasks running `true`, end to end (submitted in
// batches of 1,000, timed until the last one completed), on an orchestrator
// with its own slots only, and on one with none of its own and 1, 2, 3 worker
// processes (`orchestrator worker`) on this machine; with the CPU the
// orchestrator (the coordinator) and the workers used per task. On one
// machine the workers and the coordinator share its cores: the figures say
// where the time goes, not how far more machines would go.
//
//   bench_nodes [--tasks 4000] [--slots 4] [--workers 0,1,2,3]
//               [--storage filesystem|surrealdb-embedded]
//
// "0 workers" is the local run: --max-concurrent-tasks <slots>, no node
// port. Built by the test command, run by hand.
#include <chrono>
#include <cstdio>
#include <memory>
#include <sstream>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/child.hpp"
#include "tests/support/orchestrator_process.hpp"
#include "tests/support/proc_status.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/wait.hpp"

using namespace orch;
using namespace orch::test;
using nlohmann::json;
using clock_type = std::chrono::steady_clock;

namespace {

struct options {
  int tasks = 4000;
  int slots = 4;
  std::string workers = "0,1,2,3";
  std::string storage = "filesystem";
};

std::vector<int> numbers(const std::string& list) {
  std::vector<int> out;
  std::stringstream in{list};
  for (std::string item; std::getline(in, item, ',');)
    out.push_back(std::stoi(item));
  return out;
}

/// Completed tasks, as GET /health counts finished attempts (all succeed).
uint64_t finished(orchestrator_process& o) {
  return o.http().get("/health").json()["data"]["attempts_finished"].get<uint64_t>();
}

void run(const options& o, int worker_count) {
  temp_dir dir{"orch-bench-nodes"};
  std::vector<std::string> args{"--storage-type", o.storage, "--data-dir", dir / "data",
                                "--log-level", "warn"};
  if (worker_count == 0) {
    args.insert(args.end(), {"--max-concurrent-tasks", std::to_string(o.slots)});
  } else {
    args.insert(args.end(), {"--max-concurrent-tasks", "0", "--node-port", "0"});
  }
  orchestrator_process orch{args, dir / "orch"};
  std::vector<std::unique_ptr<child>> workers;
  if (worker_count > 0) {
    if (orch.node_port() == 0)
      throw std::runtime_error("the orchestrator printed no node port");
    for (int w = 0; w < worker_count; ++w)
      workers.push_back(std::make_unique<child>(
        std::vector<std::string>{orchestrator_binary(), "worker", "--connect",
                                 "127.0.0.1:" + std::to_string(orch.node_port()), "--slots",
                                 std::to_string(o.slots), "--name", "w" + std::to_string(w),
                                 "--log-level", "warn"},
        dir / ("worker-" + std::to_string(w))));
    if (!wait_until([&] {
          return orch.http().get("/nodes").json()["data"]["slots"] == worker_count * o.slots;
        }))
      throw std::runtime_error("the workers did not all register");
  }
  auto cpu = [&] {
    double w = 0;
    for (auto& c : workers)
      w += proc_cpu_seconds(c->pid());
    return std::pair{proc_cpu_seconds(orch.proc().pid()), w};
  };
  auto [orch0, workers0] = cpu();
  auto start = clock_type::now();
  for (int sent = 0; sent < o.tasks;) {
    json tasks = json::array();
    for (int i = 0; i < 1000 && sent < o.tasks; ++i, ++sent)
      tasks.push_back({{"command", "true"}});
    auto r = orch.http().post("/tasks/batch", json{{"tasks", tasks}}.dump());
    if (r.status != 201)
      throw std::runtime_error("POST /tasks/batch answered " + std::to_string(r.status));
  }
  if (!wait_until([&] { return finished(orch) >= static_cast<uint64_t>(o.tasks); },
                  std::chrono::minutes(10), std::chrono::milliseconds(50)))
    throw std::runtime_error("the tasks did not all finish within 10 minutes");
  double secs = std::chrono::duration<double>(clock_type::now() - start).count();
  auto [orch1, workers1] = cpu();
  std::printf("%-26s %8.0f tasks/s  coordinator %6.1f us CPU/task  workers %6.1f us CPU/task\n",
              worker_count == 0 ? "local slots only"
                                : (std::to_string(worker_count) + " worker(s), 0 local").c_str(),
              o.tasks / secs, 1e6 * (orch1 - orch0) / o.tasks,
              1e6 * (workers1 - workers0) / o.tasks);
  std::fflush(stdout);
}

} // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App app{"Worker nodes: end-to-end tasks/s with 0..3 workers, and CPU per task",
               "bench_nodes"};
  app.add_option("--tasks", o.tasks, "Tasks per run")->capture_default_str();
  app.add_option("--slots", o.slots, "Slots per worker (and local slots for 0 workers)")
    ->capture_default_str();
  app.add_option("--workers", o.workers, "Worker counts to run, comma-separated (0: local)")
    ->capture_default_str();
  app.add_option("--storage", o.storage, "filesystem or surrealdb-embedded")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  std::printf("%d tasks running `true`, %d slots per worker, %s backend\n", o.tasks, o.slots,
              o.storage.c_str());
  for (int n : numbers(o.workers))
    run(o, n);
  return 0;
}
