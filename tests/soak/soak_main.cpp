// The soak harness: N clients submit a mix of tasks (quick, sleeping,
// failing with retries, flaky, dependants) and cancel some, while the
// orchestrator is killed with SIGKILL at random moments K times and
// restarted on the same data. Then every acknowledged submission is checked
// (soak_check.cpp). Exit status 0 only if nothing was lost or inconsistent.
//
//   soak --backend filesystem|surrealdb-embedded|surrealdb-server [--kills K]
//        [--clients N] [--slots S] [--min-ms A --max-ms B] [--seed X]
//   soak --backend surrealdb-server --kill database ...
//
// With --kill database the SurrealDB test server is killed and restarted
// instead, and the orchestrator must stay up through it all: requests fail
// fast with a 503 that says why while the database is gone, and it
// reconnects by itself.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <thread>

#include <CLI/CLI.hpp>

#include "runtime/platform/http/http_client.hpp"
#include "tests/e2e/e2e_support.hpp"
#include "tests/soak/soak.hpp"
#include "tests/support/backend_under_test.hpp"
#include "tests/support/orchestrator_process.hpp"
#include "tests/support/quantile.hpp"
#include "tests/support/surreal_server.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/wait.hpp"

using namespace orch;
using namespace orch::soak;
using json = nlohmann::json;

namespace {

struct options {
  std::string backend = "filesystem";
  int kills = 20;
  int clients = 4;
  int slots = 4;
  int min_ms = 200;
  int max_ms = 1200;
  unsigned seed = 0;
  int settle_s = 300;
  int rate = 10;                             // submissions per client and second, at most
  std::string kill = "orchestrator";         // or "database"
};

/// The orchestrator under test, restarted after every kill on the same data.
class target {
public:
  target(const options& o, const std::vector<std::string>& storage, const test::temp_dir& dir)
    : dir_(dir), args_(storage) {
    args_.push_back("--max-concurrent-tasks");
    args_.push_back(std::to_string(o.slots));
    for (auto a : {"--retry-backoff-ms", "50", "--lease-s", "3", "--log-level", "warn"})
      args_.push_back(a);
    start();
  }

  void start() {
    proc_ = std::make_unique<test::orchestrator_process>(args_, dir_ / ("run-" + std::to_string(runs_++)));
    port_ = proc_->port();
  }
  void kill() {
    port_ = 0;
    proc_->proc().kill9();
  }
  uint16_t port() const { return port_; }
  test::orchestrator_process& proc() { return *proc_; }
  int runs() const { return runs_; }

private:
  const test::temp_dir& dir_;
  std::vector<std::string> args_;
  std::unique_ptr<test::orchestrator_process> proc_;
  std::atomic<uint16_t> port_{0};
  int runs_ = 0;
};

/// One client: submits and cancels until told to stop, recording what was
/// acknowledged. Requests that get no answer (the process is down) are
/// simply not acknowledged.
/// What the README promises of the 503s while the database is down.
constexpr double fast_503_ms = 50, slowest_503_ms = 1000;

/// Notes a 503: how long it took and whether it says why.
void note_unavailable(ledger& l, const http_result& r, std::chrono::steady_clock::time_point sent) {
  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - sent).count();
  std::lock_guard<std::mutex> g{l.m};
  ++l.unavailable;
  l.ms_503.push_back(ms);
  auto j = r.json();
  if (!j.is_object() || !j.contains("error") || j["error"].get<std::string>().empty())
    l.bad_503.push_back(r.body);
}

void client(int index, const options& o, target& t, ledger& l, const std::string& runs,
            std::atomic<bool>& stop) {
  std::mt19937 rng{o.seed * 7919 + static_cast<unsigned>(index)};
  std::unique_ptr<http_client> http;
  uint16_t connected = 0;
  auto record_run = "echo \"$ORCHESTRATOR_TASK_ID $ORCHESTRATOR_ATTEMPT\" >> " + runs + "; ";
  auto pace = std::chrono::microseconds(1000000 / std::max(1, o.rate));
  auto next = std::chrono::steady_clock::now();
  while (!stop) {
    // Paced, so that the backlog stays what the slots can run.
    std::this_thread::sleep_until(next);
    next = std::max(next + pace, std::chrono::steady_clock::now() - pace);
    auto port = t.port();
    if (port == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    if (port != connected) {
      http = std::make_unique<http_client>("127.0.0.1", port);
      connected = port;
    }
    auto pick = rng() % 100;
    if (pick < 10) {  // cancel something acknowledged
      std::string id;
      {
        std::lock_guard<std::mutex> g{l.m};
        // One of the latest: often still queued or running.
        if (!l.order.empty())
          id = l.order[l.order.size() - 1 - rng() % std::min<size_t>(8, l.order.size())];
      }
      if (id.empty())
        continue;
      auto sent = std::chrono::steady_clock::now();
      auto r = http->post("/tasks/" + id + "/cancel", "");
      if (r.status == 503)
        note_unavailable(l, r, sent);
      std::lock_guard<std::mutex> g{l.m};
      if (r.status == 200)
        l.cancelled.insert(id);
      else if (r.status == 0 || r.status >= 500)
        l.maybe_cancelled.insert(id);
      if (r.status == 0)
        ++l.unanswered;
      continue;
    }
    acknowledged a;
    json body;
    std::string action = "true";
    if (pick < 40) {
      a.kind = task_kind::ok;
    } else if (pick < 55) {
      a.kind = task_kind::sleeper;
      a.max_retries = static_cast<int>(rng() % 2);
      action = "sleep 0." + std::to_string(1 + rng() % 9);
    } else if (pick < 70) {
      a.kind = task_kind::failing;
      a.max_retries = static_cast<int>(rng() % 3);
      action = "exit 3";
    } else if (pick < 85) {
      a.kind = task_kind::flaky;
      a.max_retries = 3;
      action = "[ \"$ORCHESTRATOR_ATTEMPT\" -ge 2 ]";
    } else {
      a.kind = task_kind::dependant;
      std::lock_guard<std::mutex> g{l.m};
      for (int i = 0, n = 1 + static_cast<int>(rng() % 2); i < n && !l.order.empty(); ++i) {
        auto& dep = l.order[l.order.size() - 1 - rng() % std::min<size_t>(20, l.order.size())];
        if (std::find(a.dependencies.begin(), a.dependencies.end(), dep) == a.dependencies.end())
          a.dependencies.push_back(dep);
      }
    }
    body = {{"command", "sh"}, {"args", {"-c", record_run + action}},
            {"max_retries", a.max_retries}, {"priority", static_cast<int>(rng() % 5)}};
    if (!a.dependencies.empty())
      body["dependencies"] = a.dependencies;
    auto sent = std::chrono::steady_clock::now();
    auto r = http->post("/tasks", body.dump());
    if (r.status == 503) {
      note_unavailable(l, r, sent);
      continue;
    }
    std::lock_guard<std::mutex> g{l.m};
    if (r.status == 201) {
      auto id = r.json()["data"]["id"].get<std::string>();
      l.tasks[id] = a;
      l.order.push_back(id);
    } else if (r.status == 0) {
      ++l.unanswered;
    } else {
      ++l.refused;
      std::fprintf(stderr, "soak: a submission was refused: %d %s\n", r.status, r.body.c_str());
    }
  }
}

json get_data(http_client& http, const std::string& target) {
  auto r = http.get(target);
  if (r.status != 200)
    return json{{"missing", std::to_string(r.status) + " " + r.body + r.error}};
  return r.json()["data"];
}

bool terminal(const std::string& s) {
  return s == "Completed" || s == "Failed" || s == "Cancelled";
}

/// Files the filesystem backend moved aside as unreadable: none may exist.
std::vector<std::string> quarantined(const test::temp_dir& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir.path(), ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
    if (it->path().string().find("/corrupted/") != std::string::npos && it->is_regular_file())
      out.push_back(it->path().string());
  return out;
}

} // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App app{"Kill -9 loops under load; checks that nothing acknowledged is lost"};
  app.add_option("--backend", o.backend, "Storage backend")
    ->check(CLI::IsMember({"filesystem", "surrealdb-embedded", "surrealdb-server"}))
    ->capture_default_str();
  app.add_option("--kills", o.kills, "SIGKILLs of the orchestrator")->capture_default_str();
  app.add_option("--clients", o.clients, "Concurrent clients")->capture_default_str();
  app.add_option("--slots", o.slots, "--max-concurrent-tasks")->capture_default_str();
  app.add_option("--min-ms", o.min_ms, "Shortest run between kills")->capture_default_str();
  app.add_option("--max-ms", o.max_ms, "Longest run between kills")->capture_default_str();
  app.add_option("--seed", o.seed, "Random seed (0: from the clock)")->capture_default_str();
  app.add_option("--rate", o.rate, "Requests per client and second, at most")
    ->capture_default_str();
  app.add_option("--kill", o.kill, "What is killed: the orchestrator, or the SurrealDB server")
    ->check(CLI::IsMember({"orchestrator", "database"}))
    ->capture_default_str();
  app.add_option("--settle-s", o.settle_s, "Time for every task to finish after the last kill")
    ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (o.seed == 0)
    o.seed = static_cast<unsigned>(std::chrono::system_clock::now().time_since_epoch().count());
  std::printf("soak: backend %s, %d kills, %d clients, %d slots, seed %u\n", o.backend.c_str(),
              o.kills, o.clients, o.slots, o.seed);
  std::fflush(stdout);

  if (o.kill == "database" && o.backend != "surrealdb-server") {
    std::fprintf(stderr, "soak: --kill database needs --backend surrealdb-server\n");
    return 2;
  }
  test::select_backend(o.backend);
  test::temp_dir dir{"orch-soak"};
  auto settings = test::fresh_storage(dir);
  // A database server of its own when it is the one killed.
  std::unique_ptr<test::surreal_server> database;
  if (o.kill == "database") {
    database = std::make_unique<test::surreal_server>(dir / "surreal-store");
    settings.surrealdb_url = database->url();
  }
  auto storage = test::storage_args(settings);
  ledger l;
  run_log runs{dir / "runs.log"};
  target t{o, storage, dir};
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int i = 0; i < o.clients; ++i)
    clients.emplace_back(client, i, std::cref(o), std::ref(t), std::ref(l), runs.path, std::ref(stop));

  auto started = std::chrono::steady_clock::now();
  std::mt19937 rng{o.seed};
  for (int k = 0; k < o.kills; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(
      o.min_ms + static_cast<int>(rng() % static_cast<unsigned>(std::max(1, o.max_ms - o.min_ms)))));
    if (database) {
      database->kill9();
      // The outage: clients get 503s meanwhile.
      std::this_thread::sleep_for(std::chrono::milliseconds(o.min_ms + static_cast<int>(rng() % 800)));
      database->restart();
    } else {
      t.kill();
      t.start();
    }
  }
  stop = true;
  for (auto& c : clients)
    c.join();
  auto soak_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("soak: %d kills of the %s in %.1f s; %zu submissions acknowledged, %zu cancels, "
              "%zu without an answer (the process was down), %zu refused, %zu answered 503 "
              "(95%% within %.0f ms, slowest %.0f ms)\n",
              o.kills, o.kill.c_str(), soak_s, l.tasks.size(), l.cancelled.size(), l.unanswered,
              l.refused, l.unavailable, test::quantile(l.ms_503, 0.95), test::quantile(l.ms_503, 1.0));
  std::fflush(stdout);

  // Everything acknowledged must finish, on the last incarnation.
  auto& http = t.proc().http();
  std::map<std::string, std::string> final_status;
  bool settled = test::wait_until(
    [&] {
      try {
        final_status = test::statuses(t.proc());
      } catch (const std::exception&) {
        return false;  // storage still reconnecting: ask again
      }
      for (auto& [id, a] : l.tasks)
        if (!terminal(final_status[id]))
          return false;
      return true;
    },
    std::chrono::seconds(o.settle_s), std::chrono::milliseconds(200));
  auto settle_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() - soak_s;
  if (settle_s > 5) {
    // What took long: the events of the task that finished last.
    std::string last_id, last_at;
    for (auto& [id, a] : l.tasks) {
      auto at = get_data(http, "/tasks/" + id).value("completed_at", json{}).dump();
      if (at > last_at) {
        last_at = at;
        last_id = id;
      }
    }
    std::printf("soak: the last task to finish (%s, %s):\n", last_id.c_str(),
                to_string(l.tasks[last_id].kind));
    auto history = get_data(http, "/tasks/" + last_id + "/events?limit=1000");
    if (history.contains("missing"))
      std::printf("    (its events cannot be read: %s)\n", history["missing"].dump().c_str());
    for (auto& e : history["events"])
      std::printf("    %s %s %s %s\n", e.value("time", "").c_str(), e.value("kind", "").c_str(),
                  e.value("status", "").c_str(), e.value("details", "").c_str());
  }
  std::printf("soak: %s in %.1f s after the last kill\n",
              settled ? "every acknowledged task finished" : "NOT every task finished", settle_s);
  std::fflush(stdout);
  std::vector<finding> findings;
  auto ran = runs.read();
  size_t crash_failed = 0, interrupted = 0;
  for (auto& [id, a] : l.tasks) {
    auto task = get_data(http, "/tasks/" + id);
    if (task.contains("missing")) {
      findings.push_back({id, "acknowledged but not found: " + task["missing"].get<std::string>()});
      continue;
    }
    if (!terminal(task.value("status", ""))) {
      findings.push_back({id, "still " + task.value("status", std::string{}) + " after "
                                + std::to_string(o.settle_s) + " s"});
      continue;
    }
    auto events = get_data(http, "/tasks/" + id + "/events?limit=1000")["events"];
    auto all_audit = get_data(http, "/audit?target=task:" + id + "&order=asc&limit=1000")["records"];
    // A refused request (a cancel of a task that had finished) changed
    // nothing and is audited as refused; the changes are the "ok" ones.
    auto audit = nlohmann::json::array();
    for (auto& r : all_audit) {
      auto outcome = r.value("outcome", std::string{});
      if (outcome == "ok")
        audit.push_back(r);
      else if ((outcome != "invalid" && outcome != "failed")
               || r.value("action", std::string{}) != "task.cancel")
        findings.push_back({id, "unexpected audit record " + r.dump()});
    }
    if (task.value("error", std::string{}).find("no retries left") != std::string::npos
        && task.value("error", std::string{}).find("stopped before") != std::string::npos)
      ++crash_failed;
    for (auto& e : events)
      interrupted += e.value("kind", "") == "requeued";
    for (auto& f : check_task(id, a, l.cancelled.count(id) ? 2 : l.maybe_cancelled.count(id) ? 1 : 0, task, events, audit, ran[id],
                              final_status))
      findings.push_back(f);
  }
  if (database && (t.runs() != 1 || !t.proc().proc().running()))
    findings.push_back({"-", "the orchestrator did not stay up while the database was killed"});
  // The promise of the README: while the database is gone, requests fail at
  // once with the reason. 95% within 50 ms and none beyond 1 s, bounds that
  // hold on 2 busy cores (the slowest seen in 15 kills there: 45 ms).
  if (database && l.ms_503.empty())
    findings.push_back({"-", "no request was answered 503 while the database was down"});
  if (database && test::quantile(l.ms_503, 0.95) > fast_503_ms)
    findings.push_back({"-", "95% of the 503s took up to " + std::to_string(test::quantile(l.ms_503, 0.95))
                               + " ms (promised: within " + std::to_string(fast_503_ms) + " ms)"});
  if (database && test::quantile(l.ms_503, 1.0) > slowest_503_ms)
    findings.push_back({"-", "a 503 took " + std::to_string(test::quantile(l.ms_503, 1.0))
                               + " ms (allowed: " + std::to_string(slowest_503_ms) + " ms)"});
  for (auto& body : l.bad_503)
    findings.push_back({"-", "a 503 without an error message: " + body});
  for (auto& f : quarantined(dir))
    findings.push_back({"-", "a record file was quarantined as unreadable: " + f});
  std::printf("soak: %zu tasks checked, %zu with runs recorded; %zu attempts cut short by a kill "
              "were queued again, %zu tasks failed for it on their last attempt: %zu problems\n",
              l.tasks.size(), ran.size(), interrupted, crash_failed, findings.size());
  for (size_t i = 0; i < findings.size() && i < 30; ++i)
    std::printf("  %s: %s\n", findings[i].task.c_str(), findings[i].what.c_str());
  if (!findings.empty())
    std::printf("soak: logs of every run are in %s (kept)\n", dir.path().c_str());
  std::fflush(stdout);
  if (!findings.empty()) {
    // Keep the evidence: the temp dir would be removed at exit.
    std::filesystem::rename(dir.path(), dir.path() + "-failed");
    std::filesystem::create_directory(dir.path());
  }
  return findings.empty() ? 0 : 1;
}
