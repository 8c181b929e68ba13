#include "backends/filesystem/commit_log.hpp"

#include <cerrno>
#include <cstring>
#include <future>
#include <optional>

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <nlohmann/json.hpp>

#include "runtime/core/log.hpp"

namespace orch::fs {

using json = nlohmann::json;

namespace {

uint32_t crc_of(std::string_view bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes at most uInt bytes at a time.
  while (!bytes.empty()) {
    auto n = static_cast<uInt>(std::min<size_t>(bytes.size(), 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data()), n);
    bytes.remove_prefix(n);
  }
  return static_cast<uint32_t>(crc);
}

bool is_file_kind_name(record_kind k) {
  return k == record_kind::task || k == record_kind::queue || k == record_kind::user
         || k == record_kind::schedule || k == record_kind::workflow;
}

bool is_segment_kind(record_kind k) {
  return k == record_kind::audit || k == record_kind::metric || k == record_kind::event;
}

bool is_segment_name(const std::string& name) {
  return name.size() > 6 && name[0] != '.' && name.find('/') == std::string::npos
         && name.compare(name.size() - 6, 6, ".jsonl") == 0;
}

json sizes_json(const segment_sizes& sizes) {
  json out = json::object();
  for (auto& [kind, files] : sizes)
    for (auto& [name, size] : files)
      out[to_string(kind)][name] = size;
  return out;
}

/// The sizes of a line, checked: a damaged log must not name a file outside
/// the segment folders or a size that is not one. False if anything is off.
bool read_sizes(const json& j, segment_sizes& out) {
  if (!j.is_object())
    return false;
  for (auto& [kind_name, files] : j.items()) {
    record_kind kind;
    if (!parse_record_kind(kind_name, kind) || !is_segment_kind(kind) || !files.is_object())
      return false;
    for (auto& [name, size] : files.items()) {
      if (!is_segment_name(name) || !size.is_number_unsigned())
        return false;
      out[kind][name] = size.get<uint64_t>();
    }
  }
  return true;
}

bool read_deletes(const json& j, deleted_keys& out) {
  if (!j.is_object())
    return false;
  for (auto& [kind_name, keys] : j.items()) {
    record_kind kind;
    if (!parse_record_kind(kind_name, kind) || is_segment_kind(kind) || !keys.is_array())
      return false;
    for (auto& key : keys) {
      if (!key.is_string() || !is_valid_key(kind, key.get<std::string>()))
        return false;
      out[kind].push_back(key.get<std::string>());
    }
  }
  return true;
}


} // namespace

namespace {

/// The data of a block whose header `line` describes, taken from `payload`
/// (exactly its bytes): false if the layout is not one this log writes or
/// names a key or segment it may not.
bool read_data(const json& data, std::string_view payload, logged_round& out) {
  auto files = data.find("files");
  auto appends = data.find("appends");
  if (files == data.end() || !files->is_array() || appends == data.end() || !appends->is_array())
    return false;
  size_t at = 0;
  auto take = [&](const json& len, std::string& into) {
    if (!len.is_number_unsigned() || len.get<uint64_t>() > payload.size() - at)
      return false;
    auto n = static_cast<size_t>(len.get<uint64_t>());
    into.assign(payload.substr(at, n));
    at += n;
    return true;
  };
  for (auto& f : *files) {
    record_kind kind;
    if (!f.is_array() || f.size() != 3 || !f[0].is_string() || !f[1].is_string()
        || !parse_record_kind(f[0].get<std::string>(), kind) || !is_file_kind_name(kind)
        || !is_valid_key(kind, f[1].get<std::string>()))
      return false;
    logged_file file{kind, f[1].get<std::string>(), {}};
    if (!take(f[2], file.json))
      return false;
    out.files.push_back(std::move(file));
  }
  for (auto& a : *appends) {
    record_kind kind;
    if (!a.is_array() || a.size() != 4 || !a[0].is_string() || !a[1].is_string()
        || !parse_record_kind(a[0].get<std::string>(), kind) || !is_segment_kind(kind)
        || !is_segment_name(a[1].get<std::string>()) || !a[2].is_number_unsigned())
      return false;
    logged_append append{kind, a[1].get<std::string>(), a[2].get<uint64_t>(), {}};
    if (!take(a[3], append.text))
      return false;
    out.appends.push_back(std::move(append));
  }
  return at == payload.size();
}

} // namespace

committed_rounds commit_log::read(const std::string& path, std::vector<std::string>& notes) {
  committed_rounds st;
  std::string text;
  try {
    text = read_file(path);
  } catch (const status_error& e) {
    if (e.code() == errc::not_found)
      return st;
    throw;
  }
  size_t pos = 0;
  bool first = true;
  auto damaged = [&](size_t at, const char* what) {
    notes.push_back(std::string{"skipped a damaged "} + what + " at byte " + std::to_string(at)
                    + " of " + path);
    first = false;
  };
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    if (nl == std::string::npos)
      break;  // the header of a round cut off by a crash: it never committed
    auto line = json::parse(text.begin() + static_cast<long>(pos),
                            text.begin() + static_cast<long>(nl), nullptr, false);
    auto at = pos;
    pos = nl + 1;
    segment_sizes sizes;
    deleted_keys deletes;
    auto round = line.is_object() ? line.find("round") : line.end();
    bool ok = round != line.end() && round->is_number_unsigned()
              && read_sizes(line.value("segments", json::object()), sizes)
              && read_deletes(line.value("deletes", json::object()), deletes);
    if (!ok) {
      damaged(at, "line");
      continue;
    }
    std::optional<logged_round> logged;
    if (auto data = line.find("data"); data != line.end()) {
      auto bytes = data->is_object() ? data->find("bytes") : data->end();
      auto crc = data->is_object() ? data->find("crc") : data->end();
      if (bytes == data->end() || !bytes->is_number_unsigned() || crc == data->end()
          || !crc->is_number_unsigned()) {
        damaged(at, "round");
        continue;
      }
      auto n = bytes->get<uint64_t>();
      if (n >= text.size() - pos)
        break;  // cut off before its end: it never committed
      std::string_view payload{text.data() + pos, static_cast<size_t>(n)};
      bool whole = text[pos + n] == '\n' && crc_of(payload) == crc->get<uint64_t>();
      logged.emplace();
      if (!whole || !read_data(*data, payload, *logged)) {
        pos += n + 1;
        if (pos >= text.size())
          break;  // the last block, torn by a crash (never acknowledged)
        damaged(at, "round");
        continue;
      }
      pos += n + 1;
      logged->round = round->get<uint64_t>();
      logged->deletes = deletes;
    }
    auto mark = line.find("checkpoint");
    bool checkpoint = mark != line.end() && mark->is_boolean() && mark->get<bool>();
    if (checkpoint) {
      st.sizes.clear();
      st.logged.clear();
      st.complete = first;
    }
    first = false;
    st.present = true;
    st.last_round = round->get<uint64_t>();
    st.last_deletes = std::move(deletes);
    st.last_logged = logged.has_value();
    if (logged)
      st.logged.push_back(std::move(*logged));
    for (auto& [kind, files] : sizes)
      for (auto& [name, size] : files)
        st.sizes[kind][name] = size;
  }
  if (!st.present && !text.empty())
    notes.push_back(path + " has no readable line; the data files are taken as they are found");
  return st;
}

/// A checkpoint under way: the sync on its thread, and what the log becomes
/// once it is done.
struct commit_log::pending_checkpoint {
  uint64_t last_round = 0;
  segment_sizes sizes;
  uint64_t offset = 0;                       // where the rounds after it begin
  std::future<void> synced;
};

commit_log::commit_log(std::string path, uint64_t last_round, const segment_sizes& all,
                       uint64_t limit)
  : path_(std::move(path)), limit_(limit) {
  checkpoint(last_round, all);
}

commit_log::~commit_log() {
  if (pending_ && pending_->synced.valid())
    pending_->synced.wait();
}

void commit_log::checkpoint(uint64_t last_round, const segment_sizes& all) {
  if (pending_) {
    if (pending_->synced.valid())
      pending_->synced.wait();
    pending_.reset();
  }
  sync_filesystem(parent_dir(path_));
  rewrite(last_round, all, {});
}

void commit_log::rewrite(uint64_t last_round, const segment_sizes& all, const std::string& tail) {
  json line{{"checkpoint", true}, {"round", last_round}, {"segments", sizes_json(all)}};
  auto text = line.dump() + "\n" + tail;
  replace_file(path_, parent_dir(path_) + "/.commit.log.tmp", text);
  unique_fd fd{::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC)};
  if (!fd)
    throw io_failure("cannot open", path_, errno);
  fd_ = std::move(fd);
  size_ = text.size();
}

bool commit_log::large() const {
  return !pending_ && size_ > limit_;
}

void commit_log::begin_checkpoint(uint64_t last_round, segment_sizes all) {
  pending_ = std::make_unique<pending_checkpoint>();
  pending_->last_round = last_round;
  pending_->sizes = std::move(all);
  pending_->offset = size_;
  pending_->synced = std::async(std::launch::async,
                                [dir = parent_dir(path_)] { sync_filesystem(dir); });
}

void commit_log::finish_checkpoint(bool wait) {
  if (!pending_)
    return;
  auto& sync = pending_->synced;
  if (!wait && sync.wait_for(std::chrono::seconds{0}) != std::future_status::ready)
    return;
  auto p = std::move(pending_);
  try {
    p->synced.get();
    rewrite(p->last_round, p->sizes, read_range(path_, p->offset, size_ - p->offset));
  } catch (const status_error& e) {
    // The log stays whole and keeps growing; the next round past the limit
    // tries again.
    log_error("filesystem", "a checkpoint of the commit log failed (the log is kept and "
                            "the next one tries again): " + e.message());
  }
}

void commit_log::commit(uint64_t round, const deleted_keys& deletes,
                        const std::vector<round_file>& files,
                        const std::vector<round_append>& appends) {
  json line{{"round", round}};
  if (!deletes.empty()) {
    auto& d = line["deletes"];
    for (auto& [kind, keys] : deletes)
      d[to_string(kind)] = keys;
  }
  std::string payload;
  size_t bytes = 0;
  for (auto& f : files)
    bytes += f.json.size();
  for (auto& a : appends)
    bytes += a.text.size();
  payload.reserve(bytes);
  auto file_list = json::array();
  for (auto& f : files) {
    file_list.push_back({to_string(f.kind), f.key, f.json.size()});
    payload += f.json;
  }
  auto append_list = json::array();
  segment_sizes touched;
  for (auto& a : appends) {
    append_list.push_back({to_string(a.kind), a.segment, a.from, a.text.size()});
    payload += a.text;
    auto& end = touched[a.kind][std::string{a.segment}];
    end = std::max<uint64_t>(end, a.from + a.text.size());
  }
  if (!touched.empty())
    line["segments"] = sizes_json(touched);
  line["data"] = {{"bytes", payload.size()}, {"crc", crc_of(payload)}, {"files", file_list},
                  {"appends", append_list}};
  append(line.dump() + "\n" + payload + "\n");
}

void commit_log::append(const std::string& block) {
  try {
    write_all(fd_.get(), block, path_);
    if (::fdatasync(fd_.get()) != 0)
      throw io_failure("cannot fsync", path_, errno);
  } catch (const status_error&) {
    // Not committed: what reached the file must not read as a commit later.
    if (::ftruncate(fd_.get(), static_cast<off_t>(size_)) != 0)
      log_error("filesystem", "cannot cut " + path_ + " back after a failed commit: "
                                + std::string{std::strerror(errno)});
    throw;
  }
  size_ += block.size();
}

} // namespace orch::fs
