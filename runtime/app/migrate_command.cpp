#include "runtime/app/migrate_command.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <sstream>

#include <sys/statvfs.h>

#include "runtime/migrate/pipeline.hpp"
#include "backends/engine/storage_engine.hpp"
#include "runtime/messages/actor_env.hpp"
#include "runtime/core/log.hpp"
#include "runtime/migrate/rollback.hpp"
#include "runtime/migrate/verify.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"
#include "backends/storage_client.hpp"
#include "backends/open_storage.hpp"

namespace orch {

namespace stdfs = std::filesystem;
using namespace migration;

namespace {

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

/// Opens an end; the message says which end and what to do.
storage_actor open_end(caf::actor_system& sys, const storage_settings& s, const char* end,
                       std::string& problem) {
  try {
    return open_storage(sys, s);
  } catch (const storage_failure& e) {
    problem = std::string{end} + " (" + describe(s) + "): " + e.message;
    // The backend names the server options of `orchestrator` itself; migrate's differ.
    const std::string serve_options =
      "Check --surrealdb-username and --surrealdb-password (or SURREALDB_PASSWORD)";
    if (auto at = problem.find(serve_options); at != std::string::npos)
      problem.replace(at, serve_options.size(),
                      "Check --username and --password (or SURREALDB_PASSWORD), or --" + std::string{end}
                        + "-username and --" + end + "-password (or SURREALDB_"
                        + (std::string{end} == "source" ? "SOURCE" : "TARGET") + "_PASSWORD)");
    if (e.code == errc::locked && std::string{end} == "source")
      problem += ". A running orchestrator uses this data: stop it before migrating from it, "
                 "or migrate from a backup (orchestrator backup)";
  }
  return {};
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
                        const std::set<record_kind>& kinds, const counters& counts) {
  uint64_t total = 0;
  for (auto kind : kinds) {
    auto n = counts.total[static_cast<size_t>(kind)];  // counted once, before
    auto sample = src.scan(kind, "", 100);
    if (!sample.ok || sample.value.empty())
      continue;
    uint64_t bytes = 0;
    for (auto& r : sample.value)
      bytes += r.json.size();
    double avg = static_cast<double>(bytes) / sample.value.size();
    bool one_file_each = target.type == "filesystem"
                         && (kind == record_kind::task || kind == record_kind::queue
                             || kind == record_kind::user);
    // Pretty-printed files take a block each; RocksDB and segments compress or pack.
    double per_record = one_file_each ? std::max(4096.0, avg * 1.5) : avg * 1.5;
    total += static_cast<uint64_t>(per_record * n);
  }
  return total;
}

/// Checks that the target can be written: a probe file in the target
/// directory (or the nearest existing parent it would be created in) for a
/// local target, a probe record (written, read back, removed) for a server.
std::string check_writable(storage_client& dst, const storage_settings& target) {
  if (is_local(target)) {
    std::error_code ec;
    auto dir = stdfs::path{absolute(target.data_dir)};
    while (dir.has_parent_path() && dir != dir.parent_path() && !stdfs::exists(dir, ec))
      dir = dir.parent_path();
    auto probe = dir.string() + "/.migration-probe-" + new_uuid_v4();
    std::FILE* f = std::fopen(probe.c_str(), "w");
    if (!f)
      return "the target directory " + absolute(target.data_dir) + " is not writable ("
             + dir.string() + ": " + std::strerror(errno) + ")"
             + ". Fix its permissions or choose another --target-dir";
    std::fclose(f);
    std::remove(probe.c_str());
    return {};
  }
  user probe{"migration-probe-" + new_uuid_v4().substr(0, 8), "", {}, now_us(), true};
  write_batch put, del;
  put.ops.push_back({record_op::put, to_record(probe)});
  del.ops.push_back({record_op::remove, {record_kind::user, probe.username, {}}});
  auto w = dst.commit(put);
  auto r = dst.get(record_kind::user, probe.username);
  dst.commit(del);
  if (!w.ok || !r.ok)
    return "the target does not accept writes from this user (" + (w.ok ? r.error : w.error)
           + "): it needs the EDITOR or OWNER role on that namespace/database";
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

struct ends {
  storage_actor source;
  storage_actor target;
};

void close_end(caf::actor_system& sys, storage_actor& a) {
  if (a)
    storage_client{sys, a}.close();
  a = nullptr;
}

std::string summary_table(const counters& c, const std::vector<record_kind>& order,
                          const std::map<record_kind, double>& seconds, bool dry_run) {
  std::ostringstream os;
  char line[200];
  std::snprintf(line, sizeof line, "%-12s %10s %10s %10s %10s %9s\n", "kind", "read",
                dry_run ? "would write" : "written", "unchanged", "skipped", "seconds");
  os << line;
  for (auto kind : order) {
    auto k = static_cast<size_t>(kind);
    auto s = seconds.count(kind) ? seconds.at(kind) : 0.0;
    std::snprintf(line, sizeof line, "%-12s %10llu %10llu %10llu %10llu %9.2f\n", to_string(kind),
                  static_cast<unsigned long long>(c.read[k].load()),
                  static_cast<unsigned long long>(c.written[k].load()),
                  static_cast<unsigned long long>(c.unchanged[k].load()),
                  static_cast<unsigned long long>(c.skipped[k].load()), s);
    os << line;
  }
  return os.str();
}

} // namespace

int run_migrate(const migrate_settings& s) {
  std::shared_ptr<record_filter> filter;
  try {
    filter = std::make_shared<record_filter>(s.filter);
  } catch (const std::invalid_argument& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
  if (same_place(s.source, s.target)) {
    std::cerr << "error: source and target are the same place (" << describe(s.source)
              << "); give another --target-dir"
              << (s.target.type == "surrealdb-server" ? ", namespace, database or server" : "")
              << "\n";
    return 2;
  }
  auto order = migration_order(filter->kinds());
  auto journal_path = s.journal.empty() ? default_journal(s.target) : s.journal;
  journal_state journal;
  try {
    journal = read_journal(journal_path);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
  actor_env env{2};
  auto& sys = env.sys();
  // The source is only read; a dry run, a check of a local target and a
  // finished migration only read the target: none of them may change a byte.
  // A journal describes one migration (source, target, filter); a journal of
  // another one says nothing about this run.
  bool same_migration = journal.exists && journal.header.source == describe(s.source)
                        && journal.header.target == describe(s.target)
                        && journal.header.filter == filter->describe();
  bool interrupted = journal.exists && !journal.done && !journal.rolled_back;
  bool already_done = journal.exists && journal.done && !journal.rolled_back && same_migration;
  auto source_settings = s.source;
  source_settings.read_only = true;
  // A local target is checked read-only and opened for writing only once
  // every check has passed, so a refused run leaves no trace (not even an
  // empty data directory).
  auto target_settings = s.target;
  target_settings.read_only = s.dry_run || is_local(s.target) || (already_done && !s.rollback);

  // -- undo a previous run --------------------------------------------------------------
  if (s.rollback) {
    if (!journal.exists || journal.rolled_back) {
      std::cerr << "error: there is no migration to roll back (no journal at " << journal_path
                << ")\n";
      return 2;
    }
    std::string problem;
    auto target = open_end(sys, s.target, "target", problem);
    if (!target) {
      std::cerr << "error: " << problem << "\n";
      return 1;
    }
    auto err = rollback(sys, target, journal, s.batch_size, std::chrono::seconds(s.rollback_timeout_s));
    close_end(sys, target);
    if (!err.empty()) {
      std::cerr << "error: the rollback did not finish: " << err << "\n";
      return 1;
    }
    journal_writer{journal_path}.rolled_back("--rollback");
    std::cout << "rolled back: the target is as it was before the migration\n";
    return 0;
  }

  // -- the ends -------------------------------------------------------------------------
  std::vector<std::string> problems;
  ends e;
  std::string problem;
  e.source = open_end(sys, source_settings, "source", problem);
  if (!e.source)
    problems.push_back(problem);
  problem.clear();
  // Without a source there is nothing to copy: leave the target untouched
  // (a check still looks at both ends, to report everything at once).
  if (e.source || s.validate_only) {
    e.target = open_end(sys, target_settings, "target", problem);
    if (!e.target)
      problems.push_back(problem);
  }
  auto fail_checks = [&](int code) {
    for (auto& p : problems)
      std::cerr << "error: " << p << "\n";
    close_end(sys, e.source);
    close_end(sys, e.target);
    return code;
  };
  if (!problems.empty())
    return fail_checks(s.validate_only ? 1 : 2);
  storage_client src{sys, e.source}, dst{sys, e.target};
  auto counts = std::make_shared<counters>();
  for (auto kind : order) {
    auto n = src.count(kind);
    if (!n.ok)
      problems.push_back("source: counting " + std::string{to_string(kind)}
                         + " failed: " + n.error);
    else
      counts->total[static_cast<size_t>(kind)] = n.value;
  }
  bool resuming = s.resume && interrupted && same_migration;
  if (interrupted && !s.validate_only) {
    if (!same_migration)
      problems.push_back("an interrupted migration of other records into this target (from "
                         + journal.header.source + ", " + journal.header.filter
                         + ") is recorded in " + journal_path
                         + ": finish it with --resume and its own options, or undo it with "
                           "--rollback, before starting another");
    else if (!s.resume)
      problems.push_back("an interrupted migration into this target is recorded in " + journal_path
                         + ": continue it with --resume, or undo it with --rollback");
  } else if (s.resume && !s.validate_only) {
    problems.push_back("--resume: there is no interrupted migration in " + journal_path);
  }
  if (!s.dry_run && !already_done)
    if (auto err = check_writable(dst, s.target); !err.empty())
      problems.push_back("target: " + err);
  if (!s.merge && !resuming && !already_done)
    for (auto kind : order) {
      auto n = dst.count(kind);
      if (n.ok && n.value > 0)
        problems.push_back("target: it already holds " + std::to_string(n.value) + " "
                           + to_string(kind) + " records; migrate into an empty target, or "
                           "pass --merge to add to them");
      else if (!n.ok)
        problems.push_back("target: counting " + std::string{to_string(kind)}
                           + " failed: " + n.error);
    }
  if (is_local(s.target) && !s.dry_run) {
    auto need = estimate_bytes(src, s.target, filter->kinds(), *counts);
    auto free = free_bytes(s.target.data_dir);
    if (need > free)
      problems.push_back("target: the copy needs about " + human_bytes(need) + " but only "
                         + human_bytes(free) + " are free for "
                         + absolute(s.target.data_dir)
                         + "; free some space or choose another --target-dir");
  }
  if (!problems.empty())
    return fail_checks(s.validate_only ? 1 : 2);
  if (counts->grand_total() == 0)
    std::cerr << "warning: the source (" << describe(s.source)
              << ") holds no records: is that the right place?\n";
  if (s.validate_only) {
    std::cout << "validation passed\n  source: " << describe(s.source) << "\n  target: "
              << describe(s.target) << "\n  records to migrate: " << counts->grand_total()
              << " (" << filter->describe() << ")\n";
    if (already_done)
      std::cout << "  note: this migration already completed (journal " << journal_path
                << "): running it again writes nothing\n";
    else if (interrupted)
      std::cout << "  note: an interrupted migration is recorded in " << journal_path
                << ": continue it with --resume, or undo it with --rollback\n";
    close_end(sys, e.source);
    close_end(sys, e.target);
    return 0;
  }
  if (already_done) {
    std::cout << "this migration already completed (journal " << journal_path
              << "); nothing to write. Delete the journal to migrate again.\n";
    int code = 0;
    if (s.verify) {
      auto rep = verify(sys, e.source, e.target, s.filter, s.batch_size, s.merge);
      std::cout << (rep.ok ? "verified: " : "verification FAILED: ") << rep.compared
                << " records compared\n";
      for (auto& d : rep.differences)
        std::cout << "  " << d << "\n";
      code = rep.ok ? 0 : 1;
    }
    close_end(sys, e.source);
    close_end(sys, e.target);
    return code;
  }

  if (is_local(s.target) && !s.dry_run) {
    close_end(sys, e.target);
    auto writable = s.target;
    writable.read_only = false;
    problem.clear();
    e.target = open_end(sys, writable, "target", problem);
    if (!e.target) {
      problems.push_back(problem);
      return fail_checks(2);
    }
  }

  // -- the copy ---------------------------------------------------------------------------
  std::cerr << (s.dry_run ? "dry run: " : "") << "migrating " << filter->describe() << "\n  from "
            << describe(s.source) << "\n  to   " << describe(s.target) << "\n";
  pipeline_config cfg;
  cfg.source = e.source;
  cfg.target = e.target;
  cfg.order = order;
  cfg.batch_size = s.batch_size;
  cfg.dry_run = s.dry_run;
  // Without --merge the target was checked empty above, so only a merge or a
  // resume has records to compare with.
  cfg.compare_existing = s.merge || resuming;
  cfg.verbose = s.verbose;
  cfg.filter = filter;
  cfg.counts = counts;
  if (resuming)
    cfg.resume_after = journal.last_committed;
  if (!s.dry_run) {
    try {
      // A new run starts a new journal; the last finished one stays beside it.
      if (!resuming && journal.exists
          && std::rename(journal_path.c_str(), (journal_path + ".previous").c_str()) != 0)
        throw std::runtime_error("cannot move the old journal " + journal_path
                                 + " aside: " + std::strerror(errno));
      cfg.journal = std::make_shared<journal_writer>(journal_path);
      if (!resuming)
        cfg.journal->header({s.source.type, s.target.type, describe(s.source), describe(s.target),
                             filter->describe()});
    } catch (const std::exception& ex) {
      std::cerr << "error: " << ex.what() << "\n";
      close_end(sys, e.source);
      close_end(sys, e.target);
      return 2;
    }
  }
  auto started = std::chrono::steady_clock::now();
  pipeline_outcome outcome;
  {
    progress_reporter progress{*counts, s.progress};
    // CAF 0.17 never closes a stream whose source had nothing to send.
    if (counts->grand_total() == 0)
      outcome.ok = true;
    else
      outcome = run_pipeline(sys, cfg);
  }
  std::string failure = outcome.ok ? std::string{} : outcome.error;
  if (outcome.ok && s.verify && !s.dry_run) {
    auto rep = verify(sys, e.source, e.target, s.filter, s.batch_size, s.merge);
    if (!rep.ok) {
      std::ostringstream os;
      os << "verification found " << rep.difference_count << " difference(s):";
      for (auto& d : rep.differences)
        os << "\n  " << d;
      failure = os.str();
    } else {
      std::cerr << "verified: " << rep.compared << " records identical in source and target";
      for (auto& [kind, c] : rep.counts)
        std::cerr << (kind == rep.counts.begin()->first ? " (" : ", ") << to_string(kind) << " "
                  << c.first;
      std::cerr << ")\n";
    }
  }
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  auto table = summary_table(*counts, order, outcome.seconds, s.dry_run);
  int code = 0;
  if (!failure.empty()) {
    std::cerr << "error: the migration failed: " << failure << "\n";
    code = 1;
    if (!s.dry_run) {
      std::cerr << "rolling back the target to its state before the migration...\n";
      auto state = read_journal(journal_path);
      auto err = rollback(sys, e.target, state, s.batch_size,
                          std::chrono::seconds(s.rollback_timeout_s));
      if (err.empty()) {
        cfg.journal->rolled_back(failure);
        std::cerr << "rolled back: the target is as it was before\n";
      } else {
        std::cerr << "error: the rollback did not finish (" << err
                  << "); run the same command with --rollback once the target is reachable\n";
      }
    }
  } else {
    if (cfg.journal)
      cfg.journal->done(std::to_string(counts->read_total()) + " records read");
    std::cout << (s.dry_run ? "dry run complete: nothing was written\n" : "migration complete\n");
  }
  std::cout << table;
  char total[200];
  std::snprintf(total, sizeof total,
                "%llu records in %.2f s (%.0f records/s), peak memory %.1f MiB\n",
                static_cast<unsigned long long>(counts->read_total()), secs,
                secs > 0 ? counts->read_total() / secs : 0.0, peak_memory_mib());
  std::cout << total;
  if (s.verbose)
    std::cout << "backpressure: at most " << counts->max_in_flight
              << " records were between the source and the sink (bound "
              << migration::max_records_in_flight(s.batch_size) << ")\n";
  close_end(sys, e.source);
  close_end(sys, e.target);
  return code;
}

} // namespace orch
