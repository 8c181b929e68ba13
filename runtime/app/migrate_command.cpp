#include "runtime/app/migrate_command.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <sstream>

#include "backends/storage_client.hpp"
#include "runtime/app/access.hpp"
#include "runtime/app/migrate_checks.hpp"
#include "runtime/auth/user_changes.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/messages/actor_env.hpp"
#include "runtime/migrate/pipeline.hpp"
#include "runtime/migrate/rollback.hpp"
#include "runtime/migrate/verify.hpp"

namespace orch {

using namespace migration;
using namespace migrate_checks;

namespace {

/// Exit codes: done, failed (the target rolled back where possible), and
/// the request or the ends not usable as given.
constexpr int exit_done = 0, exit_failed = 1, exit_usage = 2;

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

/// One `orchestrator migrate`: its steps, in the order run() takes them.
class migration_command {
public:
  explicit migration_command(const migrate_settings& s) : s_(s), env_(2) {}

  int run();

private:
  caf::actor_system& sys() { return env_.sys(); }
  int fail_checks(int code);
  void close_ends();
  int roll_back_previous();
  bool open_ends();
  void check_ends(storage_client& src, storage_client& dst);
  int report_validation();
  int report_already_done();
  bool reopen_target_for_writing();
  bool start_journal(pipeline_config& cfg);
  status verify_copy();
  status record_migration();
  int copy();

  migrate_settings s_;
  actor_env env_;
  std::shared_ptr<record_filter> filter_;
  std::vector<record_kind> order_;
  std::string journal_path_;
  journal_state journal_;
  bool same_migration_ = false, interrupted_ = false, already_done_ = false, resuming_ = false;
  storage_actor source_, target_;
  std::vector<std::string> problems_;
  std::shared_ptr<counters> counts_ = std::make_shared<counters>();
  std::shared_ptr<journal_writer> writer_;
};

int migration_command::fail_checks(int code) {
  for (auto& p : problems_)
    std::cerr << "error: " << p << "\n";
  close_ends();
  return code;
}

void migration_command::close_ends() {
  for (auto* end : {&source_, &target_})
    if (*end) {
      (void) storage_client{sys(), *end}.close();
      *end = nullptr;
    }
}

/// --rollback: undo an interrupted run from its journal.
int migration_command::roll_back_previous() {
  if (!journal_.exists || journal_.rolled_back) {
    std::cerr << "error: there is no migration to roll back (no journal at " << journal_path_
              << ")\n";
    return exit_usage;
  }
  auto target = open_end(sys(), s_.target, "target");
  if (!target) {
    std::cerr << "error: " << target.message() << "\n";
    return exit_failed;
  }
  target_ = *target;
  auto undone = rollback(sys(), target_, journal_, s_.batch_size,
                         std::chrono::seconds(s_.rollback_timeout_s));
  close_ends();
  if (!undone) {
    std::cerr << "error: the rollback did not finish: " << undone.message() << "\n";
    return exit_failed;
  }
  if (auto w = journal_writer::open(journal_path_); !w || !(*w)->rolled_back("--rollback")) {
    std::cerr << "error: rolled back, but the journal " << journal_path_
              << " could not say so: " << (w ? "the write failed" : w.message()) << "\n";
    return exit_failed;
  }
  std::cout << "rolled back: the target is as it was before the migration\n";
  return exit_done;
}

/// The source is only read; a dry run, a check of a local target and a
/// finished migration only read the target: none of them may change a byte.
/// A local target is checked read-only and opened for writing only once
/// every check has passed, so a refused run leaves no trace.
bool migration_command::open_ends() {
  auto source_settings = s_.source;
  source_settings.read_only = true;
  auto target_settings = s_.target;
  target_settings.read_only =
    s_.dry_run || is_local(s_.target) || (already_done_ && !s_.rollback);
  if (auto src = open_end(sys(), source_settings, "source"))
    source_ = *src;
  else
    problems_.push_back(src.message());
  // Without a source there is nothing to copy: leave the target untouched
  // (a check still looks at both ends, to report everything at once).
  if (source_ || s_.validate_only) {
    if (auto dst = open_end(sys(), target_settings, "target"))
      target_ = *dst;
    else
      problems_.push_back(dst.message());
  }
  return problems_.empty();
}

void migration_command::check_ends(storage_client& src, storage_client& dst) {
  for (auto kind : order_) {
    if (auto n = src.count(kind))
      counts_->total[static_cast<size_t>(kind)] = *n;
    else
      problems_.push_back("source: counting " + std::string{to_string(kind)}
                          + " failed: " + n.message());
  }
  if (interrupted_ && !s_.validate_only) {
    if (!same_migration_)
      problems_.push_back("an interrupted migration of other records into this target (from "
                          + journal_.header.source + ", " + journal_.header.filter
                          + ") is recorded in " + journal_path_
                          + ": finish it with --resume and its own options, or undo it with "
                            "--rollback, before starting another");
    else if (!s_.resume)
      problems_.push_back("an interrupted migration into this target is recorded in "
                          + journal_path_ + ": continue it with --resume, or undo it with --rollback");
  } else if (s_.resume && !s_.validate_only) {
    problems_.push_back("--resume: there is no interrupted migration in " + journal_path_);
  }
  if (!s_.dry_run && !already_done_)
    if (auto writable = check_writable(dst, s_.target); !writable)
      problems_.push_back("target: " + writable.message());
  if (!s_.merge && !resuming_ && !already_done_)
    for (auto kind : order_) {
      auto n = dst.count(kind);
      if (n && *n > 0)
        problems_.push_back("target: it already holds " + std::to_string(*n) + " "
                            + to_string(kind) + " records; migrate into an empty target, or "
                            "pass --merge to add to them");
      else if (!n)
        problems_.push_back("target: counting " + std::string{to_string(kind)}
                            + " failed: " + n.message());
    }
  if (is_local(s_.target) && !s_.dry_run) {
    auto need = estimate_bytes(src, s_.target, filter_->kinds(), *counts_);
    auto free = free_bytes(s_.target.data_dir);
    if (need > free)
      problems_.push_back("target: the copy needs about " + human_bytes(need) + " but only "
                          + human_bytes(free) + " are free for " + absolute(s_.target.data_dir)
                          + "; free some space or choose another --target-dir");
  }
}

int migration_command::report_validation() {
  std::cout << "validation passed\n  source: " << describe(s_.source) << "\n  target: "
            << describe(s_.target) << "\n  records to migrate: " << counts_->grand_total() << " ("
            << filter_->describe() << ")\n";
  if (already_done_)
    std::cout << "  note: this migration already completed (journal " << journal_path_
              << "): running it again writes nothing\n";
  else if (interrupted_)
    std::cout << "  note: an interrupted migration is recorded in " << journal_path_
              << ": continue it with --resume, or undo it with --rollback\n";
  close_ends();
  return exit_done;
}

int migration_command::report_already_done() {
  std::cout << "this migration already completed (journal " << journal_path_
            << "); nothing to write. Delete the journal to migrate again.\n";
  int code = exit_done;
  if (s_.verify) {
    auto rep = verify(sys(), source_, target_, s_.filter, s_.batch_size, s_.merge);
    std::cout << (rep.ok ? "verified: " : "verification FAILED: ") << rep.compared
              << " records compared\n";
    for (auto& d : rep.differences)
      std::cout << "  " << d << "\n";
    code = rep.ok ? exit_done : exit_failed;
  }
  close_ends();
  return code;
}

bool migration_command::reopen_target_for_writing() {
  if (!is_local(s_.target) || s_.dry_run)
    return true;
  (void) storage_client{sys(), target_}.close();
  target_ = nullptr;
  auto writable = s_.target;
  writable.read_only = false;
  auto dst = open_end(sys(), writable, "target");
  if (!dst) {
    problems_.push_back(dst.message());
    return false;
  }
  target_ = *dst;
  return true;
}

/// A new run starts a new journal; the last finished one stays beside it.
bool migration_command::start_journal(pipeline_config& cfg) {
  if (s_.dry_run)
    return true;
  if (!resuming_ && journal_.exists
      && std::rename(journal_path_.c_str(), (journal_path_ + ".previous").c_str()) != 0) {
    problems_.push_back("cannot move the old journal " + journal_path_
                        + " aside: " + std::strerror(errno));
    return false;
  }
  auto w = journal_writer::open(journal_path_);
  if (!w) {
    problems_.push_back(w.message());
    return false;
  }
  writer_ = std::move(*w);
  if (!resuming_)
    if (auto header = writer_->header({s_.source.type, s_.target.type, describe(s_.source),
                                       describe(s_.target), filter_->describe()});
        !header) {
      problems_.push_back(header.message());
      return false;
    }
  cfg.journal = writer_;
  return true;
}

status migration_command::verify_copy() {
  auto rep = verify(sys(), source_, target_, s_.filter, s_.batch_size, s_.merge);
  if (!rep.ok) {
    std::ostringstream os;
    os << "verification found " << rep.difference_count << " difference(s):";
    for (auto& d : rep.differences)
      os << "\n  " << d;
    return {errc::conflict, os.str()};
  }
  std::cerr << "verified: " << rep.compared << " records identical in source and target";
  for (auto& [kind, c] : rep.counts)
    std::cerr << (kind == rep.counts.begin()->first ? " (" : ", ") << to_string(kind) << " "
              << c.first;
  std::cerr << ")\n";
  return {};
}

/// The audit record of a finished copy, written into the target: what was
/// copied, from where, by whom. Journaled as an intent first, so a rollback
/// takes it back with the copy; no commit entry, so a resume still starts
/// each kind after its last copied key. verify() does not count such
/// records as differences: they are the migration's own.
status migration_command::record_migration() {
  std::ostringstream what;
  what << "copied " << counts_->written_total() << " of " << counts_->read_total()
       << " records read (";
  for (auto kind : order_) {
    auto k = static_cast<size_t>(kind);
    what << (kind == order_.front() ? "" : ", ") << to_string(kind) << " "
         << counts_->written[k].load();
  }
  what << ") from " << describe(s_.source) << " to " << describe(s_.target) << "; "
       << filter_->describe() << (s_.verify ? "; verified" : "; not verified")
       << (resuming_ ? "; resumed" : "");
  auto a = auth::audit_entry({cli_principal(), now_us()}, migration_audit_action,
                             "storage:" + describe(s_.target), "ok", what.str());
  if (auto noted = writer_->intent(record_kind::audit, {a.id}, {}); !noted)
    return noted;
  return storage_client{sys(), target_}.commit(auth::audit_only(a)).error();
}

/// The copy itself, then --verify, its audit record, and the rollback if
/// anything failed.
int migration_command::copy() {
  std::cerr << (s_.dry_run ? "dry run: " : "") << "migrating " << filter_->describe()
            << "\n  from " << describe(s_.source) << "\n  to   " << describe(s_.target) << "\n";
  pipeline_config cfg;
  cfg.source = source_;
  cfg.target = target_;
  cfg.order = order_;
  cfg.batch_size = s_.batch_size;
  cfg.dry_run = s_.dry_run;
  // Without --merge the target was checked empty, so only a merge or a
  // resume has records to compare with.
  cfg.compare_existing = s_.merge || resuming_;
  cfg.verbose = s_.verbose;
  cfg.filter = filter_;
  cfg.counts = counts_;
  if (resuming_)
    cfg.resume_after = journal_.last_committed;
  if (!start_journal(cfg))
    return fail_checks(exit_usage);
  auto started = std::chrono::steady_clock::now();
  result<pipeline_report> outcome{pipeline_report{}};
  {
    progress_reporter progress{*counts_, s_.progress};
    // CAF 0.17 never closes a stream whose source had nothing to send.
    if (counts_->grand_total() > 0)
      outcome = run_pipeline(sys(), cfg);
  }
  auto copied = outcome.error();  // success, or why not
  if (copied && s_.verify && !s_.dry_run)
    copied = verify_copy();
  if (copied && !s_.dry_run)
    if (auto recorded = record_migration(); !recorded)
      copied = status{recorded.code(), "its audit record was not stored: " + recorded.message()};
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  auto table = summary_table(*counts_, order_, outcome ? outcome->seconds : std::map<record_kind, double>{},
                             s_.dry_run);
  int code = exit_done;
  if (!copied) {
    std::cerr << "error: the migration failed: " << copied.message() << "\n";
    code = exit_failed;
    if (!s_.dry_run) {
      std::cerr << "rolling back the target to its state before the migration...\n";
      auto state = read_journal(journal_path_);
      auto undone = state ? rollback(sys(), target_, *state, s_.batch_size,
                                     std::chrono::seconds(s_.rollback_timeout_s))
                          : state.error();
      if (undone && writer_->rolled_back(copied.message())) {
        std::cerr << "rolled back: the target is as it was before\n";
      } else {
        std::cerr << "error: the rollback did not finish ("
                  << (undone ? "the journal could not record it" : undone.message())
                  << "); run the same command with --rollback once the target is reachable\n";
      }
    }
  } else {
    if (writer_)
      (void) writer_->done(std::to_string(counts_->read_total()) + " records read");
    std::cout << (s_.dry_run ? "dry run complete: nothing was written\n" : "migration complete\n");
  }
  std::cout << table;
  char total[200];
  std::snprintf(total, sizeof total, "%llu records in %.2f s (%.0f records/s), peak memory %.1f MiB\n",
                static_cast<unsigned long long>(counts_->read_total()), secs,
                secs > 0 ? static_cast<double>(counts_->read_total()) / secs : 0.0,
                peak_memory_mib());
  std::cout << total;
  if (s_.verbose)
    std::cout << "backpressure: at most " << counts_->max_in_flight
              << " records were between the source and the sink (bound "
              << max_records_in_flight(s_.batch_size) << ")\n";
  close_ends();
  return code;
}

int migration_command::run() {
  try {
    filter_ = std::make_shared<record_filter>(s_.filter);
  } catch (const std::invalid_argument& e) {
    std::cerr << "error: " << e.what() << "\n";
    return exit_usage;
  }
  if (same_place(s_.source, s_.target)) {
    std::cerr << "error: source and target are the same place (" << describe(s_.source)
              << "); give another --target-dir"
              << (s_.target.type == "surrealdb-server" ? ", namespace, database or server" : "")
              << "\n";
    return exit_usage;
  }
  order_ = migration_order(filter_->kinds());
  journal_path_ = s_.journal.empty() ? default_journal(s_.target) : s_.journal;
  auto journal = read_journal(journal_path_);
  if (!journal) {
    std::cerr << "error: " << journal.message() << "\n";
    return exit_usage;
  }
  journal_ = std::move(*journal);
  // A journal describes one migration (source, target, filter); a journal of
  // another one says nothing about this run.
  same_migration_ = journal_.exists && journal_.header.source == describe(s_.source)
                    && journal_.header.target == describe(s_.target)
                    && journal_.header.filter == filter_->describe();
  interrupted_ = journal_.exists && !journal_.done && !journal_.rolled_back;
  already_done_ = journal_.exists && journal_.done && !journal_.rolled_back && same_migration_;
  resuming_ = s_.resume && interrupted_ && same_migration_;
  if (s_.rollback)
    return roll_back_previous();
  if (!open_ends())
    return fail_checks(s_.validate_only ? exit_failed : exit_usage);
  {
    storage_client src{sys(), source_}, dst{sys(), target_};
    check_ends(src, dst);
  }
  if (!problems_.empty())
    return fail_checks(s_.validate_only ? exit_failed : exit_usage);
  if (counts_->grand_total() == 0)
    std::cerr << "warning: the source (" << describe(s_.source)
              << ") holds no records: is that the right place?\n";
  if (s_.validate_only)
    return report_validation();
  if (already_done_)
    return report_already_done();
  if (!reopen_target_for_writing())
    return fail_checks(exit_usage);
  return copy();
}

} // namespace

int run_migrate(const migrate_settings& s) {
  return migration_command{s}.run();
}

} // namespace orch
