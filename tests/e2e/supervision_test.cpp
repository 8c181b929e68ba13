// Supervision, with faults injected into the real binary (--fault-injection):
// a restartable component that fails is restarted and the service goes on;
// storage or the scheduler failing ends the process with status 70, and a
// restart on the same data loses nothing acknowledged.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "tests/e2e/e2e_support.hpp"
#include "tests/support/backend_under_test.hpp"
#include "tests/support/sse_client.hpp"
#include "tests/support/wait.hpp"

using namespace orch;
using namespace orch::test;

namespace {

/// Fails `component` through the hook; the answer comes before the failure.
void fail(orchestrator_process& o, const std::string& component) {
  auto r = o.http().post("/debug/fail/" + component, "");
  REQUIRE(r.status == 202);
}

bool healthy(orchestrator_process& o) {
  return o.http().get("/health").status == 200;
}

/// A task submitted now runs to completion: the service works end to end.
void runs_a_task(orchestrator_process& o) {
  auto t = o.submit({{"command", "true"}});
  CHECK(o.wait_terminal(t["id"])["status"] == "Completed");
}

} // namespace

TEST_CASE("e2e: a restartable component that fails is restarted and the service goes on",
          "[e2e][supervision]") {
  e2e_fixture f{{"--fault-injection"}};
  auto& o = *f.orch;
  runs_a_task(o);
  for (std::string component : {"gateway", "metrics", "events", "audit"}) {
    INFO(component);
    fail(o, component);
    // The log says what happened; then the service answers again by itself.
    REQUIRE(wait_until([&] { return o.proc().err().find(component) != std::string::npos
                                    && o.proc().err().find("restarting it") != std::string::npos; }));
    REQUIRE(wait_until([&] { return healthy(o); }));
    runs_a_task(o);
    CHECK(o.http().get("/metrics").status == 200);
    CHECK(o.proc().running());
  }
  // The restarted audit actor stores refusals again.
  auto missing = "01890000-0000-7000-8000-00000000abcd";
  REQUIRE(o.http().post(std::string{"/tasks/"} + missing + "/cancel", "").status == 404);
  REQUIRE(wait_until([&] {
    auto page = o.http().get(std::string{"/audit?target=task:"} + missing).json();
    return page["data"]["records"].size() == 1;
  }));
}

TEST_CASE("e2e: an open event stream goes on through a restart of the events actor",
          "[e2e][supervision][events]") {
  e2e_fixture f{{"--fault-injection"}};
  auto& o = *f.orch;
  sse_client stream{o.port(), "/events?kind=completed"};
  REQUIRE(stream.status() == 200);
  runs_a_task(o);
  REQUIRE(stream.next());
  fail(o, "events");
  REQUIRE(wait_until([&] { return o.proc().err().find("restarting it") != std::string::npos; }));
  REQUIRE(wait_until([&] { return healthy(o); }));
  auto t = o.submit({{"command", "true"}});
  o.wait_terminal(t["id"]);
  // The new events actor has the stream among its subscribers.
  auto m = stream.next(std::chrono::seconds(10));
  REQUIRE(m);
  CHECK(json::parse(m->data)["task_id"] == t["id"]);
}

TEST_CASE("e2e: a component that keeps failing ends the process with status 70",
          "[e2e][supervision]") {
  e2e_fixture f{{"--fault-injection"}};
  auto& o = *f.orch;
  // Five restarts within a minute are allowed; the sixth failure is fatal.
  for (int i = 0; i < 6 && o.proc().running(); ++i) {
    auto before = o.proc().err().size();
    auto r = o.http().post("/debug/fail/metrics", "");
    if (r.status != 202)
      break;
    wait_until([&] { return o.proc().err().size() > before || !o.proc().running(); });
  }
  CHECK(o.proc().wait_exit(std::chrono::seconds(30)) == 70);
  CHECK(o.proc().err().find("giving up on it") != std::string::npos);
  CHECK(o.proc().err().find("exiting so that the service manager restarts the orchestrator")
        != std::string::npos);
}

TEST_CASE("e2e: storage or the scheduler failing ends the process - and nothing acknowledged is lost",
          "[e2e][supervision]") {
  for (std::string component : {"scheduler", "storage"}) {
    INFO(component);
    e2e_fixture f{{"--fault-injection"}};
    auto done = f.orch->submit({{"command", "true"}});
    f.orch->wait_terminal(done["id"]);
    // Acknowledged, and waiting for a task that is running when the failure
    // comes (its retry lets it run again after the restart).
    auto gate = f.orch->submit({{"command", "sleep"}, {"args", {"30"}}, {"max_retries", 1}});
    auto waiting = f.orch->submit({{"command", "true"}, {"dependencies", {gate["id"]}}});
    fail(*f.orch, component);
    CHECK(f.orch->proc().wait_exit(std::chrono::seconds(30)) == 70);
    CHECK(f.orch->proc().err().find("the " + component + " stopped") != std::string::npos);
    // The service manager's restart: everything acknowledged is there.
    f.start();
    CHECK(f.orch->task(done["id"])["status"] == "Completed");
    CHECK(f.orch->task(waiting["id"])["status"] == "Pending");
    auto gate_status = f.orch->task(gate["id"])["status"];
    CHECK((gate_status == "Queued" || gate_status == "Running"));
    REQUIRE(f.orch->http().post("/tasks/" + gate["id"].get<std::string>() + "/cancel", "").status
            == 200);
    CHECK(f.orch->wait_terminal(waiting["id"])["status"] == "Failed");
  }
}

TEST_CASE("e2e: without --fault-injection the debug route does not exist", "[e2e][supervision]") {
  e2e_fixture f;
  CHECK(f.orch->http().post("/debug/fail/gateway", "").status == 404);
  CHECK(healthy(*f.orch));
}

TEST_CASE("e2e: a restarted metrics actor loses no count - and snapshots keep being persisted",
          "[e2e][supervision][filesystem-only]") {
  // Registered on the filesystem backend only: the snapshots are read from its files.
  e2e_fixture f{{"--fault-injection", "--metrics-interval-s", "1"}};
  auto& o = *f.orch;
  auto submit_three = [&] {
    for (int i = 0; i < 3; ++i)
      o.wait_terminal(o.submit({{"command", "true"}})["id"]);
  };
  auto metrics_dir = std::filesystem::path{f.storage.data_dir} / "queue.rkvs" / "metrics";
  auto snapshot_holds = [&](const std::string& value) {
    std::error_code ec;
    for (auto& e : std::filesystem::directory_iterator(metrics_dir, ec)) {
      std::ifstream in{e.path()};
      for (std::string line; std::getline(in, line);)
        if (line.find("\"orchestrator_tasks_submitted_total\"") != std::string::npos
            && line.find("\"value\":" + value) != std::string::npos)
          return true;
    }
    return false;
  };
  submit_three();
  REQUIRE(wait_until([&] { return snapshot_holds("3"); }));
  fail(o, "metrics");
  REQUIRE(wait_until([&] { return o.proc().err().find("restarting it") != std::string::npos; }));
  submit_three();
  // Counted while the actor was away and after: every one, exactly.
  REQUIRE(wait_until([&] {
    auto r = o.http().get("/metrics");
    return r.status == 200 && r.body.find("orchestrator_tasks_submitted_total 6") != std::string::npos;
  }));
  CHECK(wait_until([&] { return snapshot_holds("6"); }));
}
