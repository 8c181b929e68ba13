// Benchmark of authentication: the cost of one Argon2id hash with the
// parameters new passwords get, sign-ins per second through the API, and
// what checking a bearer token adds to a read (the token's check is cached;
// see gateway_config::token_recheck).
//
//   bench_auth [--backend B] [--hashes N] [--logins N] [--clients C] [--reads N]
//
// Figures are also printed as "RESULT auth.<name> <value>". Built by the
// test command, run by hand.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "runtime/auth/passwords.hpp"
#include "tests/support/stopwatch.hpp"
#include "tests/support/backend_under_test.hpp"
#include "tests/support/orchestrator_process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace orch;
using namespace orch::test;
using clock_type = std::chrono::steady_clock;

namespace {

void report(const char* name, double value) {
  std::printf("RESULT auth.%s %.3f\n", name, value);
}

/// `clients` threads share `total` requests; requests per second.
template <class F>
double in_parallel(int clients, int total, F make_request) {
  std::atomic<int> next{0};
  std::vector<std::thread> threads;
  auto start = clock_type::now();
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      auto request = make_request(c);
      while (next.fetch_add(1) < total)
        request();
    });
  for (auto& t : threads)
    t.join();
  return total / seconds_since(start);
}

} // namespace

int main(int argc, char** argv) {
  std::string backend = "surrealdb-embedded";
  int hashes = 20, logins = 200, clients = 4, reads = 20000;
  CLI::App app{"bench_auth: Argon2id cost, sign-ins/s, and a token check's cost on reads"};
  app.add_option("--backend", backend, "filesystem, surrealdb-embedded or surrealdb-server");
  app.add_option("--hashes", hashes, "Argon2id hashes timed in this process");
  app.add_option("--logins", logins, "POST /auth/login requests");
  app.add_option("--clients", clients, "Concurrent clients");
  app.add_option("--reads", reads, "GET /tasks/{id} requests, with and without a token");
  CLI11_PARSE(app, argc, argv);
  select_backend(backend);

  auto start = clock_type::now();
  for (int i = 0; i < hashes; ++i)
    (void) auth::hash_password("a-password-of-usual-length");
  auto hash_ms = seconds_since(start) * 1000 / hashes;
  auth::argon2_params p;
  std::printf("Argon2id m=%u KiB t=%u p=%u: %.1f ms per hash (one core)\n", p.memory_kib,
              p.passes, p.lanes, hash_ms);
  report("hash_ms", hash_ms);

  temp_dir dir{"bench-auth"};
  auto storage = storage_args(fresh_storage(dir));
  auto run = [&](const std::string& mode, const std::string& name) {
    std::vector<std::string> args{"--auth", mode, "--log-level", "warn",
                                  "--max-concurrent-tasks", "0"};
    args.insert(args.end(), storage.begin(), storage.end());
    return std::make_unique<orchestrator_process>(
      args, dir / name, std::vector<std::string>{},
      std::map<std::string, std::string>{{"ORCHESTRATOR_ADMIN_PASSWORD", "bench-password"}});
  };
  auto o = run("required", "required");
  const std::string body = R"({"username":"admin","password":"bench-password"})";
  auto login_rate = in_parallel(clients, logins, [&](int) {
    auto c = std::make_shared<http_client>("127.0.0.1", o->port());
    return [c, &body] {
      if (c->post("/auth/login", body).status != 200)
        std::abort();
    };
  });
  std::printf("sign-ins: %.0f/s with %d clients (%u cores)\n", login_rate, clients,
              std::thread::hardware_concurrency());
  report("logins_per_s", login_rate);

  http_client admin{"127.0.0.1", o->port()};
  auto token = admin.post("/auth/login", body).json()["data"]["token"].get<std::string>();
  admin.set_bearer(token);
  auto id = admin.post("/tasks", R"({"command":"true"})").json()["data"]["id"].get<std::string>();
  auto read_rate = [&](uint16_t port, const std::string& bearer) {
    return in_parallel(clients, reads, [&](int) {
      auto c = std::make_shared<http_client>("127.0.0.1", port);
      c->set_bearer(bearer);
      return [c, &id] {
        if (c->get("/tasks/" + id).status != 200)
          std::abort();
      };
    });
  };
  auto with_token = read_rate(o->port(), token);
  o.reset();
  auto open = run("disabled", "disabled");
  auto without = read_rate(open->port(), "");
  std::printf("GET /tasks/{id}: %.0f/s with a token, %.0f/s with authentication disabled "
              "(%.1f%%)\n",
              with_token, without, 100.0 * with_token / without);
  report("reads_with_token_per_s", with_token);
  report("reads_without_auth_per_s", without);
  return 0;
}
