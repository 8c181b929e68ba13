// Group commits: a round is committed by its block in the commit log (a
// write-ahead log: commit_log.hpp), one fdatasync; then its files are written
// (temp file, rename) and its segment lines appended, without fsync, and the
// indexes updated. Checkpoints make the files durable in the background.
#include <atomic>
#include <cerrno>
#include <map>
#include <set>

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "backends/filesystem/fs_engine_impl.hpp"
#include "backends/filesystem/round_steps.hpp"
#include "runtime/core/canonical_text.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/log.hpp"
#include "runtime/core/record_scan.hpp"

namespace orch::fs {

namespace {

std::atomic<round_step_hook> step_hook{nullptr};

void reached(round_step step) {
  if (auto hook = step_hook.load(std::memory_order_relaxed))
    hook(step);
}

} // namespace

void set_round_step_hook(round_step_hook hook) {
  step_hook.store(hook);
}

// -- writing ----------------------------------------------------------------------

std::string file_text(const std::string& record_json) {
  std::string text;
  if (!pretty_from_canonical(record_json, text))
    text = json::parse(record_json).dump(2) + "\n";  // stored as given, but not canonical
  return text;
}

bool fs_engine::committed_field(record_kind k, const std::string& key, const std::string& field,
                                std::string& value) {
  if (!exists(k, key))
    return false;
  if (field.empty())
    return true;
  // Every transition checks a task's revision: answer it from the index
  // rather than reading and parsing the file.
  if (k == record_kind::task && (field == "revision" || field == "status")) {
    auto& m = tasks_.at(key);
    value = field == "revision" ? std::to_string(m.revision) : std::string{to_string(m.status)};
    return true;
  }
  scan_field(read_canonical(k, key), field, value);
  return true;
}

std::vector<batch_outcome> fs_engine::do_commit_group(const std::vector<prepared_batch*>& batches) {
  if (closed_)
    throw status_error{errc::unavailable, "the filesystem backend has been closed"};
  record_overlay overlay;
  auto outcomes = plan_group(batches, overlay,
                             [this](record_kind k, const std::string& key,
                                    const std::string& field, std::string& value) {
                               return committed_field(k, key, field, value);
                             });
  if (overlay.empty())
    return outcomes;
  try {
    write_to_disk(overlay);
  } catch (const status_error& e) {
    // A folder of ours missing mid-run: the data directory was removed or
    // moved under us. Nothing of the round was written (or it is finished
    // at the next start-up, if it committed).
    auto message = e.code() != errc::not_found
                     ? e.message()
                     : e.message() + ". Was the data directory " + root_
                         + " removed or moved while the orchestrator ran? Put it back: writes "
                           "resume by themselves";
    for (auto& o : outcomes)
      if (o.ok())
        o.st = {e.code() == errc::not_found ? errc::io_error : e.code(), message};
  }
  return outcomes;
}

fs_engine::~fs_engine() = default;

void fs_engine::publish_pending() noexcept {
  if (!unpublished_)
    return;
  auto st = catch_status([&] { put_in_place(*unpublished_); });
  if (st)
    unpublished_.reset();
}

void fs_engine::write_to_disk(record_overlay& overlay) {
  // A committed round comes first: its files must be in place before a
  // later round's, or a later version could be overwritten by an earlier one.
  if (unpublished_) {
    try {
      put_in_place(*unpublished_);
    } catch (const status_error& e) {
      throw status_error{e.code(), "an earlier write that committed cannot be put in place, so "
                                   "nothing more is written until it is: " + e.message()};
    }
    unpublished_.reset();
  }
  commits_->finish_checkpoint(false);
  auto round = ++round_;
  unpublished_round r;
  deleted_keys deletes;
  std::vector<round_file> logged_files;
  std::map<record_kind, std::vector<segment_log::staged>> seg_ops;
  for (auto& [id, s] : overlay) {
    auto& [kind, key] = id;
    if (!is_file_kind(kind)) {
      seg_ops[kind].push_back({key, s.removed, s.json, s.time, s.task_id});
      continue;
    }
    if (s.removed) {
      r.unlinks.push_back(file_of(kind, key));
      deletes[kind].push_back(key);
      continue;
    }
    r.files.push_back({temp_file_of(kind, key, round), file_of(kind, key), file_text(s.json)});
    logged_files.push_back({kind, key, s.json});
  }
  for (auto& [kind, ops] : seg_ops) {
    auto& log = log_of(kind);
    r.segments.emplace_back(&log, log.plan(ops));
  }
  size_t created = 0;
  try {
    // Every file the round writes is created (and every segment opened)
    // before it commits: a folder that cannot be written, or a data
    // directory moved away, fails this round instead of committing one that
    // cannot be put in place. Deletions are checked the same way.
    for (; created < r.files.size(); ++created)
      r.files[created].fd = fs::create_temp(r.files[created].temp);
    for (auto& [log, p] : r.segments)
      log->open_files(p);
    for (auto& [kind, keys] : deletes)
      if (::access(dir_of(kind).c_str(), W_OK | X_OK) != 0)
        throw fs::io_failure("cannot delete files in", dir_of(kind), errno);
    std::vector<round_append> appends;
    for (auto& [log, p] : r.segments)
      for (auto& a : p.appends)
        appends.push_back({log->kind(), log->segment_name(a.segment), a.from, a.text});
    commits_->commit(round, deletes, logged_files, appends);
  } catch (...) {
    for (size_t i = 0; i < created; ++i) {
      r.files[i].fd = {};
      ::unlink(r.files[i].temp.c_str());
    }
    for (auto& [log, p] : r.segments)
      log->rollback(p);
    throw;
  }
  reached(round_step::committed);
  // Committed: the round happened, whatever comes next. The indexes learn it
  // now; reads of its records are served from memory until they are written.
  r.overlay = std::move(overlay);
  for (auto& [log, p] : r.segments)
    log->apply(p);
  for (auto& [id, s] : r.overlay)
    if (is_file_kind(id.first))
      apply_to_index(id, s);
  try {
    put_in_place(r);
  } catch (const status_error& e) {
    // Finished before the next round (which fails until then) or by the next
    // start-up; never undone, and its writers are told it succeeded.
    log_error("filesystem", "a committed write could not be put in place yet (" + e.message()
                              + "); it is retried before the next write and finished at the "
                                "latest by the next start-up");
    unpublished_ = std::make_unique<unpublished_round>(std::move(r));
    return;
  }
  if (commits_->large())
    commits_->begin_checkpoint(round, all_segment_sizes());
}

void fs_engine::put_in_place(unpublished_round& r) {
  // Resumable: a retry goes on where the last try stopped (writing a file
  // or a deletion again is harmless).
  for (; r.published < r.files.size(); ++r.published) {
    auto& f = r.files[r.published];
    fs::publish_file(f.path, f.temp, f.text, std::move(f.fd));
    if (r.published == 0 && r.files.size() > 1)
      reached(round_step::half_published);
  }
  for (auto& path : r.unlinks)
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      throw fs::io_failure("cannot delete", path, errno);
  for (auto& [log, p] : r.segments)
    log->write(p);
  reached(round_step::published);
}

void fs_engine::apply_to_index(const record_id& id, const staged_record& s) {
  auto& [kind, key] = id;
  switch (kind) {
    case record_kind::task:
      if (s.removed)
        unindex_task(key);
      else
        index_task(key, s.meta, s.search);
      break;
    case record_kind::queue:
      if (s.removed)
        queue_.erase(key);
      else
        queue_.put(s.entry);
      break;
    case record_kind::user:
    case record_kind::schedule:
    case record_kind::workflow:
      if (s.removed)
        names_of(kind).erase(key);
      else
        names_of(kind).insert(key);
      break;
    default:
      break;
  }
}

} // namespace orch::fs
