// The API's router (actors/api/router.hpp) on a table of the test's own: no
// actor, no socket.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "actors/api/router.hpp"

using namespace orch;
using namespace orch::api;

namespace {

struct row {
  const char* method;
  path_pattern pattern;
  bool enabled = true;
};

const std::vector<row> table{
  {"GET", {"tasks"}},
  {"POST", {"tasks"}},
  {"GET", {"tasks", "{id}"}},
  {"POST", {"tasks", "{id}", "cancel"}},
  {"GET", {"users", "{user}"}},
  {"DELETE", {"users", "{user}"}},
  {"POST", {"users", "{user}", "disable"}},
  {"DELETE", {"users", "{user}", "tokens", "{token}"}},
  {"POST", {"debug", "fail", "{name}"}, false},
};

const char* const id = "3f2b8c1e-9d4a-4f6b-8e2a-1c3d5e7f9a0b";

routing route(std::string method, std::string path) {
  http_request req;
  req.method = std::move(method);
  req.path = std::move(path);
  return find_route(table, req, [](const row& r) { return r.enabled; }, "GET /tasks, ...");
}

const row* row_of(const routing& r) {
  return static_cast<const row*>(r.route);
}

std::string error_of(const routing& r) {
  return nlohmann::json::parse(r.refusal.body)["error"].get<std::string>();
}

} // namespace

TEST_CASE("router: a request finds its row with its parameters", "[router]") {
  auto r = route("POST", std::string{"/tasks/"} + id + "/cancel");
  REQUIRE(row_of(r) == &table[3]);
  CHECK(r.args.id == id);
  r = route("DELETE", "/users/alice/tokens/ci-token");
  REQUIRE(row_of(r) == &table[7]);
  CHECK(r.args.user == "alice");
  CHECK(r.args.token == "ci-token");
  // Empty segments do not count.
  CHECK(row_of(route("GET", "//tasks/")) == &table[0]);
}

TEST_CASE("router: another method on a known path is 405 with Allow", "[router]") {
  auto r = route("PUT", "/tasks");
  REQUIRE(r.route == nullptr);
  CHECK(r.refusal.status == 405);
  CHECK(r.refusal.headers.at("Allow") == "GET, POST");
  CHECK(error_of(r).find("(allowed: GET, POST)") != std::string::npos);
  r = route("POST", "/users/alice");
  CHECK(r.refusal.status == 405);
  CHECK(r.refusal.headers.at("Allow") == "GET, DELETE");
}

TEST_CASE("router: a malformed task id is 400 whatever follows", "[router]") {
  for (auto path : {"/tasks/not-a-uuid", "/tasks/..%2F..%2Fetc/cancel",
                    "/tasks/3F2B8C1E-9D4A-4F6B-8E2A-1C3D5E7F9A0B"}) {
    auto r = route("GET", path);
    INFO(path);
    CHECK(r.refusal.status == 400);
    CHECK(error_of(r).find("invalid task id") != std::string::npos);
  }
  // An over-long id is quoted cut short.
  CHECK(error_of(route("GET", "/tasks/" + std::string(5000, 'x'))).size() < 300);
}

TEST_CASE("router: unknown paths and disabled rows are 404 naming the routes", "[router]") {
  for (const std::string& path : std::vector<std::string>{
         "/nothing", "/tasks/" + std::string{id} + "/explode", "/debug/fail/gateway",
         "/users/bad name"}) {
    auto r = route("POST", path);
    INFO(path);
    CHECK(r.refusal.status == 404);
    CHECK(error_of(r).find("no such endpoint") != std::string::npos);
    CHECK(error_of(r).find("GET /tasks, ...") != std::string::npos);
    CHECK(r.refusal.headers.count("Allow") == 0);
  }
}

TEST_CASE("router: patterns read as the README writes them", "[router]") {
  CHECK(path_text(table[7].pattern) == "/users/{user}/tokens/{token}");
  CHECK(split_path("/a//b/") == std::vector<std::string>{"a", "b"});
  CHECK(split_path("").empty());
}
