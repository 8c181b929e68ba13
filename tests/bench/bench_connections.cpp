// Benchmark: how the HTTP server holds up while clients misbehave. A real
// orchestrator (filesystem storage) gets I idle keep-alive connections, S
// slow-loris clients (a header byte a second), R clients that pipeline
// large answers and never read, and connections over the cap; meanwhile one
// well-behaved client measures GET /health latency and POST /tasks
// throughput. Reports those next to the same measurements on the idle
// server (the baseline), the server's RSS, and how fast an over-the-cap
// connection gets its 503.
//
//   bench_connections [--idle I] [--slow S] [--hogs R] [--requests N] [--cap C]
//
// Built by the test command, run by hand (timing belongs here, not in tests).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "runtime/platform/process/open_files.hpp"
#include "tests/support/orchestrator_process.hpp"
#include "tests/support/proc_status.hpp"
#include "tests/support/raw_socket.hpp"
#include "tests/support/temp_dir.hpp"

using namespace orch;
using namespace orch::test;
using clock_type = std::chrono::steady_clock;

namespace {

double ms_since(clock_type::time_point t) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t).count();
}

long rss_kib(pid_t pid) {
  return proc_status_kib(pid, "VmRSS");
}

struct figures {
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  double submits_per_s = 0;
};

/// N GET /health on one keep-alive connection, then N POST /tasks.
figures measure(orchestrator_process& o, int n) {
  std::vector<double> lat;
  for (int i = 0; i < n; ++i) {
    auto t = clock_type::now();
    if (o.http().get("/health").status != 200)
      throw std::runtime_error("GET /health failed during the benchmark");
    lat.push_back(ms_since(t));
  }
  std::sort(lat.begin(), lat.end());
  figures f;
  f.p50_ms = lat[lat.size() / 2];
  f.p99_ms = lat[lat.size() * 99 / 100];
  f.max_ms = lat.back();
  auto t = clock_type::now();
  for (int i = 0; i < n; ++i)
    if (o.http().post("/tasks", R"({"command":"true","max_retries":0})").status != 201)
      throw std::runtime_error("POST /tasks failed during the benchmark");
  f.submits_per_s = n / (ms_since(t) / 1000);
  return f;
}

void print(const char* what, const figures& f) {
  std::printf("%-34s GET /health p50 %6.2f ms  p99 %6.2f ms  max %7.2f ms   POST /tasks %7.0f/s\n",
              what, f.p50_ms, f.p99_ms, f.max_ms, f.submits_per_s);
}

} // namespace

int main(int argc, char** argv) {
  int idle = 5000, slow = 200, hogs = 20, requests = 500, cap = 6000;
  CLI::App app{"HTTP server under idle, slow and non-reading clients"};
  app.add_option("--idle", idle, "Idle keep-alive connections")->capture_default_str();
  app.add_option("--slow", slow, "Slow-loris clients (a header byte a second)")->capture_default_str();
  app.add_option("--hogs", hogs, "Clients pipelining large answers they never read")
    ->capture_default_str();
  app.add_option("--requests", requests, "Requests of the measuring client, per kind")
    ->capture_default_str();
  app.add_option("--cap", cap, "--max-connections of the server")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  raise_open_files_limit();  // this side holds as many connections as the server

  temp_dir d{"orch-bench-conn"};
  orchestrator_process o{{"--data-dir", d / "data", "--max-concurrent-tasks", "1",
                          "--max-connections", std::to_string(cap), "--request-timeout-s", "30",
                          "--idle-timeout-s", "600"},
                         d / "orch"};
  long rss_start = rss_kib(o.proc().pid());
  auto baseline = measure(o, requests);
  print("idle server (baseline)", baseline);

  std::vector<std::unique_ptr<raw_socket>> held;
  auto t = clock_type::now();
  for (int i = 0; i < idle; ++i)
    held.push_back(std::make_unique<raw_socket>(o.port()));
  std::printf("opened %d idle connections in %.0f ms\n", idle, ms_since(t));
  std::atomic<bool> stop{false};
  std::vector<std::unique_ptr<raw_socket>> slow_clients;
  for (int i = 0; i < slow; ++i) {
    slow_clients.push_back(std::make_unique<raw_socket>(o.port()));
    (void) slow_clients.back()->send_all("GET /health HTTP/1.1\r\nHost: x\r\n");
  }
  std::thread trickle{[&] {
    while (!stop) {
      for (auto& s : slow_clients)
        (void) s->send_all("X");
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  }};
  // Large answers: 16 tasks of 64 KiB, listed whole by each pipelined GET.
  std::string big(64 * 1024, 'x');
  for (int i = 0; i < 16; ++i)
    (void) o.http().post("/tasks", R"({"command":"true","args":[")" + big + R"("]})");
  std::vector<std::unique_ptr<raw_socket>> hog_clients;
  std::string pipelined;
  for (int i = 0; i < 32; ++i)
    pipelined += "GET /tasks?limit=1000 HTTP/1.1\r\nHost: x\r\n\r\n";
  for (int i = 0; i < hogs; ++i) {
    hog_clients.push_back(std::make_unique<raw_socket>(o.port(), 4096));
    (void) hog_clients.back()->send_all(pipelined);
  }
  long rss_loaded = rss_kib(o.proc().pid());
  auto loaded = measure(o, requests);
  char label[128];
  std::snprintf(label, sizeof label, "with %d idle, %d slow, %d hogs", idle, slow, hogs);
  print(label, loaded);

  int over = std::max(0, cap - idle - slow - hogs);  // with the measuring client: at the cap
  std::vector<std::unique_ptr<raw_socket>> filler;
  for (int i = 0; i < over; ++i)
    filler.push_back(std::make_unique<raw_socket>(o.port()));
  std::vector<double> refused;
  std::string others;
  for (int i = 0; i < 20; ++i) {
    raw_socket extra{o.port()};
    auto t0 = clock_type::now();
    auto got = extra.exchange("GET /health HTTP/1.1\r\nHost: x\r\n\r\n", std::chrono::seconds(10));
    if (status_of(got.bytes) == 503)
      refused.push_back(ms_since(t0));
    else
      others += " " + std::to_string(status_of(got.bytes));
  }
  std::sort(refused.begin(), refused.end());
  if (!refused.empty())
    std::printf("over the cap of %d: %zu/20 got 503, median %.2f ms;%s%s\n", cap, refused.size(),
                refused[refused.size() / 2], others.empty() ? "" : " the others:", others.c_str());
  else
    std::printf("over the cap of %d: no 503 seen\n", cap);
  std::printf("server RSS: %ld MiB idle, %ld MiB with every connection open\n", rss_start / 1024,
              rss_loaded / 1024);
  stop = true;
  trickle.join();
  return 0;
}
