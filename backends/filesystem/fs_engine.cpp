#include "backends/filesystem/fs_engine.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <future>
#include <map>
#include <optional>
#include <set>
#include <system_error>
#include <thread>
#include <tuple>

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "runtime/core/canonical_text.hpp"
#include "backends/filesystem/file_io.hpp"
#include "backends/filesystem/segment_log.hpp"
#include "backends/engine/group_plan.hpp"
#include "backends/engine/queue_index.hpp"
#include "backends/engine/read_only_engine.hpp"
#include "runtime/core/record_scan.hpp"
#include "runtime/core/log.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/query_match.hpp"
#include "runtime/core/transitions.hpp"

namespace orch {

namespace {

using fs::segment_log;

bool is_file_kind(record_kind k) {
  return k == record_kind::task || k == record_kind::queue || k == record_kind::user;
}

/// A task in a secondary index: its creation time and its id, which is the
/// key of fs_engine::tasks_ (map nodes do not move), not a copy of it.
struct time_key {
  micros time;
  const std::string* id;
};

struct time_order {
  using is_transparent = void;
  bool operator()(const time_key& a, const time_key& b) const {
    return a.time != b.time ? a.time < b.time : *a.id < *b.id;
  }
  bool operator()(const time_key& a, micros t) const { return a.time < t; }
  bool operator()(micros t, const time_key& b) const { return t < b.time; }
};

using time_index = std::set<time_key, time_order>;

class fs_engine : public storage_engine {
public:
  fs_engine(const std::string& data_dir, bool read_only);

protected:
  std::vector<batch_outcome> do_commit_group(const std::vector<prepared_batch*>& batches) override;
  record do_get(record_kind kind, const std::string& key) override;
  record_page do_query(const record_query& q) override;
  std::vector<record> do_scan(record_kind kind, const std::string& after, uint32_t limit) override;
  uint64_t do_count(record_kind kind) override;
  claim_plan do_plan_claims(const claim_request& req, const std::set<std::string>& reserved) override;
  std::vector<std::string> do_renew(const std::string& worker, const std::vector<std::string>& ids,
                                 micros lease_until) override;
  storage_info do_info() override;
  std::string do_backup(const std::string& to) override;
  void do_close() override;

private:
  // -- paths -------------------------------------------------------------------
  std::string dir_of(record_kind k) const;
  std::string file_of(record_kind k, const std::string& key) const {
    return dir_of(k) + "/" + key + ".json";
  }
  segment_log& log_of(record_kind k);

  // -- loading --------------------------------------------------------
  void load_file_kind(record_kind k);
  void quarantine(record_kind k, const std::string& name, const std::string& why);

  // -- reading -------------------------------------------------------------------
  bool exists(record_kind k, const std::string& key) const;
  /// Canonical JSON of a stored record; throws not_found.
  std::string read_canonical(record_kind k, const std::string& key);

  // -- writing -------------------------------------------------------------------
  /// The committed value of a field, for preconditions (committed_field_fn).
  bool committed_field(record_kind k, const std::string& key, const std::string& field,
                       std::string& value);
  void write_to_disk(record_overlay& overlay);
  void apply_to_index(const record_id& id, const staged_record& s);

  // -- indexes -------------------------------------------------------------------
  void index_task(const std::string& id, const task_meta& m);
  void unindex_task(const std::string& id);

  std::string root_;
  std::unique_ptr<fs::lock_file> lock_;
  std::vector<std::string> notes_;
  bool closed_ = false;
  bool read_only_ = false;                   // change nothing, not even a bad file

  std::map<std::string, task_meta> tasks_;
  time_index tasks_by_time_;
  std::map<task_status, time_index> tasks_by_status_;
  std::multimap<std::string, std::string> dependants_;

  queue_index queue_;

  std::set<std::string> users_;

  std::unique_ptr<segment_log> audit_;
  std::unique_ptr<segment_log> metrics_;
  std::unique_ptr<segment_log> events_;
};

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
    for (auto k : {record_kind::task, record_kind::queue, record_kind::user})
      fs::make_dirs(dir_of(k));
  auto corrupted = root_ + "/corrupted";
  // The segments load on a thread of their own while the file kinds load
  // here: together they are what a large directory's start-up costs.
  std::vector<std::string> segment_notes;
  auto segments = std::async(std::launch::async, [&] {
    audit_ = std::make_unique<segment_log>(dir_of(record_kind::audit), corrupted,
                                           record_kind::audit, segment_notes, read_only_);
    metrics_ = std::make_unique<segment_log>(dir_of(record_kind::metric), corrupted,
                                             record_kind::metric, segment_notes, read_only_);
    events_ = std::make_unique<segment_log>(dir_of(record_kind::event), corrupted,
                                            record_kind::event, segment_notes, read_only_);
  });
  try {
    load_file_kind(record_kind::task);
    load_file_kind(record_kind::queue);
    load_file_kind(record_kind::user);
  } catch (...) {
    segments.wait();
    throw;
  }
  segments.get();  // rethrows what stopped the segments' load
  notes_.insert(notes_.end(), segment_notes.begin(), segment_notes.end());
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

void fs_engine::load_file_kind(record_kind k) {
  auto dir = dir_of(k);
  // What one file holds: its summary, or why it is not a record (or nothing,
  // if it vanished or is to be skipped).
  struct loaded {
    std::string name;
    std::string problem;
    bool skip = false;
    std::optional<status_error> unreadable;  // stops the start-up (permissions, I/O)
    record_summary sum;
  };
  std::vector<std::string> names;
  for (auto& name : read_only_ ? fs::list_dir_if_exists(dir) : fs::list_dir(dir)) {
    if (name.size() > 4 && name[0] == '.' && name.compare(name.size() - 4, 4, ".tmp") == 0) {
      // A write that never reached its rename: it was never acknowledged.
      if (!read_only_)
        ::unlink((dir + "/" + name).c_str());
      continue;
    }
    names.push_back(std::move(name));
  }
  // Reading and checking every file is what a large data directory's start-up
  // costs: it runs on a few threads, with the streaming scanner (validation
  // like the codec's decoders, no JSON tree); the indexes are built after.
  auto check = [&](loaded& f) {
    auto& name = f.name;
    if (name.size() <= 5 || name.compare(name.size() - 5, 5, ".json") != 0) {
      f.problem = "not a .json record file";
      return;
    }
    auto key = name.substr(0, name.size() - 5);
    if (!is_valid_key(k, key)) {
      f.problem = "its name is not a valid key";
      return;
    }
    std::string text;
    try {
      text = fs::read_file(dir + "/" + name);
    } catch (const status_error& e) {
      f.skip = true;
      if (e.code() != errc::not_found)  // vanished meanwhile: fine
        f.unreadable = e;
      return;
    }
    if (auto st = scan_record(k, text, f.sum); !st)
      f.problem = st.message();
    else if (f.sum.key != key)
      f.problem = std::string{k == record_kind::task    ? "its id field '"
                              : k == record_kind::queue ? "its task_id field '"
                                                        : "its username field '"}
                  + f.sum.key + "' does not match its name";
  };
  auto index_loaded = [&](std::vector<loaded>& files) {
    for (auto& f : files) {
      if (f.unreadable)
        throw *f.unreadable;
      if (f.skip)
        continue;
      if (!f.problem.empty()) {
        quarantine(k, f.name, f.problem);
        continue;
      }
      auto key = f.name.substr(0, f.name.size() - 5);
      switch (k) {
        case record_kind::task:
          index_task(key, task_meta{f.sum.status, f.sum.created_at, f.sum.revision,
                                    std::move(f.sum.dependencies)});
          break;
        case record_kind::queue:
          queue_.put(f.sum.entry);
          break;
        default:
          users_.insert(key);
          break;
      }
    }
  };
  size_t threads = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4);
  if (names.size() < 256)
    threads = 1;
  // In chunks, so that few summaries wait to be indexed at a time (all of them
  // at once were the largest part of a big directory's start-up peak memory).
  constexpr size_t chunk = 4096;
  for (size_t first = 0; first < names.size(); first += chunk) {
    std::vector<loaded> files;
    files.reserve(std::min(chunk, names.size() - first));
    for (size_t i = first; i < names.size() && i < first + chunk; ++i)
      files.push_back({std::move(names[i]), {}, false, {}, {}});
    // Nothing may escape a worker (that would end the process), and every
    // worker is joined however this scope is left.
    auto check_range = [&](size_t from) {
      for (size_t i = from; i < files.size(); i += threads)
        try {
          check(files[i]);
        } catch (const std::exception& e) {
          files[i].skip = true;
          files[i].unreadable = status_error{errc::io_error, dir + "/" + files[i].name
                                                                  + ": " + e.what()};
        } catch (...) {
          files[i].skip = true;
          files[i].unreadable =
            status_error{errc::io_error, dir + "/" + files[i].name + ": cannot be read"};
        }
    };
    {
      struct joiner {
        std::vector<std::thread> threads;
        ~joiner() {
          for (auto& t : threads)
            t.join();
        }
      } workers;
      size_t started = 1;
      try {
        for (; started < threads; ++started)
          workers.threads.emplace_back(check_range, started);
      } catch (const std::system_error&) {
        // No more threads: this one checks the rest.
      }
      for (size_t t = started; t < threads; ++t)
        check_range(t);
      check_range(0);
    }
    index_loaded(files);
  }
}

// -- indexes ------------------------------------------------------------------------

void fs_engine::index_task(const std::string& id, const task_meta& m) {
  unindex_task(id);
  auto* key = &tasks_.emplace(id, m).first->first;
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

// -- reading ------------------------------------------------------------------------

bool fs_engine::exists(record_kind k, const std::string& key) const {
  switch (k) {
    case record_kind::task: return tasks_.count(key) > 0;
    case record_kind::queue: return queue_.find(key) != nullptr;
    case record_kind::user: return users_.count(key) > 0;
    case record_kind::audit: return audit_->index().count(key) > 0;
    case record_kind::metric: return metrics_->index().count(key) > 0;
    case record_kind::event: return events_->index().count(key) > 0;
  }
  return false;
}

std::string fs_engine::read_canonical(record_kind k, const std::string& key) {
  if (!exists(k, key))
    throw status_error{errc::not_found, not_found_message(k, key)};
  if (k == record_kind::queue)
    return encode(*queue_.find(key));
  if (!is_file_kind(k))
    return log_of(k).read(key);
  auto path = file_of(k, key);
  auto text = fs::read_file(path);
  // Our files are pretty-printed canonical JSON: dropping the whitespace is
  // enough, and much cheaper than a parse and a dump (the full way stays for
  // files edited by hand).
  std::string out;
  if (canonical_from_text(text, out))
    return out;
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded())
    throw status_error{errc::corrupted, path + " is no longer valid JSON (changed on disk "
                                                  "while the orchestrator runs?)"};
  return canonical(j);
}

record fs_engine::do_get(record_kind kind, const std::string& key) {
  if (!is_valid_key(kind, key))
    throw status_error{errc::invalid, "'" + key + "' is not a valid key for "
                                           + to_string(kind)};
  return {kind, key, read_canonical(kind, key)};
}

record_page fs_engine::do_query(const record_query& q) {
  // Candidates as (time, key), cheap filters applied from the indexes; the
  // rest of the filter needs the record itself.
  std::vector<std::pair<micros, std::string>> cand;
  bool content_filter = !q.field.empty();
  auto in_range = [&](micros t) {
    return (q.since == 0 || t >= q.since) && (q.until == 0 || t < q.until);
  };
  switch (q.kind) {
    case record_kind::task: {
      const time_index* src = &tasks_by_time_;
      static const time_index empty;
      task_status s;
      if (q.field == "status" && parse_status(q.value, s)) {
        auto i = tasks_by_status_.find(s);
        src = i == tasks_by_status_.end() ? &empty : &i->second;
        content_filter = false;
      } else if (q.field == "status") {
        src = &empty;
      }
      if (q.field == "dependencies") {
        auto range = dependants_.equal_range(q.value);
        for (auto it = range.first; it != range.second; ++it) {
          auto& m = tasks_.at(it->second);
          if (in_range(m.created_at))
            cand.emplace_back(m.created_at, it->second);
        }
        std::sort(cand.begin(), cand.end());
        content_filter = false;
      } else {
        auto lo = q.since == 0 ? src->begin() : src->lower_bound(q.since);
        auto hi = q.until == 0 ? src->end() : src->lower_bound(q.until);
        for (auto it = lo; it != hi; ++it)
          cand.emplace_back(it->time, *it->id);
      }
      break;
    }
    case record_kind::queue:
      for (auto& [id, e] : queue_.entries())
        if ((q.since == 0 && q.until == 0) || (e.lease_until != 0 && in_range(e.lease_until)))
          cand.emplace_back(e.lease_until, id);
      std::sort(cand.begin(), cand.end());
      break;
    case record_kind::user:
      for (auto& name : users_)
        cand.emplace_back(0, name);
      content_filter = content_filter || q.since != 0 || q.until != 0;
      break;
    default: {
      auto& log = log_of(q.kind);
      if (q.kind == record_kind::event && q.field == "task_id") {
        for (auto& key : log.keys_of_task(q.value)) {
          auto t = log.index().at(key).time;
          if (in_range(t))
            cand.emplace_back(t, key);
        }
        content_filter = false;
      } else {
        for (auto& [key, loc] : log.index())
          if (in_range(loc.time))
            cand.emplace_back(loc.time, key);
      }
      std::sort(cand.begin(), cand.end());
      break;
    }
  }
  if (q.newest_first)
    std::reverse(cand.begin(), cand.end());
  record_page page;
  if (!content_filter) {
    page.total = cand.size();
    for (uint64_t i = q.offset; i < cand.size() && page.items.size() < q.limit; ++i)
      page.items.push_back({q.kind, cand[i].second, read_canonical(q.kind, cand[i].second)});
    return page;
  }
  for (auto& [t, key] : cand) {
    auto text = read_canonical(q.kind, key);
    if (!matches(q, text))
      continue;
    if (page.total >= q.offset && page.items.size() < q.limit)
      page.items.push_back({q.kind, key, std::move(text)});
    ++page.total;
  }
  return page;
}

std::vector<record> fs_engine::do_scan(record_kind kind, const std::string& after, uint32_t limit) {
  std::vector<record> out;
  auto take = [&](const std::string& key) {
    out.push_back({kind, key, read_canonical(kind, key)});
    return out.size() < limit;
  };
  auto walk = [&](const auto& container, auto key_of) {
    for (auto it = container.upper_bound(after); it != container.end(); ++it)
      if (!take(key_of(*it)))
        break;
  };
  if (limit == 0)
    return out;
  switch (kind) {
    case record_kind::task: walk(tasks_, [](auto& p) { return p.first; }); break;
    case record_kind::queue: walk(queue_.entries(), [](auto& p) { return p.first; }); break;
    case record_kind::user: walk(users_, [](auto& k) { return k; }); break;
    default: walk(log_of(kind).index(), [](auto& p) { return p.first; }); break;
  }
  return out;
}

uint64_t fs_engine::do_count(record_kind kind) {
  switch (kind) {
    case record_kind::task: return tasks_.size();
    case record_kind::queue: return queue_.entries().size();
    case record_kind::user: return users_.size();
    default: return log_of(kind).index().size();
  }
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
    for (auto& o : outcomes)
      if (o.ok())
        o.st = {e.code() == errc::not_found ? errc::io_error : e.code(), e.message()};
  }
  return outcomes;
}

void fs_engine::write_to_disk(record_overlay& overlay) {
  std::vector<int> fds;
  std::vector<std::string> fd_paths;
  std::vector<fs::unique_fd> temps_open;
  std::vector<std::pair<std::string, std::string>> renames;  // temp -> final
  std::vector<std::string> unlinks;
  std::set<std::string> dirs;
  std::map<record_kind, std::vector<segment_log::staged>> seg_ops;
  std::vector<std::pair<segment_log*, segment_log::prepared>> seg_prepared;
  auto undo = [&] {
    temps_open.clear();
    for (auto& [t, f] : renames)
      ::unlink(t.c_str());
    for (auto& [log, p] : seg_prepared)
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
        unlinks.push_back(path);
        dirs.insert(dir_of(kind));
        continue;
      }
      auto tmp = dir_of(kind) + "/." + key + ".json.tmp";
      fs::unique_fd fd{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
      if (!fd)
        throw fs::io_failure("cannot create", tmp, errno);
      renames.emplace_back(tmp, path);
      auto pretty = json::parse(s.json).dump(2) + "\n";
      fs::write_all(fd.get(), pretty, tmp);
      fds.push_back(fd.get());
      fd_paths.push_back(tmp);
      temps_open.push_back(std::move(fd));
      dirs.insert(dir_of(kind));
    }
    for (auto& [kind, ops] : seg_ops) {
      auto& log = log_of(kind);
      seg_prepared.emplace_back(&log, log.prepare(ops, fds, fd_paths));
      dirs.insert(log.dir());
    }
    // Phase 2: make the new bytes durable (parallel fsyncs share journal commits).
    fs::fsync_all(fds, fd_paths);
  } catch (...) {
    undo();
    throw;
  }
  temps_open.clear();
  // Phase 3: publish the new files and remove the deleted ones, then make the
  // directory entries durable.
  for (auto& [tmp, path] : renames)
    if (::rename(tmp.c_str(), path.c_str()) != 0)
      throw fs::io_failure("cannot rename " + tmp + " to", path, errno);
  for (auto& path : unlinks)
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      throw fs::io_failure("cannot delete", path, errno);
  fs::fsync_dirs({dirs.begin(), dirs.end()});
  for (auto& [log, p] : seg_prepared)
    log->apply(p);
  for (auto& [id, s] : overlay)
    if (is_file_kind(id.first))
      apply_to_index(id, s);
}

void fs_engine::apply_to_index(const record_id& id, const staged_record& s) {
  auto& [kind, key] = id;
  switch (kind) {
    case record_kind::task:
      if (s.removed)
        unindex_task(key);
      else
        index_task(key, s.meta);
      break;
    case record_kind::queue:
      if (s.removed)
        queue_.erase(key);
      else
        queue_.put(s.entry);
      break;
    case record_kind::user:
      if (s.removed)
        users_.erase(key);
      else
        users_.insert(key);
      break;
    default:
      break;
  }
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
  std::vector<std::string> lost;
  auto b = queue_.renew_batch(worker, ids, lease_until, lost);
  if (!b.ops.empty()) {
    auto out = value_or_throw(commit_batches({&b}));
    if (!out[0].ok())
      throw status_error{out[0].st};
  }
  return lost;
}

storage_info fs_engine::do_info() {
  return {"filesystem", root_, false, notes_};
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
  closed_ = true;
  lock_.reset();
}

} // namespace

std::unique_ptr<storage_engine> open_filesystem_engine(const std::string& data_dir,
                                                       bool read_only) {
  if (!read_only)
    return std::make_unique<fs_engine>(data_dir, false);
  return make_read_only(std::make_unique<fs_engine>(data_dir, true),
                        "the filesystem data in " + data_dir);
}

} // namespace orch
