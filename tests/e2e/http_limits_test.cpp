// The HTTP server's own limits against clients that misbehave: more
// connections than the cap, requests that trickle in (slow loris), idle
// keep-alive connections, clients that never read, bodies over the limit
// still being sent. Each ends in a clear answer or a close, and the server
// goes on serving everyone else. Figures under load: bench_connections.
#include <catch2/catch.hpp>

#include <memory>
#include <thread>
#include <vector>

#include "tests/e2e/e2e_support.hpp"
#include "tests/support/raw_socket.hpp"
#include "tests/support/wait.hpp"

using namespace orch;
using namespace orch::test;

namespace {

const std::string health = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

std::unique_ptr<orchestrator_process> start(const temp_dir& d, std::vector<std::string> extra) {
  std::vector<std::string> args{"--data-dir", d / "data", "--max-concurrent-tasks", "1"};
  args.insert(args.end(), extra.begin(), extra.end());
  return std::make_unique<orchestrator_process>(args, d / "orch");
}

/// GET /health on a connection of its own, closed after the answer.
int health_status(uint16_t port) {
  raw_socket s{port};
  return status_of(s.exchange("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                              std::chrono::seconds(10))
                     .bytes);
}

} // namespace

TEST_CASE("http limits: one connection over --max-connections gets a 503 that says so, and "
          "closing one lets the next in", "[http-limits]") {
  temp_dir d;
  auto o = start(d, {"--max-connections", "4"});
  std::vector<std::unique_ptr<raw_socket>> idle;
  for (int i = 0; i < 4; ++i)
    idle.push_back(std::make_unique<raw_socket>(o->port()));
  raw_socket extra{o->port()};
  auto got = extra.exchange(health, std::chrono::seconds(10));
  INFO(got.bytes);
  REQUIRE(status_of(got.bytes) == 503);
  CHECK(got.bytes.find("Retry-After: 1") != std::string::npos);
  CHECK(got.bytes.find("\"success\":false") != std::string::npos);
  CHECK(got.bytes.find("at most 4 at a time (--max-connections)") != std::string::npos);
  CHECK_FALSE(got.reset);
  idle.pop_back();
  CHECK(wait_until([&] { return health_status(o->port()) == 200; }));
}

TEST_CASE("http limits: a request that trickles in gets 408 after --request-timeout-s while "
          "other clients are served", "[http-limits]") {
  temp_dir d;
  auto o = start(d, {"--request-timeout-s", "1"});
  std::vector<std::unique_ptr<raw_socket>> slow;
  for (int i = 0; i < 20; ++i) {
    slow.push_back(std::make_unique<raw_socket>(o->port()));
    REQUIRE(slow.back()->send_all("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a"));
  }
  CHECK(o->http().get("/health").status == 200);
  for (auto& s : slow) {
    auto got = s->read_until_close();
    INFO(got.bytes);
    CHECK(status_of(got.bytes) == 408);
    CHECK(got.bytes.find("did not arrive within 1 s (--request-timeout-s)") != std::string::npos);
    CHECK(got.closed);
  }
  CHECK(o->http().get("/health").status == 200);
}

TEST_CASE("http limits: an idle keep-alive connection is closed after --idle-timeout-s",
          "[http-limits]") {
  temp_dir d;
  auto o = start(d, {"--idle-timeout-s", "1"});
  raw_socket s{o->port()};
  REQUIRE(s.send_all(health));
  auto got = s.read_until_close();
  CHECK(status_of(got.bytes) == 200);
  CHECK(got.closed);
}

TEST_CASE("http limits: a client that never reads its answers is cut off after "
          "--request-timeout-s and does not hold up others", "[http-limits]") {
  temp_dir d;
  auto o = start(d, {"--request-timeout-s", "1"});
  // Answers of about a megabyte each: far more than the kernel's socket
  // buffers take, so the server's writes to the hog block.
  std::string big(64 * 1024, 'x');
  for (int i = 0; i < 16; ++i)
    REQUIRE(o->http().post("/tasks", R"({"command":"true","args":[")" + big + R"("]})").status
            == 201);
  raw_socket hog{o->port(), 4096};  // a small receive buffer, never read until the end
  std::string pipelined;
  for (int i = 0; i < 64; ++i)
    pipelined += "GET /tasks?limit=1000 HTTP/1.1\r\nHost: x\r\n\r\n";
  REQUIRE(hog.send_all(pipelined));
  CHECK(health_status(o->port()) == 200);
  CHECK(o->http().post("/tasks", R"({"command":"true"})").status == 201);
  // Not a wait for the server: this is the client under test, not reading
  // for three times the timeout.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  CHECK(health_status(o->port()) == 200);
  // The server has given up on the hog: reading now ends (closed or reset)
  // long before its 64 answers (64 MiB).
  auto got = hog.read_until_close();
  CHECK((got.closed || got.reset));
  CHECK(got.bytes.size() < 16 * 16 * big.size());  // fewer than a quarter of the answers
  CHECK(health_status(o->port()) == 200);
}

TEST_CASE("http limits: a client still sending a body over --max-body-bytes reads its 413, "
          "not a reset", "[http-limits]") {
  temp_dir d;
  auto o = start(d, {"--max-body-bytes", "1024"});
  std::string body(2 << 20, 'x');
  raw_socket s{o->port()};
  auto got = s.exchange("POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  INFO(got.bytes.substr(0, 300));
  CHECK(status_of(got.bytes) == 413);
  CHECK(got.bytes.find("--max-body-bytes") != std::string::npos);
  CHECK_FALSE(got.reset);
}
