#include "backends/filesystem/fs_engine.hpp"

#include <cerrno>
#include <filesystem>
#include <future>
#include <system_error>

#include <fcntl.h>
#include <unistd.h>

#include "backends/engine/read_only_engine.hpp"
#include "backends/filesystem/fs_engine_impl.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/log.hpp"

namespace orch::fs {

// -- construction -----------------------------------------------------------------

fs_engine::fs_engine(const std::string& data_dir, bool read_only) : read_only_(read_only) {
  auto base = data_dir.empty() ? std::string{"."} : data_dir;
  while (base.size() > 1 && base.back() == '/')
    base.pop_back();
  root_ = base + "/queue.rkvs";
  if (!read_only_)
    fs::make_dirs(root_);
  lock_ = std::make_unique<fs::lock_file>(root_ + "/LOCK", "data directory " + base,
                                          read_only_ ? fs::lock_file::shared
                                                     : fs::lock_file::exclusive);
  if (!read_only_)
    for (auto k : all_record_kinds)
      if (is_file_kind(k))
        fs::make_dirs(dir_of(k));
  auto corrupted = root_ + "/corrupted";
  // What the last crash cut off is settled by the commit log: rounds after
  // its last line never happened, the last one is finished.
  auto committed = commit_log::read(commit_log_path(), notes_);
  round_ = committed.last_round;
  replay(committed);
  // The segments load on a thread of their own while the file kinds load
  // here: together they are what a large directory's start-up costs.
  std::vector<std::string> segment_notes;
  auto segments = std::async(std::launch::async, [&] {
    audit_ = std::make_unique<segment_log>(dir_of(record_kind::audit), corrupted,
                                           record_kind::audit, segment_notes, committed,
                                           read_only_);
    metrics_ = std::make_unique<segment_log>(dir_of(record_kind::metric), corrupted,
                                             record_kind::metric, segment_notes, committed,
                                             read_only_);
    events_ = std::make_unique<segment_log>(dir_of(record_kind::event), corrupted,
                                            record_kind::event, segment_notes, committed,
                                            read_only_);
  });
  try {
    load_file_kind(record_kind::task, committed);
    load_file_kind(record_kind::queue, committed);
    load_file_kind(record_kind::user, committed);
    load_file_kind(record_kind::schedule, committed);
    load_file_kind(record_kind::workflow, committed);
  } catch (...) {
    segments.wait();
    throw;
  }
  segments.get();  // rethrows what stopped the segments' load
  notes_.insert(notes_.end(), segment_notes.begin(), segment_notes.end());
  // A fresh log: its checkpoint has the sizes the load left (cut back or
  // rewritten without bad lines).
  if (!read_only_)
    commits_ = std::make_unique<commit_log>(commit_log_path(), round_, all_segment_sizes());
  for (auto& n : notes_)
    log_warn("filesystem", n);
}

std::string fs_engine::dir_of(record_kind k) const {
  switch (k) {
    case record_kind::task: return root_ + "/tasks";
    case record_kind::queue: return root_ + "/queue";
    case record_kind::user: return root_ + "/users";
    case record_kind::audit: return root_ + "/audit";
    case record_kind::metric: return root_ + "/metrics";
    case record_kind::event: return root_ + "/events";
    case record_kind::schedule: return root_ + "/schedules";
    case record_kind::workflow: return root_ + "/workflows";
  }
  return root_;
}

segment_log& fs_engine::log_of(record_kind k) {
  switch (k) {
    case record_kind::audit: return *audit_;
    case record_kind::metric: return *metrics_;
    default: return *events_;
  }
}

segment_sizes fs_engine::all_segment_sizes() const {
  return {{record_kind::audit, audit_->sizes()},
          {record_kind::metric, metrics_->sizes()},
          {record_kind::event, events_->sizes()}};
}

void fs_engine::quarantine(record_kind k, const std::string& name, const std::string& why) {
  if (read_only_)
    throw status_error{errc::corrupted,
                          dir_of(k) + "/" + name + " is not a valid " + to_string(k) + " record ("
                            + why + "); nothing was changed. Start the orchestrator on this data "
                            "once (it moves such files aside), or repair or remove the file"};
  auto dest_dir = root_ + "/corrupted/" + to_string(k);
  fs::make_dirs(dest_dir);
  auto from = dir_of(k) + "/" + name;
  auto to = dest_dir + "/" + name;
  if (::rename(from.c_str(), to.c_str()) != 0)
    throw fs::io_failure("cannot move corrupted file " + from + " aside to", to, errno);
  fs::fsync_dirs({dir_of(k), dest_dir});
  notes_.push_back("corrupted file " + from + " (" + why + ") was moved to " + to
                   + "; inspect or delete it");
}

// -- indexes ------------------------------------------------------------------------

void fs_engine::index_task(const std::string& id, const task_meta& m, search_doc doc) {
  unindex_task(id);
  auto* key = &tasks_.emplace(id, m).first->first;
  search_docs_[key] = std::move(doc);
  tasks_by_time_.insert({m.created_at, key});
  tasks_by_status_[m.status].insert({m.created_at, key});
  for (auto& d : m.dependencies)
    dependants_.emplace(d, id);
}

void fs_engine::unindex_task(const std::string& id) {
  auto i = tasks_.find(id);
  if (i == tasks_.end())
    return;
  auto& m = i->second;
  search_docs_.erase(&i->first);
  tasks_by_time_.erase(time_key{m.created_at, &i->first});
  tasks_by_status_[m.status].erase(time_key{m.created_at, &i->first});
  for (auto& d : m.dependencies) {
    auto range = dependants_.equal_range(d);
    for (auto it = range.first; it != range.second; ++it)
      if (it->second == id) {
        dependants_.erase(it);
        break;
      }
  }
  tasks_.erase(i);
}

// -- claims and leases ------------------------------------------------------------

claim_plan fs_engine::do_plan_claims(const claim_request& req, const std::set<std::string>& reserved) {
  if (closed_)
    throw status_error{errc::unavailable, "the filesystem backend has been closed"};
  return queue_.plan(req, reserved, [this](const std::string& id, task& t) {
    auto st = decode(read_canonical(record_kind::task, id), t);
    if (st)
      return true;
    // Changed on disk behind our back: leave it out of the queue rather than
    // failing every claim; it is reported and stays on disk for inspection.
    log_error("filesystem", "task " + id + " cannot be started, its file is unreadable: " + st.message());
    return false;
  });
}

std::vector<std::string> fs_engine::do_renew(const std::string& worker,
                                          const std::vector<std::string>& ids,
                                          micros lease_until) {
  return renew_through(queue_, worker, ids, lease_until);
}

storage_info fs_engine::do_info() {
  return {"filesystem", root_, {}, {}, false, notes_};
}

std::string fs_engine::do_backup(const std::string& to) {
  if (closed_)
    throw status_error{errc::unavailable, "the filesystem backend has been closed"};
  auto dest = to + "/queue.rkvs";
  std::error_code ec;
  if (std::filesystem::exists(dest, ec))
    throw status_error{errc::conflict, "backup target " + dest
                                            + " already exists; choose a new directory"};
  // Writes wait while we copy (this is the storage actor's thread), so the
  // copy is consistent. Everything but the lock file.
  std::vector<std::string> dirs{dest};
  std::vector<fs::unique_fd> files;
  std::vector<int> fds;
  std::vector<std::string> paths;
  fs::make_dirs(dest);
  for (auto& entry : std::filesystem::recursive_directory_iterator(root_)) {
    auto rel = std::filesystem::relative(entry.path(), root_).string();
    if (rel == "LOCK")
      continue;
    auto target = dest + "/" + rel;
    if (entry.is_directory()) {
      fs::make_dirs(target);
      dirs.push_back(target);
      continue;
    }
    std::filesystem::copy_file(entry.path(), target, ec);
    if (ec)
      throw status_error{errc::io_error, "cannot copy " + entry.path().string() + " to "
                                              + target + ": " + ec.message()};
    fs::unique_fd fd{::open(target.c_str(), O_RDONLY | O_CLOEXEC)};
    fds.push_back(fd.get());
    paths.push_back(target);
    files.push_back(std::move(fd));
  }
  fs::fsync_all(fds, paths);
  fs::fsync_dirs(dirs);
  return dest;
}

void fs_engine::do_close() {
  publish_pending();
  // A clean stop leaves a log of one line: the next start-up, or a
  // read-only open, has nothing to write again.
  if (commits_ && !unpublished_) {
    auto st = catch_status([&] { commits_->checkpoint(round_, all_segment_sizes()); });
    if (!st)
      log_warn("filesystem", "no checkpoint at close (" + st.message()
                               + "); the next start-up writes the last rounds again from the "
                                 "commit log");
  }
  closed_ = true;
  lock_.reset();
}

} // namespace orch::fs

namespace orch {

std::unique_ptr<storage_engine> open_filesystem_engine(const std::string& data_dir,
                                                       bool read_only) {
  if (!read_only)
    return std::make_unique<fs::fs_engine>(data_dir, false);
  return make_read_only(std::make_unique<fs::fs_engine>(data_dir, true),
                        "the filesystem data in " + data_dir);
}

} // namespace orch
