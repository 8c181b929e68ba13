// scripts/migrate-storage.nu, run through its shebang by Nushell exactly as the
// seed guide writes its command lines (only the server's address is the test
// server's), and its wizard fed on standard input.
#include <catch2/catch.hpp>

#include <filesystem>

#include "runtime/messages/actor_env.hpp"
#include "tests/e2e/migration_support.hpp"
#include "tests/support/child.hpp"
#include "tests/support/dataset.hpp"
#include "tests/support/surreal_server.hpp"
#include "tests/support/temp_dir.hpp"

using namespace orch;
using namespace orch::test;

namespace {

const std::string script = ORCH_SOURCE_DIR "/scripts/migrate-storage.nu";

/// Runs the script in `cwd` with `args`, `input` on its standard input.
run_result run_script(const std::string& cwd, std::vector<std::string> args,
                      const std::string& log_base, const std::string& input = "") {
  std::vector<std::string> argv{"env", "-C", cwd, script};
  argv.insert(argv.end(), args.begin(), args.end());
  if (!input.empty()) {
    // The wizard reads its answers from a pipe, one line per prompt.
    write_text(log_base + ".in", input);
    argv = {"sh", "-c", "exec \"$@\" < \"$0\"", log_base + ".in"};
    argv.insert(argv.end(), {"env", "-C", cwd, script});
    argv.insert(argv.end(), args.begin(), args.end());
  }
  child c{argv, log_base, {{"ORCHESTRATOR_BIN", orchestrator_binary()}}};
  auto code = c.wait_exit(std::chrono::seconds(300));
  return {code, c.out(), c.err()};
}

/// Runs SurrealQL as root on the server (to create the seed's users).
void surreal_query(const surreal_server& server, const std::string& text) {
  REQUIRE_NOTHROW(root_query(server.url(), text));
}

storage_settings local(const std::string& type, const std::string& dir) {
  storage_settings s;
  s.type = type;
  s.data_dir = dir;
  return s;
}

storage_settings on_server(const surreal_server& server, const std::string& ns,
                           const std::string& db) {
  storage_settings s;
  s.type = "surrealdb-server";
  s.surrealdb_url = server.url();
  s.surrealdb_username = "root";
  s.surrealdb_password = "root";
  s.surrealdb_namespace = ns;
  s.surrealdb_database = db;
  return s;
}

} // namespace

TEST_CASE("migrate-storage.nu: every command line of the seed guide works as written",
          "[migrate][script]") {
  temp_dir work{"orch-script"};
  actor_env env;
  surreal_server server;
  surreal_query(server, "DEFINE USER admin ON ROOT PASSWORD 'secret' ROLES OWNER;"
                        "DEFINE USER orchestrator ON ROOT PASSWORD 'prod-pw' ROLES OWNER;");
  auto url = server.url();
  auto localhost_url = "ws://localhost:" + std::to_string(server.port());
  auto& w = work.path();
  dataset_spec spec;
  spec.tasks = 120;
  fill(env.sys(), local("filesystem", w + "/data"), spec);
  auto original = dump(env.sys(), local("filesystem", w + "/data"));

  // Validation and dry-run
  auto r = run_script(w, {"validate", "--from", "filesystem", "--to", "surrealdb-embedded"},
                      work / "validate");
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("validation passed") != std::string::npos);

  r = run_script(w, {"--from", "filesystem", "--to", "surrealdb-embedded", "--dry-run"},
                 work / "dry");
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("dry run complete: nothing was written") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(w + "/data/orchestrator.db"));

  // Direct migration examples
  r = run_script(w, {"--from", "filesystem", "--to", "surrealdb-embedded", "--source-dir",
                     "./data", "--target-dir", "./surrealdb-data"},
                 work / "direct1");
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(copied_records(dump(env.sys(), local("surrealdb-embedded", w + "/surrealdb-data"))) == original);

  // Monitor migration progress (into ./data's embedded database)
  r = run_script(w, {"--from", "filesystem", "--to", "surrealdb-embedded", "--verbose"},
                 work / "verbose");
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("INFO migrate: wrote ") != std::string::npos);
  CHECK(copied_records(dump(env.sys(), local("surrealdb-embedded", w + "/data"))) == original);

  r = run_script(w, {"--from", "surrealdb-embedded", "--to", "surrealdb-server", "--source-dir",
                     "./data", "--surrealdb-url", localhost_url, "--username", "admin",
                     "--password", "secret"},
                 work / "direct2");
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(copied_records(dump(env.sys(), on_server(server, "orchestrator", "main"))) == original);

  // Development to production
  fill(env.sys(), local("filesystem", w + "/dev-data"), spec);
  auto dev = dump(env.sys(), local("filesystem", w + "/dev-data"));
  r = run_script(w, {"--from", "filesystem", "--to", "surrealdb-embedded", "--source-dir",
                     "./dev-data", "--target-dir", "./prod-data", "--batch-size", "100",
                     "--verify"},
                 work / "dev-prod");
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("verified: " + std::to_string(spec_total(spec)) + " records identical")
        != std::string::npos);
  CHECK(copied_records(dump(env.sys(), local("surrealdb-embedded", w + "/prod-data"))) == dev);

  // Scaling up: the password from the environment, as the seed's "$PROD_PASSWORD"
  {
    std::vector<std::string> argv{
      "sh", "-c",
      "cd \"$0\" && exec " + script
        + " --from surrealdb-embedded --to surrealdb-server --source-dir ./data"
          " --surrealdb-url \"$1\" --username orchestrator --password \"$PROD_PASSWORD\""
          " --namespace production --database main",
      w, url};
    child c{argv, work / "scale", {{"ORCHESTRATOR_BIN", orchestrator_binary()},
                                   {"PROD_PASSWORD", "prod-pw"}}};
    CHECK(c.wait_exit(std::chrono::seconds(300)) == 0);
    INFO(c.err());
    CHECK(copied_records(dump(env.sys(), on_server(server, "production", "main"))) == original);
  }

  // Disaster recovery
  r = run_script(w, {"--from", "surrealdb-server", "--to", "filesystem", "--surrealdb-url", url,
                     "--username", "admin", "--password", "secret", "--target-dir",
                     "./emergency-backup"},
                 work / "recovery");
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(copied_records(dump(env.sys(), local("filesystem", w + "/emergency-backup"))) == original);

  // The orchestrator's exit status comes through: a target holding other
  // records (2), a wrong password (1).
  r = run_script(w, {"--from", "filesystem", "--to", "surrealdb-embedded", "--source-dir",
                     "./data", "--target-dir", "./prod-data"},
                 work / "full");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("pass --merge to add to them") != std::string::npos);
  r = run_script(w, {"validate", "--from", "filesystem", "--to", "surrealdb-server",
                     "--surrealdb-url", url, "--username", "admin", "--password", "wrong-pw-9"},
                 work / "wrong");
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("rejected the credentials of user 'admin'") != std::string::npos);
  CHECK(r.err.find("wrong-pw-9") == std::string::npos);
}

TEST_CASE("migrate-storage.nu: the wizard asks, shows a summary, confirms and migrates",
          "[migrate][script]") {
  temp_dir work{"orch-script"};
  actor_env env;
  surreal_server server;
  auto& w = work.path();
  dataset_spec spec;
  spec.tasks = 60;
  fill(env.sys(), local("filesystem", w + "/data"), spec);
  auto original = dump(env.sys(), local("filesystem", w + "/data"));

  SECTION("filesystem to a server, with a bad answer asked again") {
    // source backend, target backend (a bad answer first), source dir, URL,
    // user, password, namespace, database, batch size, verify, confirm.
    auto answers = "1\n7\n3\n./data\n" + server.url() + "\nroot\nroot\nwizard\nmain\n50\ny\ny\n";
    auto r = run_script(w, {"--interactive"}, work / "wizard", answers);
    INFO(r.err);
    CHECK(r.exit_code == 0);
    size_t at = 0;
    for (auto prompt : {"Source backend [filesystem]: ", "Target backend [surrealdb-embedded]: ",
                        "unknown backend '7': please answer with a number from 1 to 3",
                        "Target backend [surrealdb-embedded]: ",
                        "Source data directory [./data]: ",
                        "Target SurrealDB URL (ws:// or wss://) [ws://localhost:8000]: ",
                        "Target SurrealDB user [root]: ", "Target SurrealDB password: ",
                        "Target SurrealDB namespace [orchestrator]: ",
                        "Target SurrealDB database [main]: ",
                        "Batch size (records per transaction) [500]: ",
                        "Verify every record after the copy? [Y/n]: ", "Summary:",
                        "Run this migration? [y/N]: "}) {
      // In this order.
      auto found = r.err.find(prompt, at);
      CHECK(found != std::string::npos);
      INFO(prompt);
      if (found != std::string::npos)
        at = found;
    }
    CHECK(r.err.find("  to:         surrealdb-server at " + server.url()
                     + " as root, namespace wizard, database main (password ****)")
          != std::string::npos);
    CHECK(r.err.find("root\nroot") == std::string::npos);  // the password is not echoed
    CHECK(r.err.find("verified: ") != std::string::npos);
    CHECK(copied_records(dump(env.sys(), on_server(server, "wizard", "main"))) == original);
  }
  SECTION("a dry run through the wizard writes nothing") {
    auto r = run_script(w, {"--interactive", "--dry-run"}, work / "wizard",
                        "filesystem\nsurrealdb-embedded\n\n./target\n\nn\ny\n");
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("dry run complete: nothing was written") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(w + "/target"));
  }
  SECTION("declining, or running out of answers, migrates nothing") {
    auto no = run_script(w, {"--interactive"}, work / "no", "\n\n\n./target\n\n\nn\n");
    CHECK(no.exit_code == 1);
    CHECK(no.err.find("Nothing was migrated.") != std::string::npos);
    auto cut = run_script(w, {"--interactive"}, work / "cut", "1\n2\n");
    CHECK(cut.exit_code == 2);
    CHECK(cut.err.find("the input ended before the wizard finished; nothing was migrated")
          != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(w + "/target"));
  }
}

TEST_CASE("migrate-storage.nu: finds the orchestrator and says what is wrong",
          "[migrate][script]") {
  temp_dir work{"orch-script"};
  auto r = run_script(work.path(), {"--from", "filesystem", "--to", "mongodb"}, work / "bad");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("unknown backend 'mongodb'") != std::string::npos);
  r = run_script(work.path(), {"--dry-run"}, work / "noends");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--from is missing: give --from and --to") != std::string::npos);
  // ORCHESTRATOR_BIN wins, and a wrong one is reported.
  child c{{"env", "-C", work.path(), script, "validate", "--from", "filesystem", "--to",
           "surrealdb-embedded"},
          work / "missing",
          {{"ORCHESTRATOR_BIN", work / "no-such-binary"}}};
  CHECK(c.wait_exit(std::chrono::seconds(60)) == 2);
  CHECK(c.err().find("ORCHESTRATOR_BIN is " + work / "no-such-binary" + ", which does not exist")
        != std::string::npos);
}
