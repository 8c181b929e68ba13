// Backups taken while the orchestrator runs, and restoring them.
#include <catch2/catch.hpp>

#include <mutex>
#include <set>
#include <thread>

#include "tests/e2e/e2e_support.hpp"

using namespace orch;
using namespace orch::test;

TEST_CASE("e2e: a backup taken while the orchestrator runs restores every record", "[e2e][backup][local-storage]") {
  // Local backends only: a server backend is backed up by migrating it
  // (see the migration tests).
  e2e_fixture f{{"--max-concurrent-tasks", "2"}};
  std::set<std::string> before;
  for (int i = 0; i < 150; ++i)
    before.insert(f.orch->submit({{"command", "true"}, {"priority", i % 4}})["id"].get<std::string>());
  // Keep writing while the backup is taken.
  std::atomic<bool> stop{false};
  std::thread writer([&, port = f.orch->port()] {
    http_client client{"127.0.0.1", port};
    while (!stop)
      client.post("/tasks", R"({"command":"true"})");
  });
  auto backup_dir = f.dir / "backup";
  auto args = std::vector<std::string>{"backup", "--to", backup_dir};
  auto storage = storage_args(f.storage);
  args.insert(args.end(), storage.begin(), storage.end());
  auto r = run_orchestrator(args, f.dir / "backup-cmd");
  stop = true;
  writer.join();
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("backup written to " + backup_dir) == 0);
  CHECK(r.out.find("consistent while it runs") != std::string::npos);
  // A second backup into the same place is refused.
  auto again = run_orchestrator(args, f.dir / "backup-cmd2");
  CHECK(again.exit_code != 0);
  f.orch->proc().terminate();

  // Restore into a new data dir and serve it.
  temp_dir target{"orch-restore"};
  auto restore_storage = f.storage;
  restore_storage.data_dir = target / "data";
  auto rargs = std::vector<std::string>{"restore", "--from", backup_dir};
  auto rs = storage_args(restore_storage);
  rargs.insert(rargs.end(), rs.begin(), rs.end());
  auto rr = run_orchestrator(rargs, target / "restore-cmd");
  INFO(rr.out << rr.err);
  REQUIRE(rr.exit_code == 0);
  CHECK(rr.out.find("restored ") == 0);
  // Restoring over existing data needs --force, and keeps what was there.
  auto refused = run_orchestrator(rargs, target / "restore-cmd2");
  CHECK(refused.exit_code != 0);
  CHECK(refused.err.find("--force") != std::string::npos);
  std::vector<std::string> serve_args{"--retry-backoff-ms", "50"};
  serve_args.insert(serve_args.end(), rs.begin(), rs.end());
  orchestrator_process o{serve_args, target / "orch"};
  auto s = statuses(o);
  for (auto& id : before)
    CHECK(s.count(id) == 1);
  CHECK(s.size() >= before.size());
  // The restored data records the restore: from which backup, by whom.
  auto restores = o.http().get("/audit?action=admin.restore").json()["data"];
  REQUIRE(restores["total"] == 1);
  CHECK(restores["records"][0]["target"] == "backup:" + std::string{backup_dir});
  CHECK(restores["records"][0]["principal"].get<std::string>().rfind("cli:", 0) == 0);
}
