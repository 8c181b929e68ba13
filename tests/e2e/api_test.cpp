// The REST API end to end: the real binary on a free port, driven over HTTP.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include "tests/e2e/e2e_support.hpp"
#include "tests/support/backend_under_test.hpp"
#include "tests/support/skip.hpp"

using namespace orch;
using namespace orch::test;

TEST_CASE("e2e: health reports the storage and the scheduler", "[e2e]") {
  e2e_fixture f;
  auto r = f.orch->http().get("/health");
  REQUIRE(r.status == 200);
  auto j = r.json();
  CHECK(j["success"] == true);
  CHECK(j["data"]["status"] == "ok");
  auto storage = j["data"]["storage"];
  CHECK(storage["backend"] == selected_backend());
  CHECK(storage["location"].is_string());
  if (selected_backend() == "filesystem") {
    CHECK_FALSE(storage.contains("namespace"));
  } else {
    // Where the records are, each part on its own (the dashboard shows them).
    CHECK(storage["namespace"].is_string());
    CHECK(storage["database"].is_string());
    CHECK(storage["location"].get<std::string>().find("namespace") == std::string::npos);
  }
  CHECK(j["data"]["slots"].get<int>() > 0);
}

TEST_CASE("e2e: a submitted task is stored - runs - and its output can be read", "[e2e]") {
  e2e_fixture f;
  auto r = f.orch->http().post("/tasks", R"({"name":"greet","command":"echo","args":["hello","world"],"labels":{"team":"a"}})");
  REQUIRE(r.status == 201);
  auto created = r.json()["data"];
  CHECK(created["status"] == "Queued");
  CHECK(created["name"] == "greet");
  auto id = created["id"].get<std::string>();
  auto done = f.orch->wait_terminal(id);
  CHECK(done["status"] == "Completed");
  CHECK(done["output"] == "hello world\n");
  CHECK(done["exit_code"] == 0);
  CHECK(done["attempts"] == 1);
  CHECK(done["labels"]["team"] == "a");
  CHECK(done["started_at"].is_string());
  CHECK(done["completed_at"].is_string());
  // Its events tell the story in order.
  auto ev = f.orch->http().get("/tasks/" + id + "/events").json()["data"]["events"];
  std::vector<std::string> kinds;
  for (auto& e : ev)
    kinds.push_back(e["kind"]);
  CHECK(kinds == std::vector<std::string>{"created", "started", "completed"});
  // And the audit log records who did what.
  auto audit = f.orch->http().get("/audit?action=task.submit").json()["data"];
  REQUIRE(audit["total"] == 1);
  CHECK(audit["records"][0]["target"] == "task:" + id);
  CHECK(audit["records"][0]["principal"] == "api:127.0.0.1");
  // The audit log lists the newest first, unless asked for the oldest first.
  auto target = "/audit?target=task:" + id;
  std::vector<std::string> newest, oldest;
  auto newest_page = f.orch->http().get(target).json();  // kept: the loops refer into them
  auto oldest_page = f.orch->http().get(target + "&order=asc").json();
  for (auto& r : newest_page["data"]["records"])
    newest.push_back(r["action"]);
  for (auto& r : oldest_page["data"]["records"])
    oldest.push_back(r["action"]);
  CHECK(oldest == std::vector<std::string>{"task.submit", "task.start", "task.complete"});
  CHECK(newest == std::vector<std::string>{"task.complete", "task.start", "task.submit"});
}

TEST_CASE("e2e: a client-chosen id is accepted once", "[e2e]") {
  e2e_fixture f;
  std::string id = "3f2b8c1e-9d4a-4f6b-8e2a-1c3d5e7f9a0b";
  auto body = R"({"id":")" + id + R"(","command":"true"})";
  REQUIRE(f.orch->http().post("/tasks", body).status == 201);
  auto again = f.orch->http().post("/tasks", body);
  CHECK(again.status == 409);
  CHECK(again.json()["error"] == "a task with id " + id + " already exists");
}

TEST_CASE("e2e: 100 tasks of mixed priority all complete", "[e2e]") {
  e2e_fixture f{{"--max-concurrent-tasks", "8"}};
  std::vector<std::string> ids;
  for (int i = 0; i < 100; ++i)
    ids.push_back(f.orch->submit({{"command", "sh"},
                                  {"args", {"-c", "echo " + std::to_string(i)}},
                                  {"priority", (i * 7) % 11 - 5}})["id"]);
  REQUIRE(wait_until(
    [&] {
      auto s = statuses(*f.orch);
      return std::all_of(ids.begin(), ids.end(), [&](auto& id) { return s[id] == "Completed"; });
    },
    std::chrono::seconds(120)));
  for (int i = 0; i < 100; i += 17)
    CHECK(f.orch->task(ids[i])["output"] == std::to_string(i) + "\n");
  auto list = f.orch->http().get("/tasks?status=completed&limit=10&offset=95").json()["data"];
  CHECK(list["total"] == 100);
  CHECK(list["tasks"].size() == 5);
}

TEST_CASE("e2e: with one slot - queued tasks start in priority order - FIFO within a priority",
          "[e2e]") {
  e2e_fixture f{{"--max-concurrent-tasks", "1"}};
  auto gate = f.dir / "gate";
  // Holds the only slot until the gate file exists.
  auto blocker = f.orch->submit(
    {{"command", "sh"}, {"args", {"-c", "while [ ! -e " + gate + " ]; do sleep 0.02; done"}}});
  REQUIRE(wait_until([&] { return f.orch->task(blocker["id"])["status"] == "Running"; }));
  std::vector<std::pair<int, std::string>> submitted;  // priority, id
  for (int i = 0; i < 12; ++i) {
    int prio = (i % 4) * 10;
    submitted.emplace_back(prio, f.orch->submit({{"command", "true"}, {"priority", prio}})["id"]);
  }
  write_text(gate, "");
  for (auto& [p, id] : submitted)
    REQUIRE(f.orch->wait_terminal(id)["status"] == "Completed");
  // Expected: by priority descending, ties in submission order.
  auto expected = submitted;
  std::stable_sort(expected.begin(), expected.end(),
                   [](auto& a, auto& b) { return a.first > b.first; });
  std::vector<std::pair<std::string, std::string>> started;  // started_at, id
  for (auto& [p, id] : submitted)
    started.emplace_back(f.orch->task(id)["started_at"], id);
  std::sort(started.begin(), started.end());
  for (size_t i = 0; i < expected.size(); ++i)
    CHECK(started[i].second == expected[i].second);
}

TEST_CASE("e2e: listing filters by status and pages", "[e2e]") {
  e2e_fixture f;
  for (int i = 0; i < 5; ++i)
    f.orch->wait_terminal(f.orch->submit({{"command", "false"}})["id"]);
  for (int i = 0; i < 3; ++i)
    f.orch->wait_terminal(f.orch->submit({{"command", "true"}})["id"]);
  auto failed = f.orch->http().get("/tasks?status=Failed&limit=2").json()["data"];
  CHECK(failed["total"] == 5);
  CHECK(failed["tasks"].size() == 2);
  auto page3 = f.orch->http().get("/tasks?status=Failed&limit=2&offset=4").json()["data"];
  CHECK(page3["tasks"].size() == 1);
  auto all = f.orch->http().get("/tasks?order=desc").json()["data"];
  CHECK(all["total"] == 8);
  CHECK(all["tasks"][0]["created_at"] >= all["tasks"][7]["created_at"]);
}

TEST_CASE("e2e: GET /metrics/history gives the persisted samples of a metric, the queue depth "
          "among them without a scrape", "[e2e][metrics]") {
  e2e_fixture f{{"--metrics-interval-s", "1", "--max-concurrent-tasks", "1"}};
  // One slot held: the rest wait in the queue.
  auto gate = f.dir / "gate";
  f.orch->submit({{"command", "sh"}, {"args", {"-c", "while [ ! -e " + gate + " ]; do sleep 0.02; done"}}});
  for (int i = 0; i < 3; ++i)
    f.orch->submit({{"command", "true"}});
  nlohmann::json samples;
  REQUIRE(wait_until([&] {
    auto r = f.orch->http().get("/metrics/history?name=orchestrator_queue_depth&order=desc&limit=1");
    if (r.status != 200)
      return false;
    samples = r.json()["data"]["samples"];
    // The waiting three, and the running one while its entry is leased.
    return !samples.empty() && samples[0]["value"].get<double>() >= 3;
  }, std::chrono::seconds(20)));
  CHECK(samples[0]["name"] == "orchestrator_queue_depth");
  // Each sample names the instance that wrote it (shared storage holds several).
  auto instance = f.orch->http().get("/health").json()["data"]["instance"];
  CHECK(samples[0]["labels"]["instance"] == instance);
  write_text(gate, "");
  auto bad = f.orch->http().get("/metrics/history");
  CHECK(bad.status == 400);
  CHECK(bad.json()["error"].get<std::string>().find("name a metric") != std::string::npos);
}

TEST_CASE("e2e: GET /tasks?q= searches tasks beside status= and paging, and a bad search is a 400",
          "[e2e][search]") {
  e2e_fixture f;
  auto backup = f.orch->submit({{"name", "Nightly backup"},
                                {"command", "sh"},
                                {"args", {"-c", "exit 0"}},
                                {"labels", {{"team", "infra"}}}})["id"]
                  .get<std::string>();
  auto report = f.orch->submit({{"name", "nightly report"},
                                {"command", "false"},
                                {"labels", {{"team", "data"}}}})["id"]
                  .get<std::string>();
  f.orch->wait_terminal(backup);
  f.orch->wait_terminal(report);
  auto ids = [&](const std::string& path) {
    auto r = f.orch->http().get(path);
    REQUIRE(r.status == 200);
    std::set<std::string> out;
    auto body = r.json();
    for (auto& t : body["data"]["tasks"])
      out.insert(t["id"].get<std::string>());
    CHECK(body["data"]["total"] == out.size());
    return out;
  };
  using set = std::set<std::string>;
  CHECK(ids("/tasks?q=nightly") == set{backup, report});
  CHECK(ids("/tasks?q=nightly%20label%3Ateam%3Dinfra") == set{backup});
  CHECK(ids("/tasks?q=NIGHT+status%3Afailed") == set{report});
  CHECK(ids("/tasks?q=nightly&status=completed") == set{backup});
  CHECK(ids("/tasks?q=id%3A" + report.substr(0, 6)) == set{report});
  CHECK(ids("/tasks?q=name%3A%22nightly%20report%22") == set{report});
  CHECK(ids("/tasks?q=ightly").empty());
  auto one = f.orch->http().get("/tasks?q=nightly&limit=1&order=desc").json()["data"];
  CHECK(one["total"] == 2);
  CHECK(one["tasks"][0]["id"] == report);

  auto bad = f.orch->http().get("/tasks?q=stat%3Afailed");
  CHECK(bad.status == 400);
  CHECK(bad.json()["error"].get<std::string>().find("unknown search field 'stat'")
        != std::string::npos);
  CHECK(f.orch->http().get("/tasks?q=name%3A%22open").status == 400);

  // A task's dependants: the graph's edges the other way.
  auto child = f.orch->submit({{"command", "true"}, {"dependencies", {backup}}})["id"]
                 .get<std::string>();
  CHECK(ids("/tasks?depends_on=" + backup) == set{child});
  CHECK(ids("/tasks?depends_on=" + report).empty());
  CHECK(f.orch->http().get("/tasks?depends_on=" + backup + "&status=failed").status == 400);
  CHECK(f.orch->http().get("/tasks?depends_on=../x").status == 400);
}

namespace {

/// promtool's verdict on a metrics text: its exit status and what it said
/// (-1: promtool is not installed).
std::pair<int, std::string> promtool_check(const std::string& text, const std::string& dir) {
  if (std::system("command -v promtool > /dev/null 2>&1") != 0)
    return {-1, "promtool not found (Debian package prometheus)"};
  auto in = dir + "/metrics.txt", out = dir + "/promtool.out";
  std::ofstream{in} << text;
  auto rc = std::system(("promtool check metrics < " + in + " > " + out + " 2>&1").c_str());
  std::ifstream said{out};
  return {WEXITSTATUS(rc), std::string{std::istreambuf_iterator<char>(said), {}}};
}

} // namespace

TEST_CASE("e2e: metrics are served in the Prometheus text format: promtool passes, every "
          "family is described, with queue depth and storage latency", "[e2e]") {
  e2e_fixture f;
  f.orch->wait_terminal(f.orch->submit({{"command", "true"}})["id"]);
  // The scheduler counts a finished task once it hears the outcome's commit
  // succeeded, which can be just after a reader sees the task Completed.
  http_result r;
  wait_until([&] {
    r = f.orch->http().get("/metrics");
    return r.body.find("orchestrator_tasks_finished_total{status=\"Completed\"}")
           != std::string::npos;
  });
  REQUIRE(r.status == 200);
  CHECK(r.content_type.find("text/plain") == 0);
  CHECK(r.body.find("# TYPE orchestrator_tasks_submitted_total counter\n"
                    "orchestrator_tasks_submitted_total 1\n")
        != std::string::npos);
  CHECK(r.body.find("orchestrator_tasks_finished_total{status=\"Completed\"} 1")
        != std::string::npos);
  CHECK(r.body.find("orchestrator_http_request_duration_seconds_bucket") != std::string::npos);
  // Every family has its HELP before its TYPE.
  std::set<std::string> typed, helped;
  const std::regex header{"# (HELP|TYPE) ([a-z_]+) "};
  for (auto it = std::sregex_iterator(r.body.begin(), r.body.end(), header);
       it != std::sregex_iterator(); ++it)
    ((*it)[1] == "TYPE" ? typed : helped).insert((*it)[2]);
  CHECK(!typed.empty());
  CHECK(typed == helped);
  // Bucket bounds as people write them.
  const std::set<std::string> bounds{"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
                                     "0.05",   "0.1",   "0.25",   "0.5",   "1",    "5", "+Inf"};
  const std::regex le{"le=\"([^\"]*)\""};
  size_t buckets = 0;
  for (auto it = std::sregex_iterator(r.body.begin(), r.body.end(), le);
       it != std::sregex_iterator(); ++it, ++buckets)
    CHECK(bounds.count((*it)[1]));
  CHECK(buckets > 0);
  CHECK(r.body.find("orchestrator_queue_depth 0\n") != std::string::npos);
  CHECK(r.body.find("orchestrator_storage_operation_duration_seconds_count{backend=\""
                    + selected_backend() + "\",operation=\"claim\"}")
        != std::string::npos);
  CHECK(r.body.find("orchestrator_node_slots{node=") != std::string::npos);
  auto [rc, said] = promtool_check(r.body, f.dir.path());
  if (rc == -1) {
    ORCH_SKIP(said);
    return;
  }
  INFO(said);
  CHECK(rc == 0);
}

TEST_CASE("e2e: many concurrent keep-alive connections are served", "[e2e]") {
  e2e_fixture f;
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 64; ++c)
    clients.emplace_back([&] {
      http_client client{"127.0.0.1", f.orch->port()};
      for (int i = 0; i < 20; ++i)
        if (client.get("/health").status == 200)
          ++ok;
    });
  for (auto& t : clients)
    t.join();
  CHECK(ok == 64 * 20);
}
