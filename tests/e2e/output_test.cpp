// A task's output (GET /tasks/{id}/output): the stored text with Range
// paging, and a follower's stream of each attempt's output as the process
// writes it, then the task's outcome; over SSE and over a WebSocket.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/e2e/e2e_support.hpp"
#include "tests/support/sse_client.hpp"
#include "tests/support/ws_client.hpp"

using namespace orch::test;
using orch::http_result;

namespace {

/// One message of a follower's stream: its type and JSON.
struct output_message {
  std::string type;
  json body;
};

output_message next_message(sse_client& s) {
  auto m = s.next();
  REQUIRE(m);
  auto body = json::parse(m->data);
  CHECK(body["type"] == m->event);  // the SSE event is named by the message's type
  return {m->event, body};
}

/// Reads output messages until the text of `stream` has `wanted` in it.
std::string read_output_until(sse_client& s, const std::string& stream, const std::string& wanted) {
  std::string text;
  while (text.find(wanted) == std::string::npos) {
    auto m = next_message(s);
    REQUIRE(m.type == "output");
    if (m.body["stream"] == stream)
      text += m.body["text"].get<std::string>();
  }
  return text;
}

void touch(const std::string& p) {
  std::ofstream{p} << "go";
}

} // namespace

TEST_CASE("output: a follower gets a running task's output as it is written, then its outcome",
          "[e2e][output]") {
  e2e_fixture f;
  auto gate = f.dir / "gate";
  auto id = f.orch->submit({{"command", "sh"},
                            {"args", {"-c", "echo one; while [ ! -f " + gate
                                              + " ]; do sleep 0.05; done; echo two >&2; echo three"}}})
              ["id"].get<std::string>();
  REQUIRE(wait_until([&] { return f.orch->task(id)["status"] == "Running"; }));
  sse_client s{f.orch->port(), "/tasks/" + id + "/output?follow=1"};
  REQUIRE(s.status() == 200);
  CHECK(s.header("content-type") == "text/event-stream");
  auto attempt = next_message(s);
  CHECK(attempt.type == "attempt");
  CHECK(attempt.body["attempt"] == 1);
  CHECK(attempt.body["live"] == true);
  // "one" arrives while the task still waits at its gate: live, not at the end.
  CHECK(read_output_until(s, "stdout", "one\n") == "one\n");
  CHECK(f.orch->task(id)["status"] == "Running");
  touch(gate);
  std::string out, err;
  for (;;) {
    auto m = next_message(s);
    if (m.type == "end") {
      CHECK(m.body["status"] == "Completed");
      CHECK(m.body["exit_code"] == 0);
      break;
    }
    REQUIRE(m.type == "output");
    (m.body["stream"] == "stdout" ? out : err) += m.body["text"].get<std::string>();
  }
  CHECK(out == "three\n");
  CHECK(err == "two\n");
  CHECK_FALSE(s.next(std::chrono::seconds(5)));
  CHECK(s.ended_whole());
}

TEST_CASE("output: a follower of a task that waits sees each attempt, retries included, and "
          "the failure at the end", "[e2e][output]") {
  e2e_fixture f;
  auto gate = f.dir / "gate";
  auto first = f.orch->submit({{"command", "sh"},
                               {"args", {"-c", "while [ ! -f " + gate
                                                 + " ]; do sleep 0.05; done"}}})["id"]
                 .get<std::string>();
  auto id = f.orch->submit({{"command", "sh"},
                            {"args", {"-c", "echo try $ORCHESTRATOR_ATTEMPT; exit 3"}},
                            {"max_retries", 1},
                            {"dependencies", {first}}})["id"]
              .get<std::string>();
  sse_client s{f.orch->port(), "/tasks/" + id + "/output?follow=1"};
  REQUIRE(s.status() == 200);
  touch(gate);
  std::vector<std::string> seen;
  for (;;) {
    auto m = next_message(s);
    if (m.type == "attempt")
      seen.push_back("attempt " + std::to_string(m.body["attempt"].get<int>()));
    else if (m.type == "output")
      seen.push_back(m.body["text"].get<std::string>());
    else {
      CHECK(m.type == "end");
      CHECK(m.body["status"] == "Failed");
      CHECK(m.body["exit_code"] == 3);
      CHECK(m.body["attempts"] == 2);
      break;
    }
  }
  CHECK(seen == std::vector<std::string>{"attempt 1", "try 1\n", "attempt 2", "try 2\n"});
}

TEST_CASE("output: a UTF-8 character split between two writes arrives whole", "[e2e][output]") {
  e2e_fixture f;
  auto gate = f.dir / "gate";
  auto id = f.orch->submit({{"command", "sh"},
                            {"args", {"-c", "printf 'caf\\303'; while [ ! -f " + gate
                                              + " ]; do sleep 0.05; done; printf '\\251!\\n'"}}})
              ["id"].get<std::string>();
  REQUIRE(wait_until([&] { return f.orch->task(id)["status"] == "Running"; }));
  sse_client s{f.orch->port(), "/tasks/" + id + "/output?follow=1"};
  CHECK(next_message(s).type == "attempt");
  CHECK(read_output_until(s, "stdout", "caf") == "caf");  // the lone lead byte waits
  touch(gate);
  CHECK(read_output_until(s, "stdout", "!") == "\xc3\xa9!\n");
  CHECK(next_message(s).type == "end");
}

TEST_CASE("output: the stored text is served whole or by Range, each stream on its own",
          "[e2e][output]") {
  e2e_fixture f;
  auto id = f.orch->submit({{"command", "sh"}, {"args", {"-c", "printf 'hello world'; printf oops >&2"}}})
              ["id"].get<std::string>();
  f.orch->wait_terminal(id);
  auto whole = f.orch->http().get("/tasks/" + id + "/output");
  CHECK(whole.status == 200);
  CHECK(whole.body == "hello world");
  CHECK(whole.content_type == "text/plain; charset=utf-8");
  CHECK(whole.headers["accept-ranges"] == "bytes");
  CHECK(whole.headers["x-task-status"] == "Completed");
  CHECK(f.orch->http().get("/tasks/" + id + "/output?stream=stderr").body == "oops");

  auto ranged = [&](const std::string& range) {
    sse_client c{f.orch->port(), "/tasks/" + id + "/output", {{"Range", range}}};
    auto status = c.status();
    return std::make_tuple(status, c.body(), c.header("content-range"));
  };
  CHECK(ranged("bytes=0-4") == std::make_tuple(206, std::string{"hello"}, std::string{"bytes 0-4/11"}));
  CHECK(ranged("bytes=6-") == std::make_tuple(206, std::string{"world"}, std::string{"bytes 6-10/11"}));
  CHECK(ranged("bytes=-3") == std::make_tuple(206, std::string{"rld"}, std::string{"bytes 8-10/11"}));
  auto [status, body, content_range] = ranged("bytes=20-");
  CHECK(status == 416);
  CHECK(content_range == "bytes */11");
  CHECK(body.find("past the end (11 bytes)") != std::string::npos);

  // Following a task that has ended: its stored output, then the end.
  sse_client s{f.orch->port(), "/tasks/" + id + "/output?follow=1"};
  CHECK(next_message(s).type == "attempt");
  std::string out;
  for (auto m = next_message(s); m.type != "end"; m = next_message(s))
    if (m.body["stream"] == "stdout")
      out += m.body["text"].get<std::string>();
  CHECK(out == "hello world");

  // What is wrong is said.
  auto bad = [&](const std::string& query, const std::string& says) {
    auto r = f.orch->http().get("/tasks/" + id + "/output" + query);
    INFO(query << " -> " << r.body);
    CHECK(r.status == 400);
    CHECK(r.body.find(says) != std::string::npos);
  };
  bad("?follow=maybe", "follow must be 1 or 0");
  bad("?stream=stdin", "stream must be stdout or stderr");
  bad("?follow=1&stream=stdout", "a follower gets both streams");
  bad("?colour=red", "unknown parameter 'colour'");
  CHECK(f.orch->http().get("/tasks/00000000-0000-4000-8000-000000000000/output").status == 404);
}

TEST_CASE("output: a running task's text so far is served while it runs", "[e2e][output]") {
  e2e_fixture f;
  auto gate = f.dir / "gate";
  auto id = f.orch->submit({{"command", "sh"},
                            {"args", {"-c", "echo early; while [ ! -f " + gate
                                              + " ]; do sleep 0.05; done"}}})["id"]
              .get<std::string>();
  http_result r;
  REQUIRE(wait_until([&] {
    r = f.orch->http().get("/tasks/" + id + "/output");
    return r.body == "early\n";
  }));
  CHECK(r.headers["x-task-status"] == "Running");
  touch(gate);
  f.orch->wait_terminal(id);
}

TEST_CASE("output: followed over a WebSocket, each message is one JSON object", "[e2e][output]") {
  e2e_fixture f;
  auto id = f.orch->submit({{"command", "sh"}, {"args", {"-c", "echo hi"}}})["id"].get<std::string>();
  f.orch->wait_terminal(id);
  ws_client ws{f.orch->port(), "/tasks/" + id + "/output?follow=1"};
  REQUIRE(ws.status() == 101);
  std::vector<json> got;
  while (auto m = ws.next(std::chrono::seconds(10)))
    got.push_back(json::parse(*m));
  REQUIRE(got.size() == 3);
  CHECK(got[0]["type"] == "attempt");
  CHECK(got[1] == json{{"type", "output"}, {"stream", "stdout"}, {"text", "hi\n"}});
  CHECK(got[2]["type"] == "end");
  CHECK(ws.close_code() == 1000);
}
