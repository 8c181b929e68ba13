// Faults of the machine under the data directory: a full disk (a small
// tmpfs in a mount namespace of the orchestrator's own) and a damaged
// RocksDB directory.
// Each is reported with the path and what to do; a full disk heals by
// itself once there is room, and nothing acknowledged is lost or torn.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>

#include <unistd.h>

#include "runtime/platform/http/http_client.hpp"
#include "tests/e2e/e2e_support.hpp"
#include "tests/support/child.hpp"
#include "tests/support/skip.hpp"
#include "tests/support/unprivileged.hpp"
#include "tests/support/wait.hpp"

using namespace orch;
using namespace orch::test;

namespace {

/// Whether this kernel lets an unprivileged user namespace mount a tmpfs
/// (containers may refuse); "" if so, else why not.
std::string namespace_refusal(const temp_dir& d) {
  auto r = std::system(("unshare -rm sh -c 'mount -t tmpfs -o size=1m tmpfs " + d.path()
                        + "' >/dev/null 2>&1")
                         .c_str());
  return r == 0 ? "" : "unshare -rm + mount -t tmpfs is refused here (exit " + std::to_string(r)
                         + "): the disk-full tests need a user and mount namespace";
}

/// The orchestrator on a tmpfs of `size` mounted as its --data-dir, in a
/// user and mount namespace of its own. The test reaches the tmpfs through
/// /proc/<pid>/root, the orchestrator's view of the file system.
class small_disk {
public:
  small_disk(const temp_dir& d, const std::string& backend, const std::string& size)
    : mount_point_(d / "disk") {
    std::filesystem::create_directories(mount_point_);
    std::string cmd = "mount -t tmpfs -o size=" + size + " tmpfs " + mount_point_ + " && exec "
                      + orchestrator_binary() + " --port 0 --storage-type " + backend
                      + " --data-dir " + mount_point_ + " --max-concurrent-tasks 2 --log-level warn --min-free-space-mb 1";
    proc_ = std::make_unique<child>(std::vector<std::string>{"unshare", "-rm", "sh", "-c", cmd},
                                    d / "orch");
    if (!proc_->wait_for_output("listening on http://", std::chrono::seconds(60)))
      throw std::runtime_error("orchestrator did not start; stderr:\n" + proc_->err());
    std::smatch m;
    auto out = proc_->out();
    std::regex_search(out, m, std::regex{"listening on http://[0-9.]+:([0-9]+)"});
    http_ = std::make_unique<http_client>("127.0.0.1", static_cast<uint16_t>(std::stoi(m[1])));
  }

  http_client& http() { return *http_; }
  child& proc() { return *proc_; }
  /// A path on the tmpfs as the test can reach it.
  std::string on_disk(const std::string& rel) const {
    return "/proc/" + std::to_string(proc_->pid()) + "/root" + mount_point_ + "/" + rel;
  }
  const std::string& mount_point() const { return mount_point_; }

  /// Fills the tmpfs with a file until the kernel says it is full.
  void fill() {
    std::ofstream f{on_disk("filler"), std::ios::binary};
    std::string chunk(64 * 1024, 'x');
    while (f.write(chunk.data(), static_cast<std::streamsize>(chunk.size())))
      f.flush();
  }
  void free_space() { std::filesystem::remove(on_disk("filler")); }

  /// Record files that are not whole: temp files left over, or files that
  /// do not parse (the filesystem backend's task and queue folders).
  std::vector<std::string> torn_files() const {
    std::vector<std::string> out;
    for (auto folder : {"queue.rkvs/tasks", "queue.rkvs/queue"}) {
      std::error_code ec;
      for (auto& e : std::filesystem::directory_iterator(on_disk(folder), ec)) {
        auto name = e.path().filename().string();
        if (name.size() > 4 && name.substr(name.size() - 4) == ".tmp")
          out.push_back(name);
        else if (nlohmann::json::parse(slurp(e.path().string()), nullptr, false).is_discarded())
          out.push_back(name);
      }
    }
    return out;
  }

private:
  std::string mount_point_;
  std::unique_ptr<child> proc_;
  std::unique_ptr<http_client> http_;
};

std::string submit_body(int i) {
  return R"({"command":"true","name":"t)" + std::to_string(i) + R"("})";
}

void disk_full_case(const std::string& backend) {
  temp_dir d;
  if (auto why = namespace_refusal(d); !why.empty()) {
    ORCH_SKIP(why);
    return;
  }
  small_disk disk{d, backend, "8m"};
  std::vector<std::string> acknowledged;
  for (int i = 0; i < 20; ++i) {
    auto r = disk.http().post("/tasks", submit_body(i));
    REQUIRE(r.status == 201);
    acknowledged.push_back(r.json()["data"]["id"]);
  }
  disk.fill();
  // Full: a submission is refused with the reason and the place.
  http_result refused;
  for (int i = 0; i < 50; ++i) {  // the first may still fit in what was allocated
    refused = disk.http().post("/tasks", submit_body(100 + i));
    if (refused.status != 201)
      break;
    acknowledged.push_back(refused.json()["data"]["id"]);
  }
  INFO(refused.status << " " << refused.body);
  CHECK((refused.status == 507 || refused.status == 503));
  CHECK(refused.json()["error"].get<std::string>().find("no space left on") != std::string::npos);
  CHECK(refused.json()["error"].get<std::string>().find(disk.mount_point()) != std::string::npos);
  CHECK(disk.http().get("/health").status != 0);  // still answering
  // Room again: it goes on by itself.
  disk.free_space();
  http_result again;
  CHECK(wait_until([&] {
    again = disk.http().post("/tasks", submit_body(1000));
    return again.status == 201;
  }));
  if (again.status == 201)
    acknowledged.push_back(again.json()["data"]["id"]);
  for (auto& id : acknowledged) {
    auto r = disk.http().get("/tasks/" + id);
    CHECK(r.status == 200);
  }
  if (backend == "filesystem") {
    // At rest: the tasks run meanwhile, and a record being replaced has
    // its .tmp beside it until the rename; a torn file stays torn.
    CHECK(wait_until([&] {
      for (auto& id : acknowledged) {
        auto status = disk.http().get("/tasks/" + id).json()["data"]["status"];
        if (status != "Completed" && status != "Failed" && status != "Cancelled")
          return false;
      }
      return true;
    }));
    auto torn = disk.torn_files();
    INFO("torn: " << nlohmann::json(torn).dump());
    CHECK(torn.empty());
  }
  CHECK(disk.proc().running());
}

/// chmod of the data directory and every folder in it (the test runs as
/// root or as the orchestrator's user: either may).
void set_mode(const std::string& dir, std::filesystem::perms mode) {
  std::filesystem::permissions(dir, mode);
  for (auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_directory())
      std::filesystem::permissions(e.path(), mode);
}

/// The data directory made read-only, then moved away, under a running
/// orchestrator (as an unprivileged user: root ignores modes). Meanwhile a
/// submission is acknowledged or refused with the place and the reason,
/// never lost; the orchestrator stays up and serves reads; once the
/// directory is back, writes resume by themselves, the task that was
/// running through it ends, and a restart finds everything whole.
void data_dir_taken_away(const std::string& backend, bool every_write_refused) {
  temp_dir d;
  auto data = d / "data";
  std::filesystem::create_directories(data);
  unprivileged_owner(d.path());
  std::vector<std::string> args{"--storage-type", backend, "--data-dir", data,
                                "--max-concurrent-tasks", "2", "--log-level", "warn"};
  std::vector<std::string> acknowledged;
  std::string first_log;
  {
    orchestrator_process o{args, d / "first", unprivileged_prefix()};
    auto first = o.submit({{"command", "true"}});
    acknowledged.push_back(first["id"]);
    // A task that runs until the test lets it end, while writes fail.
    auto release = d / "release";
    auto through = o.submit({{"command", "sh"},
                             {"args", {"-c", "while [ ! -e " + release + " ]; do sleep 0.05; done"}}});
    std::string through_id = through["id"];
    acknowledged.push_back(through_id);
    REQUIRE(wait_until([&] { return o.task(through_id)["status"] == "Running"; }));
    auto try_submit = [&](int i) {
      auto r = o.http().post("/tasks", submit_body(i));
      if (r.status == 201)
        acknowledged.push_back(r.json()["data"]["id"]);
      return r;
    };
    auto check_refusal = [&](const http_result& r, const std::string& reason) {
      INFO(r.status << " " << r.body);
      CHECK(r.status >= 500);
      CHECK(r.status != 500);
      auto error = r.json()["error"].get<std::string>();
      CHECK(error.find(data) != std::string::npos);
      if (every_write_refused)  // the filesystem backend's own words
        CHECK(error.find(reason) != std::string::npos);
    };
    // Five submissions while the directory is unusable: each acknowledged
    // (kept) or refused with the place and `reason`.
    auto submit_five = [&](int first, const std::string& reason) {
      for (int i = first; i < first + 5; ++i) {
        auto r = try_submit(i);
        if (r.status != 201)
          check_refusal(r, reason);
        else
          CHECK_FALSE(every_write_refused);
      }
    };

    set_mode(data, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec
                     | std::filesystem::perms::group_read | std::filesystem::perms::group_exec
                     | std::filesystem::perms::others_read | std::filesystem::perms::others_exec);
    submit_five(0, "Permission denied");
    CHECK(o.http().get("/tasks/" + acknowledged[0]).status == 200);
    CHECK(o.http().get("/health").status != 0);
    // The task ends while nothing can be written: its outcome is kept and
    // stored once writes work again.
    { std::ofstream{release}; }
    auto outcome_refused = [&] {
      return o.proc().err().find("storing the outcome of task " + through_id + " failed")
             != std::string::npos;
    };
    REQUIRE(wait_until([&] {
      return outcome_refused() || o.task(through_id)["status"] == "Completed";
    }));
    if (every_write_refused)
      CHECK(outcome_refused());
    set_mode(data, std::filesystem::perms::owner_all | std::filesystem::perms::group_read
                     | std::filesystem::perms::group_exec | std::filesystem::perms::others_read
                     | std::filesystem::perms::others_exec);
    CHECK(wait_until([&] { return try_submit(100).status == 201; }));

    auto moved = d / "data-moved";
    std::filesystem::rename(data, moved);
    submit_five(200, "removed or moved");
    std::filesystem::rename(moved, data);
    CHECK(wait_until([&] { return try_submit(300).status == 201; }));
    // The task that ran through it all ends by itself.
    auto ended = o.wait_terminal(through_id);
    INFO(ended.dump());
    CHECK(ended["status"] == "Completed");
    CHECK(o.proc().running());
    REQUIRE(o.proc().terminate() == 0);
    first_log = o.proc().err();
  }
  orchestrator_process again{args, d / "second", unprivileged_prefix()};
  INFO("the first run's log:\n" << first_log);
  for (auto& id : acknowledged) {
    CAPTURE(id);
    auto t = again.wait_terminal(id);
    INFO(t.dump());
    CHECK(t["status"] == "Completed");
  }
}

} // namespace

TEST_CASE("disk faults: filesystem - a data directory made read-only or moved away while "
          "running is reported with its path, loses nothing and heals by itself",
          "[disk-faults]") {
  data_dir_taken_away("filesystem", true);
}

TEST_CASE("disk faults: embedded - a data directory made read-only or moved away while "
          "running loses nothing and heals by itself", "[disk-faults]") {
  data_dir_taken_away("surrealdb-embedded", false);
}

TEST_CASE("disk faults: filesystem - a full disk refuses submissions with 507 and the path, "
          "loses nothing and heals by itself", "[disk-faults]") {
  disk_full_case("filesystem");
}

TEST_CASE("disk faults: a damaged RocksDB directory stops start-up with the path and what to do",
          "[disk-faults]") {
  // The manifest and the table files damaged (the open sees it), or the
  // table files alone (the open succeeds; reading them at start-up fails).
  for (bool manifest_too : {true, false}) {
    INFO((manifest_too ? "manifest and table files" : "table files only"));
    temp_dir d;
    {
      orchestrator_process o{{"--storage-type", "surrealdb-embedded", "--data-dir", d / "data"},
                             d / "first"};
      for (int i = 0; i < 50; ++i)
        o.submit({{"command", "true"}});
      REQUIRE(o.proc().terminate() == 0);
    }
    // Damage them in the middle, as a bad disk would.
    int damaged = 0;
    for (auto& e : std::filesystem::directory_iterator(d / "data/orchestrator.db")) {
      auto name = e.path().filename().string();
      bool manifest = name.rfind("MANIFEST", 0) == 0;
      if (!(manifest && manifest_too) && e.path().extension() != ".sst")
        continue;
      std::fstream f{e.path(), std::ios::in | std::ios::out | std::ios::binary};
      f.seekp(static_cast<std::streamoff>(std::filesystem::file_size(e.path()) / 2));
      f.write("garbage!garbage!", 16);
      ++damaged;
    }
    REQUIRE(damaged > 0);
    auto r = run_orchestrator({"--storage-type", "surrealdb-embedded", "--data-dir", d / "data"},
                              d / "second");
    INFO(r.err);
    CHECK(r.exit_code != 0);
    CHECK(r.err.find(d.path() + "/data/orchestrator.db") != std::string::npos);
    CHECK(r.err.find("damaged") != std::string::npos);
    CHECK(r.err.find("Restore it from a backup") != std::string::npos);
  }
}

TEST_CASE("disk faults: embedded - a full disk refuses submissions with 507 and the path, "
          "loses nothing and heals by itself", "[disk-faults]") {
  disk_full_case("surrealdb-embedded");
}
