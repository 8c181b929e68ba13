// Benchmark of workflows: a graph of N nodes (layers of W `true` tasks, each
// after one node of the layer before) submitted as one POST /workflows, then
// run to the end on S slots; the time to store it, to run it, to read its
// rolled-up view, and the orchestrator's CPU. Sizes 1,000 and 10,000 by
// default: a per-node cost that grows with the graph shows as a rate that
// falls between them. The end is awaited on the event stream (N terminal
// events), not by reading the workflow's view over and over: each view reads
// every node, so polling it would add a cost that grows with the graph.
// Built by the test command, run by hand.
//
//   bench_workflow [--backend B] [--nodes 1000,10000] [--width 100] [--slots 4]
#include <chrono>
#include <cstdio>
#include <memory>
#include <sstream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/child.hpp"
#include "tests/support/orchestrator_process.hpp"
#include "tests/support/proc_status.hpp"
#include "tests/support/sse_client.hpp"
#include "tests/support/stopwatch.hpp"
#include "tests/support/surreal_server.hpp"
#include "tests/support/temp_dir.hpp"

using namespace orch;
using namespace orch::test;
using nlohmann::json;
using clock_type = std::chrono::steady_clock;

namespace {

struct options {
  std::string backend = "surrealdb-embedded";
  std::string nodes = "1000,10000";
  int width = 100;
  int slots = 4;
  std::string server_url;
};

json layered_graph(int nodes, int width) {
  json tasks = json::array();
  for (int i = 0; i < nodes; ++i) {
    json t{{"key", "n" + std::to_string(i)}, {"command", "true"}};
    if (i >= width)
      t["after"] = {"n" + std::to_string(i - width)};
    tasks.push_back(std::move(t));
  }
  return {{"name", "bench"}, {"tasks", std::move(tasks)}};
}

void run_size(const options& o, temp_dir& dir, int nodes) {
  auto name = "n" + std::to_string(nodes);
  std::vector<std::string> args{"--storage-type", o.backend, "--data-dir", dir / (name + "-data"),
                                "--max-concurrent-tasks", std::to_string(o.slots),
                                "--max-body-bytes", std::to_string(64 << 20), "--log-level",
                                "warn"};
  if (o.backend == "surrealdb-server")
    args.insert(args.end(), {"--surrealdb-url", o.server_url, "--surrealdb-username", "root",
                             "--surrealdb-password", "root", "--surrealdb-namespace", "bench",
                             "--surrealdb-database", "workflow_" + name});
  orchestrator_process orch{args, dir / name};
  auto pid = orch.proc().pid();
  auto body = layered_graph(nodes, o.width).dump();
  // Only this workflow runs: every terminal event is one of its nodes'.
  sse_client ends{orch.port(), "/events?kind=completed,failed,cancelled"};
  if (ends.status() != 200) {
    std::fprintf(stderr, "GET /events: %d\n", ends.status());
    std::exit(1);
  }
  auto cpu0 = proc_cpu_seconds(pid);
  auto t0 = clock_type::now();
  auto r = orch.http().post("/workflows", body);
  if (r.status != 201) {
    std::fprintf(stderr, "POST /workflows of %d nodes: %d %s\n", nodes, r.status,
                 r.body.substr(0, 300).c_str());
    std::exit(1);
  }
  double stored = seconds_since(t0);
  auto cpu_stored = proc_cpu_seconds(pid);
  auto id = r.json()["data"]["id"].get<std::string>();
  auto t1 = clock_type::now();
  for (int ended = 0; ended < nodes;) {
    if (!ends.next(std::chrono::seconds(60))) {
      std::fprintf(stderr, "no task ended for 60 s after %d of %d\n", ended, nodes);
      std::exit(1);
    }
    ++ended;
  }
  double ran = seconds_since(t1);
  auto cpu_ran = proc_cpu_seconds(pid);
  auto t2 = clock_type::now();
  auto status = orch.http().get("/workflows/" + id).json()["data"]["status"].get<std::string>();
  double viewed = seconds_since(t2);
  std::printf("%-20s %6d nodes  stored %7.2f s (%7.0f nodes/s, %5.0f us CPU/node)  ran %7.1f s "
              "(%6.0f tasks/s, %6.0f us CPU/task)  view %5.2f s  %s\n",
              o.backend.c_str(), nodes, stored, nodes / stored, 1e6 * (cpu_stored - cpu0) / nodes,
              ran, nodes / ran, 1e6 * (cpu_ran - cpu_stored) / nodes, viewed, status.c_str());
  std::printf("RESULT workflow_store.%s.%d %.3f\nRESULT workflow_run.%s.%d %.3f\n",
              o.backend.c_str(), nodes, nodes / stored, o.backend.c_str(), nodes, nodes / ran);
}

} // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App app{"A workflow of N nodes stored in one POST /workflows and run to the end",
               "bench_workflow"};
  app.add_option("--backend", o.backend, "filesystem, surrealdb-embedded or surrealdb-server")
    ->capture_default_str();
  app.add_option("--nodes", o.nodes, "Graph sizes, comma-separated")->capture_default_str();
  app.add_option("--width", o.width, "Nodes per layer")->capture_default_str();
  app.add_option("--slots", o.slots, "Task slots")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  temp_dir dir{"orch-bench-workflow"};
  std::unique_ptr<surreal_server> server;
  if (o.backend == "surrealdb-server") {
    server = std::make_unique<surreal_server>(dir / "surreal");
    o.server_url = server->url();
  }
  std::istringstream sizes{o.nodes};
  for (std::string n; std::getline(sizes, n, ',');)
    run_size(o, dir, std::stoi(n));
  return 0;
}
