#include "runtime/app/tools.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "backends/engine/storage_engine.hpp"
#include "runtime/messages/actor_env.hpp"
#include "runtime/app/access.hpp"
#include "runtime/app/remote_api.hpp"
#include "runtime/auth/user_changes.hpp"
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

void print_counts(storage_client& db) {
  for (auto kind : all_record_kinds) {
    auto n = db.count(kind);
    std::cout << "  " << to_string(kind) << ": " << (n ? std::to_string(*n) : n.message())
              << "\n";
  }
}

/// Asks the running orchestrator for the copy: it writes it under its own
/// --backup-dir (the API takes a name, never a path), and this command,
/// on the same machine, moves it to where it was asked for.
int remote_backup(const backup_settings& s, const std::string& to, const std::string& why_locked) {
  auto client = running_orchestrator(s.storage, s.url, s.token);
  if (!client) {
    std::cerr << "error: " << why_locked << "; and " << client.message() << "\n";
    return 1;
  }
  auto name = "cli-" + std::to_string(now_us());
  auto r = (*client)->post("/admin/backup", nlohmann::json{{"name", name}}.dump());
  if (r.status == 0) {
    std::cerr << "error: the data is in use by an orchestrator, and it does not answer ("
              << r.error << "). Pass --url with its address, or stop it first\n";
    return 1;
  }
  if (r.status != 200) {
    std::cerr << "error: the running orchestrator refused the backup: " << api_error(r.body)
              << (r.status == 401 ? " (pass --token, --token-file or ORCHESTRATOR_TOKEN)" : "")
              << "\n";
    return 1;
  }
  // Only the directory this request named is moved: an answer that names
  // another path (a stray or hostile server at --url) is not acted on.
  auto body = r.json();
  std::string written;
  if (body.is_object() && body["data"].is_object() && body["data"]["directory"].is_string())
    written = body["data"]["directory"].get<std::string>();
  if (stdfs::path{written}.filename() != name || written.find("..") != std::string::npos
      || !stdfs::is_directory(stdfs::path{written} / data_subdir(s.storage.type))) {
    std::cerr << "error: the orchestrator's answer does not name the backup it was asked for ("
              << r.body.substr(0, 200) << ")\n";
    return 1;
  }
  std::error_code ec;
  stdfs::rename(written, to, ec);
  if (ec == std::errc::cross_device_link) {
    ec.clear();
    stdfs::copy(written, to, stdfs::copy_options::recursive, ec);
    if (!ec)
      stdfs::remove_all(written, ec);
  }
  if (ec) {
    std::cerr << "error: the orchestrator wrote the backup to " << written
              << ", and moving it to " << to << " failed: " << ec.message() << "\n";
    return 1;
  }
  std::cout << "backup written to " << to
            << " by the running orchestrator (consistent while it runs)\n";
  return 0;
}

} // namespace

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
    return remote_backup(s, to, storage.message());
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
  // The restored data says where it came from, and who put it there.
  auto audited = db.commit(auth::audit_only(auth::audit_entry(
    {cli_principal(), now_us()}, "admin.restore", "backup:" + s.from, "ok",
    kept.empty() ? std::string{} : "the data that was there is kept in " + kept)));
  if (!audited)
    std::cerr << "warning: the restore's audit record was not stored: " << audited.message()
              << "\n";
  std::cout << "restored " << source.string() << " to " << target.string() << "\n";
  if (!kept.empty())
    std::cout << "the data that was there is kept in " << kept << "\n";
  print_counts(db);
  (void) db.close();
  return 0;
}

} // namespace orch
