// The surrealdb-server backend against the real SurrealDB engine (the test
// server): several orchestrator instances on one database, failures of the
// server and of the configuration, namespace isolation.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "tests/e2e/e2e_support.hpp"
#include "tests/support/surreal_server.hpp"

using namespace orch;
using namespace orch::test;

namespace {

std::vector<std::string> server_args(const surreal_server& s, const std::string& ns,
                                     const std::string& db, const std::string& password = "root") {
  return {"--storage-type",       "surrealdb-server", "--surrealdb-url",      s.url(),
          "--surrealdb-namespace", ns,               "--surrealdb-database", db,
          "--surrealdb-username", "root",            "--surrealdb-password", password,
          "--retry-backoff-ms",   "50",              "--log-level",          "info"};
}

std::vector<std::string> with(std::vector<std::string> a, std::vector<std::string> b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

/// Lines of a file, split into words.
std::vector<std::vector<std::string>> lines_of(const std::string& path) {
  std::vector<std::vector<std::string>> out;
  std::istringstream in{slurp(path)};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words{line};
    std::vector<std::string> w;
    for (std::string x; words >> x;)
      w.push_back(x);
    if (!w.empty())
      out.push_back(w);
  }
  return out;
}

bool all_completed(orchestrator_process& o, const std::vector<std::string>& ids) {
  auto s = statuses(o);
  return std::all_of(ids.begin(), ids.end(), [&](auto& id) { return s[id] == "Completed"; });
}

} // namespace

TEST_CASE("server: three instances on one database run every task exactly once", "[server]") {
  surreal_server server;
  temp_dir dir;
  auto db = unique_name("db");
  std::vector<std::unique_ptr<orchestrator_process>> instances;
  for (int i = 0; i < 3; ++i)
    instances.push_back(std::make_unique<orchestrator_process>(
      with(server_args(server, "multi", db), {"--max-concurrent-tasks", "4"}),
      dir / ("instance-" + std::to_string(i))));
  auto log = dir / "ran";
  std::vector<std::string> ids;
  for (int i = 0; i < 300; ++i)
    ids.push_back(instances[i % 3]->submit(
      {{"command", "sh"}, {"args", {"-c", "echo $ORCHESTRATOR_TASK_ID >> " + log}}})["id"]);
  REQUIRE(wait_until([&] { return all_completed(*instances[0], ids); }, std::chrono::seconds(240)));
  std::map<std::string, int> runs;
  for (auto& l : lines_of(log))
    ++runs[l[0]];
  CHECK(runs.size() == 300);
  for (auto& id : ids)
    CHECK(runs[id] == 1);
  // Work was shared: every instance ran some of it.
  for (auto& inst : instances) {
    auto health = inst->http().get("/health").json()["data"];
    CHECK(health["attempts_started"].get<int>() > 0);
  }
}

TEST_CASE("server: when one of three instances is killed its tasks still complete - each attempt once",
          "[server]") {
  surreal_server server;
  temp_dir dir;
  auto db = unique_name("db");
  std::vector<std::unique_ptr<orchestrator_process>> instances;
  for (int i = 0; i < 3; ++i)
    instances.push_back(std::make_unique<orchestrator_process>(
      with(server_args(server, "multi", db), {"--max-concurrent-tasks", "4", "--lease-s", "3"}),
      dir / ("instance-" + std::to_string(i))));
  auto log = dir / "ran";
  std::vector<std::string> ids;
  for (int i = 0; i < 300; ++i)
    ids.push_back(instances[i % 3]->submit(
      {{"command", "sh"},
       {"args", {"-c", "echo $ORCHESTRATOR_TASK_ID $ORCHESTRATOR_ATTEMPT >> " + log + "; sleep 0.05"}},
       {"max_retries", 3}})["id"]);
  REQUIRE(wait_until([&] { return lines_of(log).size() >= 100; }, std::chrono::seconds(120)));
  instances[1]->proc().kill9();
  REQUIRE(wait_until([&] { return all_completed(*instances[0], ids); }, std::chrono::seconds(240)));
  // Each (task, attempt) ran at most once, and every task ran.
  std::map<std::string, std::multiset<std::string>> attempts;
  for (auto& l : lines_of(log))
    attempts[l[0]].insert(l.size() > 1 ? l[1] : "?");
  CHECK(attempts.size() == 300);
  for (auto& [id, a] : attempts)
    CHECK(std::set<std::string>(a.begin(), a.end()).size() == a.size());
  // The stored history agrees: one `started` event per attempt number.
  for (int i = 0; i < 300; i += 7) {
    auto ev = instances[0]->http().get("/tasks/" + ids[i] + "/events").json();
    std::multiset<int> started;
    for (auto& e : ev["data"]["events"])
      if (e["kind"] == "started")
        started.insert(e["attempt"].get<int>());
    CHECK(std::set<int>(started.begin(), started.end()).size() == started.size());
  }
}

TEST_CASE("server: a wrong password is refused with a clear message that hides it", "[server]") {
  surreal_server server;
  temp_dir dir;
  auto r = run_orchestrator(with(server_args(server, "n", "d", "not-the-password"), {"--dry-run"}),
                            dir / "wrong");
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("rejected the credentials of user 'root'") != std::string::npos);
  CHECK(r.err.find(server.url()) != std::string::npos);
  CHECK(r.err.find("not-the-password") == std::string::npos);
}

TEST_CASE("server: the password may come from a file for the server and for migrate", "[server]") {
  surreal_server server;
  temp_dir dir;
  {
    std::ofstream{dir / "pw"} << "root\n";
    std::ofstream{dir / "wrong-pw"} << "not-the-password\n";
  }
  std::vector<std::string> base{"--storage-type", "surrealdb-server", "--surrealdb-url",
                                server.url(), "--surrealdb-namespace", "n",
                                "--surrealdb-database", "d", "--dry-run"};
  auto ok = run_orchestrator(with(base, {"--surrealdb-password-file", dir / "pw"}), dir / "ok");
  INFO(ok.out << ok.err);
  CHECK(ok.exit_code == 0);
  auto wrong = run_orchestrator(with(base, {"--surrealdb-password-file", dir / "wrong-pw"}),
                                dir / "wrong");
  CHECK(wrong.exit_code == 1);
  CHECK(wrong.err.find("rejected the credentials") != std::string::npos);
  auto missing = run_orchestrator(with(base, {"--surrealdb-password-file", dir / "nope"}),
                                  dir / "missing");
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("cannot read a first line from " + std::string{dir / "nope"})
        != std::string::npos);
  // migrate reads its ends' passwords from files the same way.
  auto v = run_orchestrator({"migrate", "validate", "--from", "filesystem", "--to",
                             "surrealdb-server", "--source-dir", dir / "empty",
                             "--surrealdb-url", server.url(), "--namespace", "m",
                             "--database", "d", "--target-password-file", dir / "pw"},
                            dir / "validate");
  INFO(v.out << v.err);
  CHECK(v.err.find("rejected the credentials") == std::string::npos);
  auto bad = run_orchestrator({"migrate", "validate", "--from", "filesystem", "--to",
                               "surrealdb-server", "--source-dir", dir / "empty",
                               "--surrealdb-url", server.url(), "--namespace", "m",
                               "--database", "d", "--password-file", dir / "wrong-pw"},
                              dir / "validate-bad");
  CHECK(bad.exit_code != 0);
  CHECK(bad.err.find("not-the-password") == std::string::npos);
}

TEST_CASE("server: a database-level EDITOR user is all the orchestrator needs", "[server]") {
  surreal_server server;
  temp_dir dir;
  // The README's statement, run as root once by whoever runs the database.
  surreal_query(server.url(), "prod", "main",
                "DEFINE USER orchestrator ON DATABASE PASSWORD 'editor-pw' ROLES EDITOR");
  auto args = [&](const std::string& db) {
    return std::vector<std::string>{"--storage-type", "surrealdb-server", "--surrealdb-url",
                                    server.url(), "--surrealdb-namespace", "prod",
                                    "--surrealdb-database", db, "--surrealdb-username",
                                    "orchestrator", "--surrealdb-password", "editor-pw",
                                    "--log-level", "warn"};
  };
  orchestrator_process o{args("main"), dir / "editor"};
  auto id = o.submit({{"command", "true"}})["id"].get<std::string>();
  CHECK(o.wait_terminal(id)["status"] == "Completed");
  // The user is the database's: another database does not let it in.
  auto other = run_orchestrator(with(args("other"), {"--dry-run"}), dir / "other");
  CHECK(other.exit_code == 1);
  CHECK(other.err.find("rejected the credentials of user 'orchestrator'") != std::string::npos);
}

TEST_CASE("server: an unreachable or unresolvable URL is reported as such", "[server]") {
  temp_dir dir;
  auto refused = run_orchestrator({"--storage-type", "surrealdb-server", "--surrealdb-url",
                                   "ws://127.0.0.1:1", "--surrealdb-password", "x", "--dry-run"},
                                  dir / "refused");
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("cannot connect to SurrealDB at ws://127.0.0.1:1") != std::string::npos);
  CHECK(refused.err.find("Is the server running") != std::string::npos);
  auto dns = run_orchestrator({"--storage-type", "surrealdb-server", "--surrealdb-url",
                               "ws://no-such-host.invalid:8000", "--dry-run"},
                              dir / "dns");
  CHECK(dns.exit_code == 1);
  CHECK(dns.err.find("cannot resolve the host 'no-such-host.invalid'") != std::string::npos);
  auto bad = run_orchestrator({"--storage-type", "surrealdb-server", "--surrealdb-url",
                               "http://127.0.0.1:8000", "--dry-run"},
                              dir / "bad");
  CHECK(bad.exit_code != 0);
  CHECK(bad.err.find("ws://host:port or wss://host:port") != std::string::npos);
}

TEST_CASE("server: a run survives the server stopping and coming back", "[server]") {
  surreal_server server;
  temp_dir dir;
  orchestrator_process o{with(server_args(server, "n", unique_name("db")),
                              {"--max-concurrent-tasks", "2", "--lease-s", "30"}),
                         dir / "orch"};
  std::vector<std::string> ids;
  for (int i = 0; i < 40; ++i)
    ids.push_back(o.submit({{"command", "sleep"}, {"args", {"0.1"}}})["id"]);
  server.stop();
  // While it is down: answers are 503 with the reason, quickly.
  auto submit = o.http().post("/tasks", R"({"command":"true"})");
  CHECK(submit.status == 503);
  CHECK(submit.json()["error"].get<std::string>().find(server.url()) != std::string::npos);
  CHECK(o.http().get("/tasks/" + ids[0]).status == 503);
  auto health = o.http().get("/health");
  CHECK(health.status == 503);
  CHECK(health.json()["error"].get<std::string>().find("storage is unavailable") == 0);
  server.restart();
  // It reconnects by itself and finishes everything that was acknowledged.
  REQUIRE(wait_until([&] { return o.http().get("/health").status == 200; },
                     std::chrono::seconds(60)));
  CHECK(o.http().get("/tasks/" + ids[0]).status == 200);
  auto finished = wait_until([&] { return all_completed(o, ids); }, std::chrono::seconds(120));
  if (!finished) {
    std::string unfinished;
    for (auto& [id, st] : statuses(o))
      if (st != "Completed")
        unfinished += id + " " + st + "\n";
    INFO("unfinished:\n" << unfinished << "orchestrator log:\n" << o.proc().err());
    REQUIRE(finished);
  }
  CHECK(statuses(o).size() == 40);
}

TEST_CASE("server: two namespaces on one server are isolated", "[server]") {
  surreal_server server;
  temp_dir dir;
  auto db = unique_name("db");
  orchestrator_process a{server_args(server, "team-a", db), dir / "a"};
  orchestrator_process b{server_args(server, "team-b", db), dir / "b"};
  auto id = a.submit({{"command", "true"}})["id"].get<std::string>();
  a.wait_terminal(id);
  CHECK(b.http().get("/tasks/" + id).status == 404);
  CHECK(b.http().get("/tasks").json()["data"]["total"] == 0);
  CHECK(a.http().get("/tasks").json()["data"]["total"] == 1);
}

namespace {

/// A self-signed certificate for localhost / 127.0.0.1, made with openssl.
void make_certificate(const temp_dir& dir, const std::string& name) {
  auto r = std::system(("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
                        "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "
                        + dir / (name + ".key") + " -out " + dir / (name + ".pem")
                        + " >/dev/null 2>&1")
                         .c_str());
  REQUIRE(r == 0);
}

} // namespace

TEST_CASE("server: wss connections verify the certificate and accept a private CA", "[server]") {
  surreal_server server;
  temp_dir dir;
  make_certificate(dir, "server");
  make_certificate(dir, "other");
  child proxy{{"node", ORCH_SOURCE_DIR "/tests/surreal-server/tls-proxy.mjs", "--cert",
               dir / "server.pem", "--key", dir / "server.key", "--target",
               "127.0.0.1:" + std::to_string(server.port()), "--exit-with-parent"},
              dir / "proxy"};
  REQUIRE(proxy.wait_for_output("LISTENING "));
  auto port = proxy.out().substr(proxy.out().rfind(':') + 1);
  port.erase(port.find_last_not_of("\n") + 1);
  auto url = "wss://127.0.0.1:" + port;
  auto args = [&](std::vector<std::string> extra) {
    return with({"--storage-type", "surrealdb-server", "--surrealdb-url", url,
                 "--surrealdb-password", "root", "--dry-run"},
                extra);
  };
  // Verification is on by default: a certificate nobody vouches for is refused.
  auto untrusted = run_orchestrator(args({}), dir / "untrusted");
  CHECK(untrusted.exit_code == 1);
  CHECK(untrusted.err.find("TLS handshake with SurrealDB at " + url + " failed") != std::string::npos);
  CHECK(untrusted.err.find("--surrealdb-ca-file") != std::string::npos);
  // With the CA that signed it, it connects.
  auto trusted = run_orchestrator(args({"--surrealdb-ca-file", dir / "server.pem"}), dir / "trusted");
  INFO(trusted.err);
  CHECK(trusted.exit_code == 0);
  CHECK(trusted.out.find("storage type:         surrealdb-server") != std::string::npos);
  // A different CA does not make it acceptable.
  auto wrong = run_orchestrator(args({"--surrealdb-ca-file", dir / "other.pem"}), dir / "wrong");
  CHECK(wrong.exit_code == 1);
  CHECK(wrong.err.find("is the CA that signed the server's certificate") != std::string::npos);
}
