// Every kind of bad input gets its status code and a message saying what is
// wrong; none of it changes anything.
#include <catch2/catch.hpp>

#include "tests/e2e/e2e_support.hpp"

using namespace orch;
using namespace orch::test;

namespace {

std::string error_of(const http_result& r) {
  auto j = r.json();
  REQUIRE(j.is_object());
  CHECK(j["success"] == false);
  return j["error"].get<std::string>();
}

} // namespace

TEST_CASE("e2e: malformed and invalid submissions get 400 with the reason", "[e2e][input]") {
  e2e_fixture f;
  auto& h = f.orch->http();
  auto r = h.post("/tasks", R"({"command": "echo", )");
  CHECK(r.status == 400);
  CHECK(error_of(r).find("the request body is not valid JSON: unexpected end of input at byte") == 0);
  // Numbers no integer can hold are answered, and the service stays up.
  for (auto body : {R"({"command": "echo", "priority": 1e999})",
                    R"({"command": "echo", "priority": -1e999})",
                    R"({"command": "echo", "priority": 123456789012345678901234567890})",
                    R"({"command": "echo", "timeout_s": 1.7976931348623157e309})"}) {
    INFO(body);
    r = h.post("/tasks", body);
    CHECK(r.status == 400);
    CHECK(error_of(r).find("must be an integer, got a fractional number") != std::string::npos);
    CHECK(h.get("/health").status == 200);
  }
  r = h.post("/tasks", "");
  CHECK(r.status == 400);
  CHECK(error_of(r).find("the request body is empty") == 0);
  r = h.post("/tasks", R"({"command": "echo", "priority": "high"})");
  CHECK(r.status == 400);
  CHECK(error_of(r) == "field 'priority' must be an integer, got string");
  r = h.post("/tasks", R"({"args": ["x"]})");
  CHECK(r.status == 400);
  CHECK(error_of(r).find("missing 'command'") == 0);
  r = h.post("/tasks", R"({"command": "echo", "max_retries": true})");
  CHECK(r.status == 400);
  CHECK(error_of(r) == "field 'max_retries' must be an integer, got boolean");
  r = h.post("/tasks", R"({"command": "echo", "retries": 3})");
  CHECK(r.status == 400);
  CHECK(error_of(r).find("unknown field 'retries'") == 0);
  r = h.post("/tasks", "[1, 2, 3]");
  CHECK(r.status == 400);
  CHECK(error_of(r) == "the request body must be a JSON object, got array");
  // Nothing was stored.
  CHECK(h.get("/tasks").json()["data"]["total"] == 0);
}

TEST_CASE("e2e: unknown ids are 404 - path tricks are 400 before any file is touched",
          "[e2e][input]") {
  e2e_fixture f;
  auto& h = f.orch->http();
  auto r = h.get("/tasks/6f1c2c5e-0d4f-4b8a-9a3e-2b1c0d9e8f7a");
  CHECK(r.status == 404);
  CHECK(error_of(r) == "task 6f1c2c5e-0d4f-4b8a-9a3e-2b1c0d9e8f7a does not exist");
  r = h.post("/tasks/6f1c2c5e-0d4f-4b8a-9a3e-2b1c0d9e8f7a/cancel", "");
  CHECK(r.status == 404);
  for (std::string target : {"/tasks/../../etc/passwd", "/tasks/..%2f..%2fetc%2fpasswd",
                             "/tasks/%2e%2e/cancel", "/tasks/6F1C2C5E-0D4F-4B8A-9A3E-2B1C0D9E8F7A"}) {
    INFO(target);
    r = h.get(target);
    CHECK(r.status == 400);
    CHECK(error_of(r).find("invalid task id '") == 0);
  }
  // A raw request line, exactly as an attacker would send it.
  auto raw = raw_exchange("127.0.0.1", f.orch->port(),
                          "GET /tasks/../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(raw.find("HTTP/1.1 400") == 0);
  CHECK(raw.find("invalid task id '..'") != std::string::npos);
  r = h.get("/tasks/%zz");
  CHECK(r.status == 400);
  CHECK(error_of(r).find("malformed URL") == 0);
  // The message echoes the URL: bytes that are not UTF-8 and a quote must
  // still leave a well-formed JSON envelope.
  raw = raw_exchange("127.0.0.1", f.orch->port(),
                     "GET /tasks/%zz\xff\xfe\"x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(raw.find("HTTP/1.1 400") == 0);
  auto body_at = raw.find("\r\n\r\n");
  REQUIRE(body_at != std::string::npos);
  auto envelope = json::parse(raw.substr(body_at + 4), nullptr, false);
  REQUIRE_FALSE(envelope.is_discarded());
  CHECK(envelope["success"] == false);
  CHECK(envelope["error"].get<std::string>().find("malformed URL") == 0);
}

TEST_CASE("e2e: a body over the limit gets 413", "[e2e][input]") {
  e2e_fixture f{{"--max-body-bytes", "2048"}};
  std::string big = R"({"command":"echo","args":[")" + std::string(5000, 'x') + R"("]})";
  auto r = f.orch->http().post("/tasks", big);
  CHECK(r.status == 413);
  CHECK(error_of(r) == "the request body is larger than the limit of 2048 bytes (--max-body-bytes)");
  CHECK(f.orch->http().get("/health").status == 200);
  CHECK(f.orch->http().get("/tasks").json()["data"]["total"] == 0);
}

TEST_CASE("e2e: wrong methods - unknown endpoints and bad query parameters", "[e2e][input]") {
  e2e_fixture f;
  auto& h = f.orch->http();
  auto r = h.request("DELETE", "/tasks", "");
  CHECK(r.status == 405);
  CHECK(error_of(r) == "method DELETE is not allowed on /tasks (allowed: GET, POST)");
  r = h.get("/nope");
  CHECK(r.status == 404);
  CHECK(error_of(r).find("no such endpoint: GET /nope") == 0);
  r = h.get("/tasks?limit=abc");
  CHECK(r.status == 400);
  CHECK(error_of(r) == "query parameter 'limit' must be a whole number between 1 and 1000, got 'abc'");
  r = h.get("/tasks?limit=0");
  CHECK(r.status == 400);
  r = h.get("/tasks?status=Sleeping");
  CHECK(r.status == 400);
  CHECK(error_of(r).find("unknown status 'Sleeping'") == 0);
  r = h.get("/audit?since=yesterday");
  CHECK(r.status == 400);
  CHECK(error_of(r).find("query parameter 'since' must be an RFC 3339 time") == 0);
  auto raw = raw_exchange("127.0.0.1", f.orch->port(), "THIS IS NOT HTTP\r\n\r\n");
  CHECK(raw.find("HTTP/1.1 400") == 0);
}
