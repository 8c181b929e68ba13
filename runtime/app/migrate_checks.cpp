#include "runtime/app/migrate_checks.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <sys/statvfs.h>

#include "backends/open_storage.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"

namespace orch::migrate_checks {

namespace stdfs = std::filesystem;

bool is_local(const storage_settings& s) {
  return s.type != "surrealdb-server";
}

std::string absolute(const std::string& dir) {
  std::error_code ec;
  auto p = stdfs::weakly_canonical(stdfs::absolute(dir.empty() ? "." : dir, ec), ec);
  return p.string();
}

std::string describe(const storage_settings& s) {
  if (s.type == "filesystem")
    return "filesystem at " + absolute(s.data_dir) + "/queue.rkvs";
  auto where = s.type == "surrealdb-embedded" ? absolute(s.data_dir) + "/orchestrator.db"
                                               : s.surrealdb_url;
  return s.type + " at " + where + " (namespace " + s.surrealdb_namespace + ", database "
         + s.surrealdb_database + ")";
}

bool same_place(const storage_settings& a, const storage_settings& b) {
  if (a.type != b.type)
    return false;
  if (a.type == "filesystem")
    return absolute(a.data_dir) == absolute(b.data_dir);
  if (a.type == "surrealdb-embedded")
    return absolute(a.data_dir) == absolute(b.data_dir);  // one RocksDB: one process
  return a.surrealdb_url == b.surrealdb_url && a.surrealdb_namespace == b.surrealdb_namespace
         && a.surrealdb_database == b.surrealdb_database;
}

std::string default_journal(const storage_settings& target) {
  if (is_local(target))
    return absolute(target.data_dir) + "/migration-journal.jsonl";
  return absolute(".") + "/migration-journal-" + target.surrealdb_namespace + "-"
         + target.surrealdb_database + ".jsonl";
}

result<storage_actor> open_end(caf::actor_system& sys, const storage_settings& s, const char* end) {
  auto opened = open_storage(sys, s);
  if (opened)
    return opened;
  auto problem = std::string{end} + " (" + describe(s) + "): " + opened.message();
  // The backend names the server options of `orchestrator` itself; migrate's differ.
  const std::string serve_options =
    "Check --surrealdb-username and --surrealdb-password (or SURREALDB_PASSWORD)";
  if (auto at = problem.find(serve_options); at != std::string::npos)
    problem.replace(at, serve_options.size(),
                    "Check --username and --password (or SURREALDB_PASSWORD), or --"
                      + std::string{end} + "-username and --" + end + "-password (or SURREALDB_"
                      + (std::string{end} == "source" ? "SOURCE" : "TARGET") + "_PASSWORD)");
  if (opened.code() == errc::locked && std::string{end} == "source")
    problem += ". A running orchestrator uses this data: stop it before migrating from it, "
               "or migrate from a backup (orchestrator backup)";
  return status{opened.code(), problem};
}

/// Free bytes on the filesystem that holds `dir` (or its nearest parent).
uint64_t free_bytes(std::string dir) {
  std::error_code ec;
  auto p = stdfs::absolute(dir, ec);
  while (!p.empty() && !stdfs::exists(p, ec))
    p = p.parent_path();
  struct statvfs vfs;
  if (::statvfs(p.c_str(), &vfs) != 0)
    return UINT64_MAX;
  return static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
}

/// Bytes the target will need for the source's records: an average record
/// size from a sample, times the count, plus per-record overhead.
uint64_t estimate_bytes(storage_client& src, const storage_settings& target,
                        const std::set<record_kind>& kinds, const migration::counters& counts) {
  uint64_t total = 0;
  for (auto kind : kinds) {
    auto n = counts.total[static_cast<size_t>(kind)];  // counted once, before
    auto sample = src.scan(kind, "", 100);
    if (!sample || sample->empty())
      continue;
    uint64_t bytes = 0;
    for (auto& r : *sample)
      bytes += r.json.size();
    double avg = static_cast<double>(bytes) / static_cast<double>(sample->size());
    bool one_file_each = target.type == "filesystem"
                         && (kind == record_kind::task || kind == record_kind::queue
                             || kind == record_kind::user || kind == record_kind::schedule
                             || kind == record_kind::workflow);
    // Pretty-printed files take a block each; RocksDB and segments compress or pack.
    double per_record = one_file_each ? std::max(4096.0, avg * 1.5) : avg * 1.5;
    total += static_cast<uint64_t>(per_record * n);
  }
  return total;
}

/// Checks that the target can be written: a probe file in the target
/// directory (or the nearest existing parent it would be created in) for a
/// local target, a probe record (written, read back, removed) for a server.
status check_writable(storage_client& dst, const storage_settings& target) {
  if (is_local(target)) {
    std::error_code ec;
    auto dir = stdfs::path{absolute(target.data_dir)};
    while (dir.has_parent_path() && dir != dir.parent_path() && !stdfs::exists(dir, ec))
      dir = dir.parent_path();
    auto probe = dir.string() + "/.migration-probe-" + new_uuid_v4();
    std::FILE* f = std::fopen(probe.c_str(), "w");
    if (!f)
      return {errc::io_error, "the target directory " + absolute(target.data_dir)
                                + " is not writable (" + dir.string() + ": " + std::strerror(errno)
                                + "). Fix its permissions or choose another --target-dir"};
    std::fclose(f);
    std::remove(probe.c_str());
    return {};
  }
  user probe{"migration-probe-" + new_uuid_v4().substr(0, 8), "", {}, now_us(), true, {}, 0, 0};
  write_batch put, del;
  put.ops.push_back({record_op::put, to_record(probe)});
  del.ops.push_back({record_op::remove, {record_kind::user, probe.username, {}}});
  auto w = dst.commit(put);
  auto r = dst.get(record_kind::user, probe.username);
  (void) dst.commit(del);
  if (!w || !r)
    return {errc::invalid, "the target does not accept writes from this user ("
                             + (w ? r.message() : w.message())
                             + "): it needs the EDITOR or OWNER role on that namespace/database"};
  return {};
}

/// 1.5 GiB, 12 MiB, 40 KiB: sizes for people.
std::string human_bytes(uint64_t n) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(units)) {
    v /= 1024;
    ++u;
  }
  char text[32];
  std::snprintf(text, sizeof text, u == 0 || v >= 10 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return text;
}

/// This process's peak resident memory (VmHWM), 0 if unknown.
double peak_memory_mib() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f)
    return 0;
  char line[256];
  double kib = 0;
  while (std::fgets(line, sizeof line, f))
    if (std::sscanf(line, "VmHWM: %lf kB", &kib) == 1)
      break;
  std::fclose(f);
  return kib / 1024;
}

} // namespace orch::migrate_checks
