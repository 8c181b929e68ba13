// Crash safety: kill -9 at an arbitrary moment loses no acknowledged task;
// a graceful stop requeues what runs and exits 0.
#include <catch2/catch.hpp>

#include <filesystem>

#include <csignal>
#include <mutex>
#include <set>
#include <thread>

#include "tests/e2e/e2e_support.hpp"

using namespace orch;
using namespace orch::test;

// A short lease in both: on the server backend the restarted process takes
// the killed one's attempts over only once their leases have expired (30 s
// by default), which is all the two tests would otherwise wait for.
TEST_CASE("e2e: kill -9 during a run of 200 tasks loses none of them", "[e2e][crash]") {
  e2e_fixture f{{"--max-concurrent-tasks", "4", "--lease-s", "3"}};
  std::vector<std::string> ids;
  for (int i = 0; i < 200; ++i)
    ids.push_back(f.orch->submit({{"command", "sh"},
                                  {"args", {"-c", "sleep 0.0$(( $$ % 5 ))"}},
                                  {"max_retries", 3},
                                  {"priority", i % 5}})["id"]);
  // Kill it in the middle of the run.
  REQUIRE(wait_until([&] {
    auto s = statuses(*f.orch);
    return std::count_if(s.begin(), s.end(), [](auto& p) { return p.second == "Completed"; }) >= 40;
  }));
  f.orch->proc().kill9();
  f.start({"--max-concurrent-tasks", "4", "--lease-s", "3"});
  REQUIRE(wait_until(
    [&] {
      auto s = statuses(*f.orch);
      return std::all_of(ids.begin(), ids.end(), [&](auto& id) { return s[id] == "Completed"; });
    },
    std::chrono::seconds(180)));
  CHECK(statuses(*f.orch).size() == 200);
}

TEST_CASE("e2e: kill -9 during a burst of 1000 concurrent submissions keeps every acknowledged task",
          "[e2e][crash]") {
  e2e_fixture f{{"--max-concurrent-tasks", "2", "--lease-s", "3"}};
  constexpr int clients = 50, per_client = 20;  // 1,000 submissions, 50 in flight
  std::mutex m;
  std::set<std::string> acknowledged;
  std::atomic<int> sent{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, port = f.orch->port()] {
      http_client client{"127.0.0.1", port};
      for (int i = 0; i < per_client; ++i) {
        ++sent;
        auto r = client.post("/tasks", R"({"command":"true","max_retries":2})");
        if (r.status == 201) {
          std::lock_guard<std::mutex> g{m};
          acknowledged.insert(r.json()["data"]["id"].get<std::string>());
        } else if (r.status == 0) {
          return;  // the server is gone
        }
      }
    });
  // Kill it while the burst is in full swing.
  REQUIRE(wait_until([&] {
    std::lock_guard<std::mutex> g{m};
    return acknowledged.size() >= 300;
  }));
  f.orch->proc().kill9();
  for (auto& t : threads)
    t.join();
  INFO("acknowledged " << acknowledged.size() << " of " << sent << " sent");
  CHECK(acknowledged.size() < static_cast<size_t>(clients * per_client));
  f.start({"--lease-s", "3"});
  auto s = statuses(*f.orch);
  for (auto& id : acknowledged)
    CHECK(s.count(id) == 1);
  REQUIRE(wait_until(
    [&] {
      auto now = statuses(*f.orch);
      return std::all_of(acknowledged.begin(), acknowledged.end(),
                         [&](auto& id) { return now[id] == "Completed"; });
    },
    std::chrono::seconds(180)));
}

TEST_CASE("e2e: SIGTERM lets running tasks finish within the grace period then exits 0",
          "[e2e][shutdown]") {
  e2e_fixture f{{"--shutdown-grace-s", "30"}};
  // Its process has started once the file exists ("Running" alone is not
  // enough: a claim still on its way when the shutdown begins is handed back
  // unstarted, by design).
  auto started = f.dir / "started";
  auto t = f.orch->submit(
    {{"command", "sh"}, {"args", {"-c", "touch '" + started + "' && sleep 1"}}});
  REQUIRE(wait_until([&] { return std::filesystem::exists(started); }));
  CHECK(f.orch->proc().terminate(std::chrono::seconds(60)) == 0);
  f.start();
  auto done = f.orch->task(t["id"]);
  INFO(done.dump());
  CHECK(done["status"] == "Completed");
  CHECK(done["attempts"] == 1);
}

TEST_CASE("e2e: a task still running after the grace period is queued again - uncounted",
          "[e2e][shutdown]") {
  e2e_fixture f{{"--shutdown-grace-s", "1"}};
  auto t = f.orch->submit({{"command", "sleep"}, {"args", {"60"}}, {"timeout_s", 3}});
  REQUIRE(wait_until([&] { return f.orch->task(t["id"])["status"] == "Running"; }));
  CHECK(f.orch->proc().terminate(std::chrono::seconds(60)) == 0);
  f.start({"--max-concurrent-tasks", "1"});
  auto after = f.orch->task(t["id"]);
  // Stopped by the shutdown, not by its own fault: queued again, attempt not counted.
  auto kinds = std::string{};
  auto events = f.orch->http().get("/tasks/" + t["id"].get<std::string>() + "/events").json();
  for (auto& e : events["data"]["events"])
    kinds += e["kind"].get<std::string>() + ",";
  CHECK(kinds.find("interrupted") != std::string::npos);
  auto done = f.orch->wait_terminal(t["id"]);
  CHECK(done["error"] == "timed out after 3 s");
  CHECK(done["attempts"] == 1);
}

TEST_CASE("e2e: a task does not outlive an orchestrator killed with kill -9", "[e2e][crash]") {
  e2e_fixture f;
  auto pidfile = f.dir / "pid";
  f.orch->submit({{"command", "sh"}, {"args", {"-c", "echo $$ > " + pidfile + "; exec sleep 60"}}});
  REQUIRE(wait_until([&] { return slurp(pidfile).size() > 1; }));
  auto pid = std::stoi(slurp(pidfile));
  REQUIRE(::kill(pid, 0) == 0);
  f.orch->proc().kill9();
  // Otherwise it would run on while another instance runs the task again.
  CHECK(wait_until([&] { return ::kill(pid, 0) != 0; }, std::chrono::seconds(10)));
}

TEST_CASE("e2e: after kill -9, a task whose last attempt was cut short fails, and its dependants "
          "fail with it at once", "[e2e][crash]") {
  // A short lease: on the server backend the restarted process takes the
  // attempt over only once the lease of the killed one has expired.
  e2e_fixture f{{"--lease-s", "3"}};
  auto started = f.dir / "started";
  auto a = f.orch->submit(
    {{"command", "sh"}, {"args", {"-c", "touch '" + started + "'; sleep 60"}}, {"max_retries", 0}});
  auto b = f.orch->submit({{"command", "true"}, {"dependencies", {a["id"]}}});
  REQUIRE(wait_until([&] { return std::filesystem::exists(started); }));
  f.orch->proc().kill9();
  f.start({"--lease-s", "3"});
  auto failed = f.orch->wait_terminal(a["id"], std::chrono::seconds(30));
  CHECK(failed["status"] == "Failed");
  CHECK(failed["error"].get<std::string>().find("no retries left") != std::string::npos);
  // No periodic look at Pending tasks: the failed event releases it.
  auto dependant = f.orch->wait_terminal(b["id"], std::chrono::seconds(8));
  CHECK(dependant["status"] == "Failed");
  CHECK(dependant["error"] == "dependency " + a["id"].get<std::string>() + " is Failed");
}
