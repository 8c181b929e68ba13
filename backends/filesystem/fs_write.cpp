// Group commits: every file of a round written as a temp file and every
// segment line appended, all fsynced together, the round committed by one
// line in the commit log (commit_log.hpp), then the temp files renamed into
// place; the indexes updated once everything is durable.
#include <atomic>
#include <cerrno>
#include <map>
#include <set>

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "backends/filesystem/fs_engine_impl.hpp"
#include "backends/filesystem/round_steps.hpp"
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
  // A committed round comes first: no later round may commit before it is
  // published, or the next start-up would take its temp files for a lost
  // round's.
  if (unpublished_) {
    try {
      put_in_place(*unpublished_);
    } catch (const status_error& e) {
      throw status_error{e.code(), "an earlier write that committed cannot be put in place, so "
                                   "nothing more is written until it is: " + e.message()};
    }
    unpublished_.reset();
  }
  auto round = ++round_;
  unpublished_round r;
  std::vector<int> fds;
  std::vector<std::string> fd_paths;
  std::vector<fs::unique_fd> temps_open;
  deleted_keys deletes;
  std::set<std::string> dirs;
  std::map<record_kind, std::vector<segment_log::staged>> seg_ops;
  auto undo = [&] {
    temps_open.clear();
    for (auto& [t, f] : r.renames)
      ::unlink(t.c_str());
    for (auto& [log, p] : r.segments)
      log->rollback(p);
  };
  // Phase 1: write every new version (temp files, segment appends); nothing
  // of a batch that fails here stays behind.
  try {
    for (auto& [id, s] : overlay) {
      auto& [kind, key] = id;
      if (!is_file_kind(kind)) {
        seg_ops[kind].push_back({key, s.removed, s.json, s.time, s.task_id});
        continue;
      }
      auto path = file_of(kind, key);
      if (s.removed) {
        r.unlinks.push_back(path);
        deletes[kind].push_back(key);
        dirs.insert(dir_of(kind));
        continue;
      }
      auto tmp = temp_file_of(kind, key, round);
      fs::unique_fd fd{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
      if (!fd)
        throw fs::io_failure("cannot create", tmp, errno);
      r.renames.emplace_back(tmp, path);
      auto pretty = json::parse(s.json).dump(2) + "\n";
      fs::write_all(fd.get(), pretty, tmp);
      fds.push_back(fd.get());
      fd_paths.push_back(tmp);
      temps_open.push_back(std::move(fd));
      dirs.insert(dir_of(kind));
    }
    segment_sizes touched;
    for (auto& [kind, ops] : seg_ops) {
      auto& log = log_of(kind);
      r.segments.emplace_back(&log, log.prepare(ops, fds, fd_paths));
      touched[kind] = log.sizes_after(r.segments.back().second);
      dirs.insert(log.dir());
    }
    reached(round_step::written);
    // Phase 2: make the new bytes durable (parallel fsyncs share journal
    // commits), then commit: from its line on, the round happened.
    fs::fsync_all(fds, fd_paths);
    reached(round_step::durable);
    commits_->commit(round, deletes, touched);
  } catch (...) {
    undo();
    throw;
  }
  reached(round_step::committed);
  temps_open.clear();
  r.dirs.assign(dirs.begin(), dirs.end());
  r.overlay = std::move(overlay);
  // Committed: the round happened, whatever comes next. The indexes learn it
  // now; reads of its files are served from memory until they are in place.
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
    commits_->checkpoint(round, all_segment_sizes());
}

void fs_engine::put_in_place(unpublished_round& r) {
  // Phase 3: rename the new files into place and remove the deleted ones,
  // then make the directory entries durable. Resumable: a retry goes on
  // where the last try stopped.
  for (; r.renamed < r.renames.size(); ++r.renamed) {
    auto& [tmp, path] = r.renames[r.renamed];
    if (::rename(tmp.c_str(), path.c_str()) != 0)
      throw fs::io_failure("cannot rename " + tmp + " to", path, errno);
    if (r.renamed == 0 && r.renames.size() > 1)
      reached(round_step::half_published);
  }
  for (auto& path : r.unlinks)
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      throw fs::io_failure("cannot delete", path, errno);
  reached(round_step::published);
  fs::fsync_dirs(r.dirs);
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
