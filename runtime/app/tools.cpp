#include "runtime/app/tools.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "backends/engine/storage_engine.hpp"
#include "runtime/messages/actor_env.hpp"
#include "runtime/platform/http/http_client.hpp"
#include "runtime/core/codec.hpp"
#include "backends/storage_client.hpp"
#include "backends/open_storage.hpp"

namespace orch {

namespace stdfs = std::filesystem;

namespace {

/// The directory (inside a data dir or a backup) that holds a backend's data.
std::string data_subdir(const std::string& type) {
  return type == "surrealdb-embedded" ? "orchestrator.db" : "queue.rkvs";
}

std::string read_first_line(const std::string& path) {
  std::ifstream in{path};
  std::string line;
  std::getline(in, line);
  return line;
}

void print_counts(storage_client& db) {
  for (auto kind : all_record_kinds) {
    auto n = db.count(kind);
    std::cout << "  " << to_string(kind) << ": " << (n ? std::to_string(*n) : n.message())
              << "\n";
  }
}

/// Asks the orchestrator at `url` (http://host:port) to write the backup.
int remote_backup(const std::string& url, const std::string& to) {
  auto rest = url.substr(url.find("://") == std::string::npos ? 0 : url.find("://") + 3);
  auto colon = rest.rfind(':');
  if (colon == std::string::npos) {
    std::cerr << "error: cannot read host:port from '" << url << "'\n";
    return 1;
  }
  auto host = rest.substr(0, colon);
  auto port = static_cast<uint16_t>(std::stoi(rest.substr(colon + 1)));
  http_client client{host, port};
  auto r = client.post("/admin/backup", nlohmann::json{{"to", to}}.dump());
  if (r.status == 0) {
    std::cerr << "error: the data is in use by an orchestrator, and it does not answer at " << url
              << " (" << r.error << "). Pass --url with its address, or stop it first\n";
    return 1;
  }
  auto body = r.json();
  if (r.status != 200) {
    std::cerr << "error: the running orchestrator refused the backup: "
              << (body.is_object() ? body.value("error", r.body) : r.body) << "\n";
    return 1;
  }
  std::cout << "backup written to " << body["data"]["path"].get<std::string>()
            << " by the orchestrator running at " << url << " (consistent while it runs)\n";
  return 0;
}

} // namespace

std::string admin_url_file(const storage_settings& s) {
  auto base = s.data_dir.empty() ? std::string{"."} : s.data_dir;
  return base + "/orchestrator.url";
}

int run_backup(const backup_settings& s) {
  std::error_code ec;
  auto to = stdfs::absolute(s.to, ec).lexically_normal().string();
  if (stdfs::exists(stdfs::path{to} / data_subdir(s.storage.type), ec)) {
    std::cerr << "error: " << to << " already holds a backup; choose a new directory\n";
    return 1;
  }
  actor_env env{2};
  auto storage = open_storage(env.sys(), s.storage);
  if (!storage) {
    if (storage.code() != errc::locked) {
      std::cerr << "error: " << storage.message() << "\n";
      return 1;
    }
    // An orchestrator has it open: ask it for the copy.
    auto url = s.url.empty() ? read_first_line(admin_url_file(s.storage)) : s.url;
    if (url.empty()) {
      std::cerr << "error: " << storage.message()
                << "; and no --url was given to ask it for a backup\n";
      return 1;
    }
    return remote_backup(url, to);
  }
  storage_client db{env.sys(), *storage};
  auto r = db.backup(to);
  if (!r) {
    std::cerr << "error: backup failed: " << r.message() << "\n";
    (void) db.close();
    return 1;
  }
  std::cout << "backup written to " << *r << "\n";
  print_counts(db);
  (void) db.close();
  return 0;
}

int run_restore(const restore_settings& s) {
  std::error_code ec;
  auto sub = data_subdir(s.storage.type);
  if (s.storage.type == "surrealdb-server") {
    std::cerr << "error: restore puts a backup in place in a --data-dir; for surrealdb-server "
                 "use `orchestrator migrate` from the backup instead\n";
    return 2;
  }
  auto source = stdfs::path{s.from} / sub;
  if (!stdfs::is_directory(source, ec)) {
    std::cerr << "error: " << s.from << " is not a backup of the " << s.storage.type
              << " backend (there is no " << sub << " in it)\n";
    return 1;
  }
  auto data = stdfs::path{s.storage.data_dir.empty() ? "." : s.storage.data_dir};
  auto target = data / sub;
  stdfs::create_directories(data, ec);
  if (ec) {
    std::cerr << "error: cannot create " << data.string() << ": " << ec.message() << "\n";
    return 1;
  }
  std::string kept;
  if (stdfs::exists(target, ec)) {
    // Refuse while an orchestrator uses it: opening takes the same lock.
    {
      actor_env env{2};
      auto running = open_storage(env.sys(), s.storage);
      if (running) {
        (void) storage_client{env.sys(), *running}.close();
      } else if (running.code() == errc::locked) {
        std::cerr << "error: " << running.message() << "\n";
        return 1;
      }
    }
    if (!s.force) {
      std::cerr << "error: " << target.string()
                << " already holds data; pass --force to replace it (it is moved aside)\n";
      return 1;
    }
    kept = target.string() + ".before-restore-" + std::to_string(now_us() / us_per_second);
    stdfs::rename(target, kept, ec);
    if (ec) {
      std::cerr << "error: cannot move " << target.string() << " aside: " << ec.message() << "\n";
      return 1;
    }
  }
  // Copy next to the target, then rename: a restore cut short leaves nothing half-copied
  // in place.
  auto staging = target.string() + ".restoring";
  stdfs::remove_all(staging, ec);
  stdfs::copy(source, staging, stdfs::copy_options::recursive, ec);
  if (!ec)
    stdfs::rename(staging, target, ec);
  if (ec) {
    std::cerr << "error: copying " << source.string() << " failed: " << ec.message() << "\n";
    stdfs::remove_all(staging, ec);
    return 1;
  }
  actor_env env{2};
  auto restored = open_storage(env.sys(), s.storage);
  if (!restored) {
    std::cerr << "error: the restored copy does not open: " << restored.message() << "\n";
    return 1;
  }
  storage_client db{env.sys(), *restored};
  std::cout << "restored " << source.string() << " to " << target.string() << "\n";
  if (!kept.empty())
    std::cout << "the data that was there is kept in " << kept << "\n";
  print_counts(db);
  (void) db.close();
  return 0;
}

} // namespace orch
