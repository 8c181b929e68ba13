// The guard of a server without authentication (runtime/platform/http/
// cross_site_guard.hpp): forgery through Origin, rebinding through Host.
#include <catch2/catch.hpp>

#include "runtime/platform/http/cross_site_guard.hpp"

using namespace orch;

namespace {

http_request with(std::string host, std::string origin = {}) {
  http_request r;
  r.method = "POST";
  r.path = "/tasks";
  r.host = std::move(host);
  r.origin = std::move(origin);
  return r;
}

} // namespace

TEST_CASE("cross-site guard: loopback hosts, with or without a port", "[http][guard]") {
  for (auto h : {"localhost", "localhost:8080", "127.0.0.1", "127.0.0.1:9", "127.1.2.3", "[::1]",
                 "[::1]:8080"})
    CHECK(loopback_host(h));
  for (auto h : {"", "localhost.evil.com", "127.0.0.1.evil.com", "10.0.0.1", "[::1]x", "[::2]",
                 "example.com", "128.0.0.1"})
    CHECK_FALSE(loopback_host(h));
}

TEST_CASE("cross-site guard: only domain names are rebindable hosts", "[http][guard]") {
  for (auto h : {"evil.example.com", "Evil.Example.COM:8080", "a.b"})
    CHECK(rebindable_host(h));
  for (auto h : {"", "localhost", "LOCALHOST:1", "app.localhost", "127.0.0.1", "10.1.2.3:80",
                 "[::1]:8080", "[fe80::1]", "orchestrator", "build-box:8080"})
    CHECK_FALSE(rebindable_host(h));
}

TEST_CASE("cross-site guard: what is refused and what passes", "[http][guard]") {
  CHECK(cross_site_problem(with("127.0.0.1:8080")).empty());
  CHECK(cross_site_problem(with("localhost:8080", "http://localhost:8080")).empty());
  CHECK(cross_site_problem(with("127.0.0.1:8080", "http://127.0.0.1:3000")).empty());
  CHECK(cross_site_problem(with("orchestrator:8080")).empty());
  auto forged = cross_site_problem(with("127.0.0.1:8080", "https://evil.example.com"));
  CHECK(forged.find("https://evil.example.com") != std::string::npos);
  CHECK(forged.find("authentication disabled") != std::string::npos);
  CHECK_FALSE(cross_site_problem(with("127.0.0.1", "null")).empty());
  auto rebound = cross_site_problem(with("evil.example.com:8080"));
  CHECK(rebound.find("evil.example.com") != std::string::npos);
  CHECK(rebound.find("--auth") != std::string::npos);
  // What is quoted back is cut short.
  CHECK(cross_site_problem(with(std::string(5000, 'a') + ".com")).size() < 400);
}
