#include "backends/filesystem/segment_log.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "runtime/core/record_scan.hpp"
#include "runtime/core/log.hpp"
#include "runtime/core/codec.hpp"

namespace orch::fs {

namespace {

constexpr const char* tombstone_field = "_deleted";

} // namespace

segment_log::segment_log(std::string dir, std::string corrupted_dir, record_kind kind,
                         std::vector<std::string>& notes,
                         const committed_rounds& committed, bool read_only)
  : dir_(std::move(dir)), corrupted_dir_(std::move(corrupted_dir)), kind_(kind) {
  if (!read_only)
    make_dirs(dir_);
  for (auto& name : read_only ? list_dir_if_exists(dir_) : list_dir(dir_)) {
    if (name[0] == '.' && name.ends_with(".tmp")) {
      if (!read_only)
        ::unlink((dir_ + "/" + name).c_str());  // a rewrite cut off by a crash
    } else if (name.ends_with(".jsonl")) {
      load_segment(name, notes, committed, read_only);
    }
  }
}

void segment_log::index_put(const std::string& key, const location& loc) {
  auto [i, added] = index_.try_emplace(key);
  auto& at = i->second;
  if (!added && grouped() && at.task_id && *at.task_id != loc.task_id)
    unlink_task_key(i);
  bool link = grouped() && (added || !at.task_id || *at.task_id != loc.task_id);
  at.segment = loc.segment;
  at.length = loc.length;
  at.offset = loc.offset;
  at.time = loc.time;
  if (link) {
    auto task = by_task_.try_emplace(loc.task_id).first;
    task->second.push_back(&i->first);
    at.task_id = &task->first;
  }
}

void segment_log::index_erase(const std::string& key) {
  auto i = index_.find(key);
  if (i == index_.end())
    return;
  if (grouped())
    unlink_task_key(i);
  index_.erase(i);
}

void segment_log::unlink_task_key(std::map<std::string, slot>::iterator entry) {
  auto* task_id = entry->second.task_id;
  entry->second.task_id = nullptr;
  if (!task_id)
    return;
  auto task = by_task_.find(*task_id);
  if (task == by_task_.end())
    return;
  auto& keys = task->second;
  keys.erase(std::remove(keys.begin(), keys.end(), &entry->first), keys.end());
  if (keys.empty())
    by_task_.erase(task);
}

std::string segment_log::segment_path(uint32_t id) const {
  return dir_ + "/" + segment_names_[id];
}

uint32_t segment_log::segment_for(micros t) {
  auto day = (t == 0 ? std::string{"1970-01-01"} : format_rfc3339(t).substr(0, 10));
  auto name = day + ".jsonl";
  auto i = segment_ids_.find(name);
  if (i != segment_ids_.end())
    return i->second;
  auto id = static_cast<uint32_t>(segment_names_.size());
  segment_names_.push_back(name);
  segment_sizes_.push_back(0);
  segment_ids_.emplace(name, id);
  return id;
}

std::string segment_log::committed_text(const std::string& name,
                                        const committed_rounds& committed,
                                        std::vector<std::string>& notes, bool read_only) {
  auto path = dir_ + "/" + name;
  auto text = read_file(path);
  if (!committed.present)
    return text;  // no commit log: the file is all there is
  // A segment the log never named was created by a round that never
  // committed, if the log is complete; else nothing is known of it.
  uint64_t limit = committed.complete ? 0 : text.size();
  if (auto files = committed.sizes.find(kind_); files != committed.sizes.end())
    if (auto i = files->second.find(name); i != files->second.end())
      limit = i->second;
  if (text.size() < limit)
    notes.push_back(path + " is shorter (" + std::to_string(text.size())
                    + " bytes) than its committed size (" + std::to_string(limit)
                    + "): the filesystem lost data");
  if (text.size() <= limit)
    return text;
  auto tail = text.size() - limit;
  if (read_only) {
    notes.push_back("ignored " + std::to_string(tail) + " bytes at the end of " + path
                    + " that no committed write accounts for");
  } else {
    // Lines of a round that never committed (never acknowledged), or lines
    // added by hand while the orchestrator was stopped: either way not
    // records, but set aside rather than destroyed.
    // Not corrupted/: after a kill -9 this is expected, not damage. One
    // file per segment, appended to, however many crashes there were.
    auto aside_dir = dir_.substr(0, dir_.rfind('/')) + "/uncommitted";
    make_dirs(aside_dir);
    auto aside = aside_dir + "/" + to_string(kind_) + "-" + name;
    unique_fd fd{::open(aside.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)};
    if (!fd)
      throw io_failure("cannot create", aside, errno);
    auto tail_text = text.substr(limit);
    if (tail_text.back() != '\n')
      tail_text += '\n';  // a torn line stays a line of its own
    write_all(fd.get(), tail_text, aside);
    fsync_all({fd.get()}, {aside});
    fsync_dirs({aside_dir});
    if (::truncate(path.c_str(), static_cast<off_t>(limit)) != 0)
      throw io_failure("cannot cut back", path, errno);
    notes.push_back("moved " + std::to_string(tail) + " bytes at the end of " + path
                    + " that no committed write accounts for (a write cut off by a crash, never "
                    "acknowledged, or lines added by hand) to " + aside);
  }
  text.resize(limit);
  return text;
}

void segment_log::load_segment(const std::string& name, std::vector<std::string>& notes,
                               const committed_rounds& committed, bool read_only) {
  auto id = static_cast<uint32_t>(segment_names_.size());
  segment_names_.push_back(name);
  segment_ids_.emplace(name, id);
  auto path = segment_path(id);
  auto text = committed_text(name, committed, notes, read_only);
  // One pass: keep the lines that decode (checked by the streaming scanner,
  // no JSON tree: start-up reads every line), set the others aside.
  struct line_entry {
    uint64_t pos;                            // in `clean`
    uint32_t length;
    bool tombstone;
    std::string key;
    micros time;
    std::string task_id;
  };
  std::vector<line_entry> entries;
  std::string clean;
  clean.reserve(text.size());
  bool changed = false;
  const std::string_view tombstone_prefix = "{\"_deleted\":";
  uint64_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    if (nl == std::string::npos) {
      // No newline: the last append was cut off before its fsync returned, so
      // nobody was told it succeeded. Drop it.
      notes.push_back("dropped an incomplete last line (" + std::to_string(text.size() - pos)
                      + " bytes) at the end of " + path);
      changed = true;
      break;
    }
    std::string_view line{text.data() + pos, nl - pos};
    line_entry e{clean.size(), static_cast<uint32_t>(line.size()), false, {}, 0, {}};
    std::string err;
    if (line.substr(0, tombstone_prefix.size()) == tombstone_prefix) {
      e.tombstone = true;
      if (!scan_field(line, tombstone_field, e.key) || e.key.empty())
        err = "not a valid deletion mark";
    } else {
      record_summary sum;
      err = scan_record(kind_, line, sum).message();
      e.key = std::move(sum.key);
      e.time = sum.time;
      e.task_id = std::move(sum.task_id);
    }
    if (err.empty()) {
      clean.append(line);
      clean.push_back('\n');
      entries.push_back(std::move(e));
    } else if (read_only) {
      throw status_error{errc::corrupted,
                            "line at byte " + std::to_string(pos) + " of " + path + " is unreadable ("
                              + err + "); nothing was changed. Start the orchestrator on this data "
                              "once (it sets such lines aside), or repair the line"};
    } else {
      make_dirs(corrupted_dir_);
      auto bad = corrupted_dir_ + "/" + to_string(kind_) + "-" + name + "-" + std::to_string(pos)
                 + ".line";
      unique_fd fd{::open(bad.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
      if (!fd)
        throw io_failure("cannot create", bad, errno);
      write_all(fd.get(), std::string{line} + "\n", bad);
      fsync_all({fd.get()}, {bad});
      notes.push_back("moved an unreadable line (" + err + ") at byte " + std::to_string(pos)
                      + " of " + path + " to " + bad);
      changed = true;
    }
    pos = nl + 1;
  }
  if (changed && !read_only) {
    // Rewrite the segment without them, atomically, so they are reported once.
    replace_file(path, dir_ + "/." + name + ".tmp", clean);
    fsync_dirs({corrupted_dir_});  // where the unreadable lines went
  }
  // Index what is left; positions are those in `clean`, which is the file now
  // (or, read-only, the file up to a torn last line).
  for (auto& e : entries) {
    if (e.tombstone)
      index_erase(e.key);
    else
      index_put(e.key, location{id, e.pos, e.length, e.time, std::move(e.task_id)});
  }
  segment_sizes_.push_back(clean.size());
}

std::string segment_log::read(const slot& at) const {
  return read_range(segment_path(at.segment), at.offset, at.length);
}

std::string segment_log::read(const std::string& key) const {
  auto i = index_.find(key);
  if (i == index_.end())
    throw status_error{errc::not_found, not_found_message(kind_, key)};
  return read(i->second);
}

std::vector<std::string> segment_log::keys_of_task(const std::string& task_id) const {
  std::vector<std::string> keys;
  if (auto task = by_task_.find(task_id); task != by_task_.end())
    for (auto* key : task->second)
      keys.push_back(*key);
  std::sort(keys.begin(), keys.end());
  return keys;
}

segment_log::prepared segment_log::plan(const std::vector<staged>& ops) {
  prepared p;
  std::map<uint32_t, std::string> text;
  std::map<uint32_t, std::vector<std::pair<std::string, location>>> locs;
  for (auto& op : ops) {
    if (op.remove) {
      auto i = index_.find(op.key);
      if (i == index_.end())
        continue;
      auto seg = i->second.segment;
      json t{{tombstone_field, op.key}};
      text[seg] += t.dump() + "\n";
      p.removes.push_back(op.key);
      continue;
    }
    auto seg = segment_for(op.time);
    // Start-up replays the segments in day order, the last line of a key
    // winning: a new version must not go to an earlier day's segment than
    // the one holding the current version, or the old one would win.
    if (auto i = index_.find(op.key);
        i != index_.end() && segment_names_[i->second.segment] > segment_names_[seg])
      seg = i->second.segment;
    auto& buf = text[seg];
    location loc{seg, buf.size(), static_cast<uint32_t>(op.json.size()), op.time, op.task_id};
    buf += op.json;
    buf += '\n';
    locs[seg].emplace_back(op.key, loc);
  }
  for (auto& [seg, data] : text) {
    auto from = segment_sizes_[seg];
    for (auto& [key, loc] : locs[seg]) {
      loc.offset += from;
      p.puts.emplace_back(key, loc);
    }
    segment_sizes_[seg] += data.size();
    p.appends.push_back({seg, from, std::move(data)});
  }
  return p;
}

void segment_log::open_files(prepared& p) {
  for (auto& a : p.appends) {
    if (a.fd)
      continue;
    auto path = segment_path(a.segment);
    a.fd = unique_fd{::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644)};
    if (!a.fd)
      throw io_failure("cannot open", path, errno);
  }
}

void segment_log::write(prepared& p) {
  // At the offsets the round committed, not at the end: a write cut off
  // by a failure is written again over itself.
  open_files(p);
  for (; p.written < p.appends.size(); ++p.written) {
    auto& a = p.appends[p.written];
    write_all_at(a.fd.get(), a.text, a.from, segment_path(a.segment));
    a.fd = {};
  }
}

std::map<std::string, uint64_t> segment_log::sizes() const {
  std::map<std::string, uint64_t> out;
  for (uint32_t id = 0; id < segment_names_.size(); ++id)
    out[segment_names_[id]] = segment_sizes_[id];
  return out;
}

void segment_log::apply(prepared& p) {
  for (auto& key : p.removes)
    index_erase(key);
  for (auto& [key, loc] : p.puts)
    index_put(key, loc);
}

void segment_log::rollback(prepared& p) {
  // Nothing was written (write() comes after the commit): the sizes only.
  for (auto& a : p.appends) {
    a.fd = {};
    segment_sizes_[a.segment] = a.from;
  }
}

} // namespace orch::fs
