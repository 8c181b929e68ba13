// Benchmark of the public API: a real orchestrator process driven over HTTP
// in the shapes scripts/bench.sh compares with BullMQ (tests/bench/peer/),
// each on a fresh data directory so no shape pays for another's records:
//
//   submit   POST /tasks, C concurrent keep-alive clients, durable before 201
//            (the instance runs nothing: --max-concurrent-tasks 0)
//   batch    POST /tasks/batch, B tasks per body, 4 clients
//   e2e      tasks running `true` on S slots, from the first submission to the
//            last completion, beside `xargs -P S` and posix_spawn running the
//            same processes at the same parallelism
//   latency  one task at a time on an idle queue: from the client sending
//            POST /tasks to the claim that starts it (the task's started_at),
//            p50 and p99
//   slots    claim + complete through the scheduler's slots, the path a task
//            takes when it runs: a backlog of N tasks stored first, then an
//            instance with K slots whose attempts complete at once without a
//            process (--bench-noop-attempts), from its start to the last
//            completion: claim, start, outcome, next claim
//
// --subscribers N opens N event streams (GET /events) before submit and e2e
// run: N-1 read everything, one never reads (a stalled subscriber, cut off
// once its buffer is full). Compare with a run without: what subscribers
// cost the task path.
//
//   bench_api [--backend B] [--shapes submit,batch,e2e,latency,slots] [--tasks N] ...
//
// Each figure is also printed as "RESULT <shape>.<backend> <value>" for
// scripts/bench.sh. Built by the test command, run by hand.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <sstream>
#include <thread>
#include <vector>

#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "runtime/core/clock.hpp"
#include "tests/support/quantile.hpp"
#include "tests/support/stopwatch.hpp"
#include "tests/support/orchestrator_process.hpp"
#include "tests/support/proc_status.hpp"
#include "tests/support/raw_socket.hpp"
#include "tests/support/surreal_server.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/wait.hpp"

extern char** environ;

using namespace orch;
using namespace orch::test;
using clock_type = std::chrono::steady_clock;

namespace {

struct options {
  std::string backend = "surrealdb-embedded";
  std::string shapes = "submit,batch,e2e,latency,slots";
  int tasks = 20000;           // submit
  int clients = 64;            // submit
  int batch_tasks = 50000;     // batch: in all
  int batch_size = 1000;       // batch: per request
  int e2e_tasks = 2000;
  int slots = 4;               // e2e, latency
  int samples = 300;           // latency
  int slot_tasks = 20000;      // slots: the backlog
  int slot_count = 100;        // slots: task slots
  int subscribers = 0;         // submit, e2e: open event streams, one stalled
  std::string extra;           // more orchestrator options
  std::string server_url;      // surrealdb-server: the server (default: a test server)
};

void result(const char* shape, const options& o, double value, const char* unit,
            const std::string& detail) {
  std::printf("%-9s %-20s %10.1f %-9s %s\n", shape, o.backend.c_str(), value, unit,
              detail.c_str());
  std::printf("RESULT %s.%s %.3f\n", shape, o.backend.c_str(), value);
  std::fflush(stdout);
}

/// An orchestrator on `o.backend` with `slots` task slots, on the shape's
/// data directory (fresh the first time).
std::unique_ptr<orchestrator_process> start(const options& o, temp_dir& dir, const char* shape,
                                            int slots, std::vector<std::string> more = {}) {
  std::vector<std::string> args{"--storage-type", o.backend, "--data-dir",
                                dir / (std::string{shape} + "-data"), "--max-concurrent-tasks",
                                std::to_string(slots), "--log-level", "warn"};
  args.insert(args.end(), more.begin(), more.end());
  if (o.backend == "surrealdb-server") {
    // A database of its own per shape on the one server.
    args.insert(args.end(), {"--surrealdb-url", o.server_url, "--surrealdb-username", "root",
                             "--surrealdb-password", "root", "--surrealdb-namespace", "bench",
                             "--surrealdb-database", std::string{"api_"} + shape});
  }
  std::istringstream extra{o.extra};
  for (std::string w; extra >> w;)
    args.push_back(w);
  return std::make_unique<orchestrator_process>(args, dir / shape);
}

/// `clients` threads, each with its own keep-alive connection, calling
/// `one(client)` until `work` calls are made; returns the failures.
template <class F>
int run_clients(uint16_t port, int clients, int work, F one) {
  std::atomic<int> next{0}, failures{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&] {
      http_client client{"127.0.0.1", port};
      while (next++ < work)
        if (!one(client))
          ++failures;
    });
  for (auto& t : threads)
    t.join();
  return failures;
}

/// Event streams open during a measurement: all but one read on a thread of
/// their own, counting events; the last never reads.
class subscribers {
public:
  subscribers(uint16_t port, int n) {
    if (n <= 0)
      return;
    std::string req = "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n";
    for (int i = 0; i < n - 1; ++i) {
      readers_.push_back(std::make_unique<raw_socket>(port));
      readers_.back()->send_all(req);
    }
    stalled_ = std::make_unique<raw_socket>(port, 4096);
    stalled_->send_all(req);
    counts_ = std::vector<std::atomic<uint64_t>>(readers_.size());
    tails_.assign(readers_.size(), std::string{});
    opened_.assign(readers_.size(), false);
    thread_ = std::thread([this] { read_all(); });
    // Each stream says it is open before the measurement begins: events
    // committed earlier are not theirs.
    wait_until([&] { return open_ == readers_.size(); }, std::chrono::seconds(30));
  }
  ~subscribers() {
    stop_ = true;
    if (thread_.joinable())
      thread_.join();
  }
  /// The fewest events one reader got, and the most.
  std::pair<uint64_t, uint64_t> events_read() const {
    if (counts_.empty())
      return {0, 0};
    auto [lo, hi] = std::minmax_element(counts_.begin(), counts_.end());
    return {lo->load(), hi->load()};
  }
  /// Waits until every reader has `n` events (or the timeout).
  bool wait_for(uint64_t n, std::chrono::seconds timeout) {
    return wait_until([&] { return events_read().first >= n; }, timeout,
                      std::chrono::milliseconds(5));
  }

private:
  void read_all() {
    std::vector<pollfd> fds;
    for (auto& r : readers_)
      fds.push_back({r->fd(), POLLIN, 0});
    char buf[65536];
    while (!stop_) {
      if (::poll(fds.data(), fds.size(), 50) <= 0)
        continue;
      for (size_t i = 0; i < fds.size(); ++i) {
        if (!(fds[i].revents & POLLIN))
          continue;
        auto n = ::recv(fds[i].fd, buf, sizeof buf, 0);
        if (n <= 0) {
          fds[i].fd = -1;  // ended: poll skips it
          continue;
        }
        auto old = tails_[i].size();
        auto text = tails_[i] + std::string{buf, static_cast<size_t>(n)};
        if (!opened_[i] && text.find(": stream open") != std::string::npos) {
          opened_[i] = true;
          ++open_;
        }
        // One "data: " per event; one that lies wholly in the carried tail
        // was counted with the read before.
        for (size_t at = text.find("data: ", old >= 5 ? old - 5 : 0); at != std::string::npos;
             at = text.find("data: ", at + 6))
          ++counts_[i];
        tails_[i] = text.substr(text.size() > 12 ? text.size() - 12 : 0);
      }
    }
  }

  std::vector<std::unique_ptr<raw_socket>> readers_;
  std::unique_ptr<raw_socket> stalled_;
  std::vector<std::atomic<uint64_t>> counts_;
  std::vector<std::string> tails_;          // the last bytes: a marker may span two reads
  std::vector<bool> opened_;                 // read thread only
  std::atomic<bool> stop_{false};
  std::atomic<size_t> open_{0};
  std::thread thread_;
};

/// Event streams cut off so far (the stalled one should be).
std::string streams_cut(uint16_t port) {
  http_client c{"127.0.0.1", port};
  auto text = c.get("/metrics").body;
  auto at = text.find("\norchestrator_event_streams_cut_total ");
  if (at == std::string::npos)
    return "0";
  auto from = at + std::string{"\norchestrator_event_streams_cut_total "}.size();
  return text.substr(from, text.find('\n', from) - from);
}

std::string subscriber_text(const options& o, const subscribers& subs, uint64_t events,
                            uint16_t port) {
  if (o.subscribers <= 0)
    return "";
  auto [lo, hi] = subs.events_read();
  return "; " + std::to_string(o.subscribers) + " subscribers (1 stalled), each reader "
         + std::to_string(lo) + (lo == hi ? "" : "-" + std::to_string(hi)) + " of "
         + std::to_string(events) + " events, streams cut off: " + streams_cut(port);
}

uint64_t completed(http_client& c) {
  auto r = c.get("/tasks?status=Completed&limit=1");
  return r.status == 200 ? r.json()["data"]["total"].get<uint64_t>() : 0;
}

/// CPU seconds the orchestrator and this client used during a measurement:
/// on a small machine they share the cores, and the client's share is not
/// the server's to use.
struct cpu_meter {
  explicit cpu_meter(pid_t server) : server(server) {}
  std::string text(double wall) const {
    char buf[160];
    std::snprintf(buf, sizeof buf, "; CPU: orchestrator %.0f%%, client %.0f%% of one core",
                  100 * (proc_cpu_seconds(server) - server0) / wall,
                  100 * (proc_cpu_seconds(::getpid()) - client0) / wall);
    return buf;
  }
  /// The orchestrator's CPU per operation so far, in microseconds: the
  /// figure that shows the design on a shared machine (issue: ours beside
  /// Redis's per queue.add).
  double server_us_per(double ops) const {
    return ops > 0 ? 1e6 * (proc_cpu_seconds(server) - server0) / ops : 0;
  }
  pid_t server;
  double server0 = proc_cpu_seconds(server), client0 = proc_cpu_seconds(::getpid());
};

void submit_shape(const options& o, temp_dir& dir) {
  auto orch = start(o, dir, "submit", 0);
  subscribers subs{orch->port(), o.subscribers};
  cpu_meter cpu{orch->proc().pid()};
  auto t0 = clock_type::now();
  int failures = run_clients(orch->port(), o.clients, o.tasks, [](http_client& c) {
    return c.post("/tasks", R"({"command":"true"})").status == 201;
  });
  double s = seconds_since(t0);
  auto events = static_cast<uint64_t>(o.tasks - failures);  // created, one each
  if (o.subscribers > 0)
    subs.wait_for(events, std::chrono::seconds(60));
  auto cpu_text = cpu.text(s);
  auto us = cpu.server_us_per(o.tasks - failures);
  result("submit", o, (o.tasks - failures) / s, "tasks/s",
         std::to_string(o.tasks) + " tasks, " + std::to_string(o.clients) + " clients, "
           + std::to_string(failures) + " failed" + cpu_text
           + subscriber_text(o, subs, events, orch->port()));
  result("cpu_submit", o, us, "us/task", "orchestrator CPU per durable submission");
}

void batch_shape(const options& o, temp_dir& dir) {
  auto orch = start(o, dir, "batch", 0);
  cpu_meter cpu{orch->proc().pid()};
  std::string body = "{\"tasks\":[";
  for (int i = 0; i < o.batch_size; ++i)
    body += std::string{i ? "," : ""} + R"({"command":"true"})";
  body += "]}";
  int requests = std::max(1, o.batch_tasks / o.batch_size);
  auto t0 = clock_type::now();
  int failures = run_clients(orch->port(), 4, requests, [&](http_client& c) {
    return c.post("/tasks/batch", body).status == 201;
  });
  double s = seconds_since(t0);
  auto stored = static_cast<double>(requests - failures) * o.batch_size;
  result("batch", o, stored / s, "tasks/s",
         std::to_string(requests) + " requests of " + std::to_string(o.batch_size)
           + " tasks, 4 clients, " + std::to_string(failures) + " failed" + cpu.text(s));
  result("cpu_batch", o, cpu.server_us_per(stored), "us/task",
         "orchestrator CPU per task of a batch");
}

void slots_shape(const options& o, temp_dir& dir) {
  {
    // The backlog, stored by an instance that runs nothing.
    auto orch = start(o, dir, "slots", 0);
    std::string body = "{\"tasks\":[";
    for (int i = 0; i < 1000; ++i)
      body += std::string{i ? "," : ""} + R"({"command":"true"})";
    body += "]}";
    if (run_clients(orch->port(), 4, std::max(1, o.slot_tasks / 1000), [&](http_client& c) {
          return c.post("/tasks/batch", body).status == 201;
        }) > 0) {
      std::fprintf(stderr, "slots: storing the backlog failed\n");
      return;
    }
    orch->proc().terminate();  // a clean stop: the next start reads a settled directory
  }
  auto orch = start(o, dir, "slots", o.slot_count, {"--bench-noop-attempts"});
  cpu_meter cpu{orch->proc().pid()};
  auto t0 = clock_type::now();
  http_client probe{"127.0.0.1", orch->port()};
  auto want = static_cast<uint64_t>(std::max(1, o.slot_tasks / 1000) * 1000);
  bool all = wait_until([&] { return completed(probe) >= want; }, std::chrono::minutes(30),
                        std::chrono::milliseconds(5));
  double took = seconds_since(t0);
  result("slots", o, all ? want / took : 0, "tasks/s",
         std::to_string(want) + " tasks claimed and completed by " + std::to_string(o.slot_count)
           + " slots, no process; " + (all ? "" : "NOT ALL COMPLETED; ") + cpu.text(took).substr(2));
  result("cpu_slots", o, cpu.server_us_per(static_cast<double>(want)), "us/task",
         "orchestrator CPU per claim + start + outcome through the slots");
}

/// `count` `true` processes with at most `parallel` alive at once.
double spawn_baseline(int count, int parallel) {
  auto t0 = clock_type::now();
  char* argv[] = {const_cast<char*>("true"), nullptr};
  int running = 0, started = 0;
  while (started < count || running > 0) {
    while (running < parallel && started < count) {
      pid_t pid;
      if (posix_spawnp(&pid, "true", nullptr, nullptr, argv, environ) != 0)
        break;
      ++running;
      ++started;
    }
    if (::wait(nullptr) > 0)
      --running;
  }
  return count / seconds_since(t0);
}

double xargs_baseline(int count, int parallel) {
  auto cmd = "seq " + std::to_string(count) + " | xargs -P " + std::to_string(parallel)
             + " -n 1 true";
  auto t0 = clock_type::now();
  if (std::system(cmd.c_str()) != 0)
    return 0;
  return count / seconds_since(t0);
}

void e2e_shape(const options& o, temp_dir& dir) {
  auto orch = start(o, dir, "e2e", o.slots);
  subscribers subs{orch->port(), o.subscribers};
  cpu_meter cpu{orch->proc().pid()};
  auto t0 = clock_type::now();
  int failures = run_clients(orch->port(), o.slots, o.e2e_tasks, [](http_client& c) {
    return c.post("/tasks", R"({"command":"true"})").status == 201;
  });
  http_client probe{"127.0.0.1", orch->port()};
  auto want = static_cast<uint64_t>(o.e2e_tasks - failures);
  bool all = wait_until([&] { return completed(probe) >= want; }, std::chrono::minutes(30),
                        std::chrono::milliseconds(5));
  double took = seconds_since(t0);
  double rate = want / took;
  auto cpu_text = cpu.text(took);
  auto events = want * 3;  // created, started, completed
  if (o.subscribers > 0)
    subs.wait_for(events, std::chrono::seconds(60));
  auto subs_text = subscriber_text(o, subs, events, orch->port());
  double xargs = xargs_baseline(o.e2e_tasks, o.slots);
  double spawn = spawn_baseline(o.e2e_tasks, o.slots);
  result("e2e", o, all ? rate : 0, "tasks/s",
         std::to_string(o.e2e_tasks) + " tasks `true`, " + std::to_string(o.slots)
           + " slots; " + (all ? "" : "NOT ALL COMPLETED; ")
           + "xargs -P" + std::to_string(o.slots) + " " + std::to_string(static_cast<int>(xargs))
           + "/s, posix_spawn " + std::to_string(static_cast<int>(spawn)) + "/s" + cpu_text
           + subs_text);
  std::printf("RESULT xargs.%s %.3f\nRESULT spawn.%s %.3f\n", o.backend.c_str(), xargs,
              o.backend.c_str(), spawn);
}

void latency_shape(const options& o, temp_dir& dir) {
  auto orch = start(o, dir, "latency", o.slots);
  http_client c{"127.0.0.1", orch->port()};
  std::vector<double> ms;
  for (int i = 0; i < o.samples; ++i) {
    auto sent = now_us();
    auto r = c.post("/tasks", R"({"command":"true"})");
    if (r.status != 201)
      continue;
    auto id = r.json()["data"]["id"].get<std::string>();
    nlohmann::json t;
    wait_until([&] {
      t = c.get("/tasks/" + id).json()["data"];
      return t.is_object() && t["status"] == "Completed";
    }, std::chrono::seconds(30), std::chrono::milliseconds(1));
    micros started = 0;
    if (t.contains("started_at") && parse_rfc3339(t["started_at"].get<std::string>(), started))
      ms.push_back((started - sent) / 1000.0);
  }
  auto at = [&](double q) { return quantile(ms, q); };
  result("p50", o, at(0.50), "ms", "submit-to-start, " + std::to_string(ms.size()) + " samples");
  result("p99", o, at(0.99), "ms", "submit-to-start, idle queue, " + std::to_string(o.slots)
                                     + " slots");
}

} // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App app{"The public API in the shapes scripts/bench.sh compares with BullMQ: submissions, "
               "batches, end to end, submit-to-start latency",
               "bench_api"};
  app.add_option("--backend", o.backend, "filesystem, surrealdb-embedded or surrealdb-server")
    ->capture_default_str();
  app.add_option("--shapes", o.shapes, "Which to run, comma-separated")->capture_default_str();
  app.add_option("--tasks", o.tasks, "submit: tasks in all")->capture_default_str();
  app.add_option("--clients", o.clients, "submit: concurrent clients")->capture_default_str();
  app.add_option("--batch-tasks", o.batch_tasks, "batch: tasks in all")->capture_default_str();
  app.add_option("--batch-size", o.batch_size, "batch: tasks per request")->capture_default_str();
  app.add_option("--e2e-tasks", o.e2e_tasks, "e2e: tasks in all")->capture_default_str();
  app.add_option("--slots", o.slots, "e2e and latency: task slots")->capture_default_str();
  app.add_option("--samples", o.samples, "latency: tasks, one at a time")->capture_default_str();
  app.add_option("--slot-tasks", o.slot_tasks, "slots: the backlog (in thousands' multiples)")
    ->capture_default_str();
  app.add_option("--slot-count", o.slot_count, "slots: task slots")->capture_default_str();
  app.add_option("--subscribers", o.subscribers,
                 "submit, e2e: event streams open meanwhile (one of them stalled)")
    ->capture_default_str();
  app.add_option("--orchestrator-args", o.extra,
                 "More orchestrator options, e.g. \"--surrealdb-url ws://...\"");
  CLI11_PARSE(app, argc, argv);
  temp_dir dir{"orch-bench-api"};
  std::unique_ptr<surreal_server> server;
  if (o.backend == "surrealdb-server") {
    server = std::make_unique<surreal_server>(dir / "surreal");
    o.server_url = server->url();
  }
  auto wanted = [&](const char* shape) {
    return ("," + o.shapes + ",").find("," + std::string{shape} + ",") != std::string::npos;
  };
  if (wanted("submit"))
    submit_shape(o, dir);
  if (wanted("batch"))
    batch_shape(o, dir);
  if (wanted("e2e"))
    e2e_shape(o, dir);
  if (wanted("latency"))
    latency_shape(o, dir);
  if (wanted("slots"))
    slots_shape(o, dir);
  return 0;
}
