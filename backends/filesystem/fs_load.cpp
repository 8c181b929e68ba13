// Start-up: every record file is read and checked (on a few threads, with the
// streaming scanner: no JSON tree), unreadable ones are moved aside, and the
// indexes are built.
#include <algorithm>
#include <optional>
#include <set>
#include <system_error>
#include <thread>

#include <unistd.h>

#include "backends/filesystem/fs_engine_impl.hpp"
#include "runtime/core/record_scan.hpp"

namespace orch::fs {

/// What one file holds: its summary, or why it is not a record (or
/// nothing, if it vanished or is to be skipped).
struct fs_engine::loaded_file {
  std::string name;
  std::string problem;
  bool skip = false;
  std::optional<status_error> unreadable;  // stops the start-up (permissions, I/O)
  record_summary sum;
};

namespace {

/// Files checked at a time: few summaries wait to be indexed (all of them at
/// once were the largest part of a big directory's start-up peak memory).
constexpr size_t chunk_size = 4096;

} // namespace

/// The record files of a kind; temp files of writes that never committed
/// (never acknowledged) are removed on the way, those of a round that
/// committed but was cut off are put in place.
std::vector<std::string> fs_engine::record_files(record_kind k, const committed_rounds& committed) {
  auto dir = dir_of(k);
  auto listing = read_only_ ? list_dir_if_exists(dir) : list_dir(dir);
  finish_round(k, committed, listing);
  std::vector<std::string> names;
  for (auto& name : listing) {
    if (name.size() > 4 && name[0] == '.' && name.ends_with(".tmp")) {
      if (!read_only_)
        ::unlink((dir + "/" + name).c_str());
      continue;
    }
    names.push_back(std::move(name));
  }
  return names;
}

void fs_engine::finish_round(record_kind k, const committed_rounds& committed,
                             std::vector<std::string>& names) {
  // A round that carries its data was written again by replay() (its temp
  // files may be torn: they are removed with the others).
  if (!committed.present || committed.last_logged)
    return;
  auto unfinished = unfinished_write;
  // Renames: the temp files named after the last round. Each is renamed
  // once: a finished one is no longer there.
  auto suffix = ".json." + std::to_string(committed.last_round) + ".tmp";
  std::set<std::string> present;
  size_t renamed = 0, deleted = 0;
  for (auto& name : names) {
    if (name.size() <= suffix.size() + 1 || name[0] != '.' || !name.ends_with(suffix)) {
      present.insert(name);
      continue;
    }
    auto key = name.substr(1, name.size() - 1 - suffix.size());
    auto from = dir_of(k) + "/" + name;
    if (!is_valid_key(k, key)) {
      present.insert(name);
      continue;
    }
    if (read_only_)
      throw unfinished(from);
    if (::rename(from.c_str(), file_of(k, key).c_str()) != 0)
      throw fs::io_failure("cannot finish the rename of " + from + " to", file_of(k, key), errno);
    present.insert(key + ".json");
    ++renamed;
  }
  if (auto d = committed.last_deletes.find(k); d != committed.last_deletes.end())
    for (auto& key : d->second) {
      if (!present.erase(key + ".json"))
        continue;
      if (read_only_)
        throw unfinished(file_of(k, key));
      if (::unlink(file_of(k, key).c_str()) != 0 && errno != ENOENT)
        throw fs::io_failure("cannot finish the deletion of", file_of(k, key), errno);
      ++deleted;
    }
  if (renamed + deleted == 0)
    return;
  names.assign(present.begin(), present.end());
  fs::fsync_dirs({dir_of(k)});
  notes_.push_back("finished round " + std::to_string(committed.last_round) + " in " + dir_of(k)
                   + ", cut off by a crash after it committed: " + std::to_string(renamed)
                   + " files put in place, " + std::to_string(deleted) + " deleted");
}

void fs_engine::check_file(record_kind k, loaded_file& f) const {
  auto& name = f.name;
  if (name.size() <= 5 || !name.ends_with(".json")) {
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
    text = read_file(dir_of(k) + "/" + name);
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
}

/// Reading and checking every file is what a large data directory's
/// start-up costs: it runs on a few threads. Nothing may escape a worker
/// (that would end the process), and every worker is joined however this is
/// left.
void fs_engine::check_files(record_kind k, std::vector<loaded_file>& files) const {
  size_t threads = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4);
  if (files.size() < 256)
    threads = 1;
  auto dir = dir_of(k);
  auto check_range = [&](size_t from) {
    for (size_t i = from; i < files.size(); i += threads) {
      auto st = catch_status([&] { check_file(k, files[i]); });
      if (!st) {
        files[i].skip = true;
        files[i].unreadable = status_error{errc::io_error, dir + "/" + files[i].name + ": "
                                                             + st.message()};
      }
    }
  };
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

void fs_engine::index_files(record_kind k, std::vector<loaded_file>& files) {
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
        index_task(key,
                   task_meta{f.sum.status, f.sum.created_at, f.sum.revision,
                             std::move(f.sum.dependencies)},
                   std::move(f.sum.search));
        break;
      case record_kind::queue:
        queue_.put(f.sum.entry);
        break;
      default:
        names_of(k).insert(key);
        break;
    }
  }
}

void fs_engine::load_file_kind(record_kind k, const committed_rounds& committed) {
  auto names = record_files(k, committed);
  for (size_t first = 0; first < names.size(); first += chunk_size) {
    std::vector<loaded_file> files;
    files.reserve(std::min(chunk_size, names.size() - first));
    for (size_t i = first; i < names.size() && i < first + chunk_size; ++i)
      files.push_back({std::move(names[i]), {}, false, {}, {}});
    check_files(k, files);
    index_files(k, files);
  }
}

} // namespace orch::fs
