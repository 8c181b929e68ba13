// The live event stream (GET /events): Server-Sent Events from a real
// orchestrator on each backend, read by a socket client as they come.
#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "runtime/core/ids.hpp"
#include "tests/e2e/e2e_support.hpp"
#include "tests/support/raw_socket.hpp"
#include "tests/support/sse_client.hpp"
#include "tests/support/ws_client.hpp"

using namespace orch::test;

namespace {

/// The stored events of a task, oldest first (GET /tasks/{id}/events).
std::vector<json> stored_events(orchestrator_process& o, const std::string& task) {
  auto page = o.http().get("/tasks/" + task + "/events?limit=1000").json();
  std::vector<json> out;
  for (auto& e : page["data"]["events"])
    out.push_back(e);
  return out;
}

/// Reads events from `s` until one of `task` has `kind`; returns every
/// event read, parsed.
std::vector<json> read_until(sse_client& s, const std::string& task, const std::string& kind) {
  std::vector<json> got;
  while (auto m = s.next()) {
    auto ev = json::parse(m->data);
    CHECK(ev["id"] == m->id);  // id: line and the event's own id agree
    got.push_back(ev);
    if (ev["task_id"] == task && ev["kind"] == kind)
      return got;
  }
  FAIL("the stream ended or went quiet before " << task << " was " << kind);
  return got;
}

std::vector<json> of_task(const std::vector<json>& events, const std::string& task) {
  std::vector<json> out;
  for (auto& e : events)
    if (e["task_id"] == task)
      out.push_back(e);
  return out;
}

} // namespace

TEST_CASE("events: a subscriber sees every state change of a task as it commits, as the store "
          "has them", "[e2e][events]") {
  e2e_fixture f;
  sse_client stream{f.orch->port(), "/events"};
  REQUIRE(stream.status() == 200);
  CHECK(stream.header("content-type") == "text/event-stream");
  CHECK(stream.header("cache-control") == "no-store");
  auto id = f.orch->submit({{"command", "true"}})["id"].get<std::string>();
  auto got = of_task(read_until(stream, id, "completed"), id);
  auto stored = stored_events(*f.orch, id);
  REQUIRE(got.size() == stored.size());
  for (size_t i = 0; i < got.size(); ++i)
    CHECK(got[i] == stored[i]);
  std::vector<std::string> kinds;
  for (auto& e : got)
    kinds.push_back(e["kind"]);
  CHECK(kinds == std::vector<std::string>{"created", "started", "completed"});
  CHECK(got.back()["status"] == "Completed");
}

TEST_CASE("events: ids rise in the order events commit, so a resume after any id is exact",
          "[e2e][events][local-storage]") {
  // Local backends: one engine thread stamps each round's events as it
  // commits them (backends/engine/event_stamps.hpp).
  e2e_fixture f{{"--max-concurrent-tasks", "4"}};
  sse_client stream{f.orch->port(), "/events"};
  REQUIRE(stream.status() == 200);
  json batch{{"tasks", json::array()}};
  for (int i = 0; i < 200; ++i)
    batch["tasks"].push_back({{"command", "true"}});
  auto r = f.orch->http().post("/tasks/batch", batch.dump());
  REQUIRE(r.status == 201);
  // Concurrent changes from the API and the slots while the batch runs.
  auto single = f.orch->submit({{"command", "true"}})["id"].get<std::string>();
  std::string previous;
  size_t completed = 0, seen = 0;
  while (completed < 201) {
    auto m = stream.next();
    REQUIRE(m);
    ++seen;
    CHECK(m->id > previous);
    previous = m->id;
    if (json::parse(m->data)["kind"] == "completed")
      ++completed;
  }
  CHECK(seen == 3 * 201);
  f.orch->wait_terminal(single);
}

TEST_CASE("events: filters by task, kind and status", "[e2e][events]") {
  e2e_fixture f;
  auto watched = f.orch->submit({{"command", "sleep"}, {"args", {"0.3"}}})["id"].get<std::string>();
  sse_client by_task{f.orch->port(), "/events?task=" + watched + "&kind=completed,started"};
  sse_client failures{f.orch->port(), "/events?status=failed"};
  REQUIRE(by_task.status() == 200);
  REQUIRE(failures.status() == 200);
  auto other = f.orch->submit({{"command", "true"}})["id"].get<std::string>();
  auto failing = f.orch->submit({{"command", "false"}})["id"].get<std::string>();
  f.orch->wait_terminal(other);
  f.orch->wait_terminal(failing);
  auto done = read_until(by_task, watched, "completed");
  for (auto& e : done) {
    CHECK(e["task_id"] == watched);
    CHECK((e["kind"] == "started" || e["kind"] == "completed"));
  }
  auto failed = failures.next();
  REQUIRE(failed);
  auto ev = json::parse(failed->data);
  CHECK(ev["task_id"] == failing);
  CHECK(ev["status"] == "Failed");
}

TEST_CASE("events: a subscriber that reconnects with Last-Event-ID or ?after= misses nothing and "
          "sees nothing twice", "[e2e][events]") {
  e2e_fixture f;
  std::string last_seen;
  std::string first;
  {
    sse_client stream{f.orch->port(), "/events"};
    REQUIRE(stream.status() == 200);
    first = f.orch->submit({{"command", "true"}})["id"].get<std::string>();
    auto got = read_until(stream, first, "completed");
    last_seen = got.back()["id"];
  }  // disconnected
  // While nobody listens, more happens.
  std::vector<std::string> missed;
  for (int i = 0; i < 5; ++i)
    missed.push_back(f.orch->submit({{"command", "true"}})["id"].get<std::string>());
  for (auto& id : missed)
    f.orch->wait_terminal(id);
  std::vector<json> expected;
  for (auto& id : missed)
    for (auto& e : stored_events(*f.orch, id))
      expected.push_back(e);
  std::sort(expected.begin(), expected.end(),
            [](const json& a, const json& b) { return a["id"] < b["id"]; });

  auto check_resumed = [&](sse_client& s) {
    REQUIRE(s.status() == 200);
    std::vector<json> got;
    // The replay, then live: a task submitted now comes after it.
    auto live = f.orch->submit({{"command", "true"}})["id"].get<std::string>();
    auto all = read_until(s, live, "completed");
    std::set<std::string> ids;
    for (auto& e : all) {
      CHECK(ids.insert(e["id"].get<std::string>()).second);  // nothing twice
      CHECK(e["task_id"] != first);                           // nothing from before
      if (e["task_id"] != live)
        got.push_back(e);
    }
    REQUIRE(got.size() == expected.size());
    for (size_t i = 0; i < got.size(); ++i)
      CHECK(got[i] == expected[i]);
    return live;
  };
  {
    sse_client resumed{f.orch->port(), "/events", {{"Last-Event-ID", last_seen}}};
    auto live = check_resumed(resumed);
    // The next resume also sees the live task of this one.
    for (auto& e : stored_events(*f.orch, live))
      expected.push_back(e);
  }
  sse_client again{f.orch->port(), "/events?after=" + last_seen};
  check_resumed(again);
}

TEST_CASE("events: a malformed filter is refused with what is wrong", "[e2e][events]") {
  e2e_fixture f;
  auto refused = [&](const std::string& target, const std::string& says) {
    sse_client s{f.orch->port(), target};
    CHECK(s.status() == 400);
    auto body = s.body();
    INFO(target << " -> " << body);
    CHECK(body.find(says) != std::string::npos);
  };
  refused("/events?task=nope", "is not a task id");
  refused("/events?status=Sleeping", "unknown status 'Sleeping'");
  refused("/events?kind=exploded", "unknown event kind 'exploded'");
  refused("/events?after=12", "is not an event id");
  refused("/events?colour=red", "unknown parameter 'colour'");
  sse_client bad_header{f.orch->port(), "/events", {{"Last-Event-ID", "x"}}};
  CHECK(bad_header.status() == 400);
}

TEST_CASE("events: a subscriber that stops reading is cut off and slows nothing", "[e2e][events]") {
  e2e_fixture f{{"--stream-buffer-bytes", "16384"}};
  // Asks for the stream with a tiny receive buffer, then never reads.
  raw_socket stalled{f.orch->port(), 2048};
  REQUIRE(stalled.send_all("GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  sse_client reader{f.orch->port(), "/events?kind=completed"};
  REQUIRE(reader.status() == 200);
  // Enough events to fill the socket buffers and the stream's queue, in
  // batches a test SurrealDB server stores well within its RPC timeout.
  std::set<std::string> ids;
  for (int b = 0; b < 5; ++b) {
    json batch{{"tasks", json::array()}};
    for (int i = 0; i < 200; ++i)
      batch["tasks"].push_back({{"command", "true"}});
    auto r = f.orch->http().post("/tasks/batch", batch.dump());
    INFO(r.body);
    REQUIRE(r.status == 201);
    auto created = r.json();  // kept: the loop refers into it
    for (auto& t : created["data"]["tasks"])
      ids.insert(t["id"].get<std::string>());
  }
  REQUIRE(ids.size() == 1000);
  // Every task completes, and the reader that keeps up sees each.
  size_t completed = 0;
  while (completed < ids.size()) {
    auto m = reader.next(std::chrono::seconds(60));
    REQUIRE(m);
    if (ids.count(json::parse(m->data)["task_id"].get<std::string>()))
      ++completed;
  }
  // The stalled one was let go: reading now finds the end of the stream.
  auto rest = stalled.read_until_close(std::chrono::seconds(30));
  CHECK((rest.closed || rest.reset));
  CHECK(wait_until([&] {
    return f.orch->proc().err().find("an event stream was cut off: the client read too slowly")
           != std::string::npos;
  }));
  CHECK(wait_until([&] {
    return f.orch->http().get("/metrics").body.find("orchestrator_event_streams_cut_total 1\n")
           != std::string::npos;
  }));
  CHECK(f.orch->http().get("/health").status == 200);
}

TEST_CASE("events: on a shared store a subscriber of one instance sees what another commits",
          "[e2e][events][shared-storage]") {
  // Registered on the server backend only: the one shared between instances.
  e2e_fixture f;
  sse_client stream{f.orch->port(), "/events"};
  REQUIRE(stream.status() == 200);
  // Submitted to and run by the first; watched on the second (no slots of
  // its own), whose events actor hears of them through the live queries.
  orchestrator_process second{
    instance_args({"--log-level", "warn"}, f.storage, {"--max-concurrent-tasks", "0"}),
    f.dir / "second"};
  sse_client on_second{second.port(), "/events"};
  REQUIRE(on_second.status() == 200);
  auto id = f.orch->submit({{"command", "true"}})["id"].get<std::string>();
  auto here = of_task(read_until(stream, id, "completed"), id);
  auto there = of_task(read_until(on_second, id, "completed"), id);
  CHECK(here == there);
  CHECK(there == stored_events(*f.orch, id));
}

TEST_CASE("events: a stream ends in good order when the orchestrator stops, saying why",
          "[e2e][events]") {
  e2e_fixture f;
  sse_client stream{f.orch->port(), "/events"};
  REQUIRE(stream.status() == 200);
  auto id = f.orch->submit({{"command", "true"}})["id"].get<std::string>();
  read_until(stream, id, "completed");
  CHECK(f.orch->proc().terminate() == 0);
  // What is left: the reason as a comment, then the end of the answer.
  CHECK_FALSE(stream.next(std::chrono::seconds(10)));
  CHECK(stream.ended_whole());
  CHECK(stream.comments().find(": the server is stopping") != std::string::npos);
}

TEST_CASE("events: label= gives the events of tasks with those labels, live and replayed",
          "[e2e][events]") {
  e2e_fixture f;
  sse_client stream{f.orch->port(), "/events?label=team=infra&kind=completed"};
  REQUIRE(stream.status() == 200);
  auto infra = f.orch->submit({{"command", "true"}, {"labels", {{"team", "infra"}, {"env", "prod"}}}})
                 ["id"].get<std::string>();
  auto web = f.orch->submit({{"command", "true"}, {"labels", {{"team", "web"}}}})["id"]
               .get<std::string>();
  f.orch->wait_terminal(web);
  f.orch->wait_terminal(infra);
  auto last = f.orch->submit({{"command", "true"}, {"labels", {{"team", "infra"}}}})["id"]
                .get<std::string>();
  f.orch->wait_terminal(last);
  std::vector<std::string> got;
  while (got.size() < 2) {
    auto m = stream.next();
    REQUIRE(m);
    got.push_back(json::parse(m->data)["task_id"].get<std::string>());
  }
  CHECK(got == std::vector<std::string>{infra, last});  // web's never came, in between
  // Replayed from the store with the same filter.
  sse_client replay{f.orch->port(), "/events?label=team=infra,env=prod&after=" + orch::new_uuid_v7(1)};
  auto m = replay.next();
  REQUIRE(m);
  CHECK(json::parse(m->data)["task_id"] == infra);
  auto created = json::parse(m->data)["kind"];
  CHECK(created == "created");
}

// -- the same stream as a WebSocket --------------------------------------------------

TEST_CASE("events: asked for a WebSocket, /events sends each event as one JSON message, "
          "filtered and resumable like the SSE stream", "[e2e][events]") {
  e2e_fixture f;
  ws_client ws{f.orch->port(), "/events"};
  REQUIRE(ws.status() == 101);
  auto id = f.orch->submit({{"command", "true"}})["id"].get<std::string>();
  std::vector<json> got;
  while (got.empty() || got.back()["kind"] != "completed") {
    auto m = ws.next();
    REQUIRE(m);
    auto ev = json::parse(*m);  // one event, whole, per message
    if (ev["task_id"] == id)
      got.push_back(ev);
  }
  auto stored = stored_events(*f.orch, id);
  REQUIRE(got.size() == stored.size());
  for (size_t i = 0; i < got.size(); ++i)
    CHECK(got[i] == stored[i]);

  // After the first: the stored rest, replayed; a task filter holds.
  auto other = f.orch->submit({{"command", "true"}})["id"].get<std::string>();
  f.orch->wait_terminal(other);
  ws_client resumed{f.orch->port(), "/events?task=" + id + "&after=" + got[0]["id"].get<std::string>()};
  REQUIRE(resumed.status() == 101);
  for (size_t i = 1; i < stored.size(); ++i) {
    auto m = resumed.next();
    REQUIRE(m);
    CHECK(json::parse(*m) == stored[i]);
  }
  CHECK_FALSE(resumed.next(std::chrono::milliseconds(300)));  // nothing of the other task
}

TEST_CASE("events: a WebSocket with a malformed filter is refused with what is wrong",
          "[e2e][events]") {
  e2e_fixture f;
  ws_client ws{f.orch->port(), "/events?kind=exploded"};
  CHECK(ws.status() == 400);
  CHECK(ws.refusal().find("unknown event kind 'exploded'") != std::string::npos);
}

TEST_CASE("events: a WebSocket is closed as going away, with the reason, when the orchestrator "
          "stops", "[e2e][events]") {
  e2e_fixture f;
  ws_client ws{f.orch->port(), "/events"};
  REQUIRE(ws.status() == 101);
  auto id = f.orch->submit({{"command", "true"}})["id"].get<std::string>();
  f.orch->wait_terminal(id);
  CHECK(f.orch->proc().terminate() == 0);
  while (ws.next(std::chrono::seconds(10))) {
  }
  CHECK(ws.closed());
  CHECK(ws.close_code() == 1001);
  CHECK(ws.close_reason() == "the server is stopping");
}
