#include "backends/filesystem/commit_log.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "runtime/core/log.hpp"

namespace orch::fs {

using json = nlohmann::json;

namespace {

/// Past this size the next round rewrites the log as one checkpoint line: a
/// start-up reads it whole, and a round line is ~100-300 bytes.
constexpr uint64_t checkpoint_limit = 4u << 20;

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
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    if (nl == std::string::npos)
      break;  // the commit line of a round cut off by a crash: it never committed
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
      notes.push_back("skipped a damaged line at byte " + std::to_string(at) + " of " + path);
      first = false;
      continue;
    }
    bool checkpoint = line.value("checkpoint", false);
    if (checkpoint) {
      st.sizes.clear();
      st.complete = first;
    }
    first = false;
    st.present = true;
    st.last_round = round->get<uint64_t>();
    st.last_deletes = std::move(deletes);
    for (auto& [kind, files] : sizes)
      for (auto& [name, size] : files)
        st.sizes[kind][name] = size;
  }
  if (!st.present && !text.empty())
    notes.push_back(path + " has no readable line; the data files are taken as they are found");
  return st;
}

commit_log::commit_log(std::string path, uint64_t last_round, const segment_sizes& all)
  : path_(std::move(path)) {
  checkpoint(last_round, all);
}

void commit_log::checkpoint(uint64_t last_round, const segment_sizes& all) {
  json line{{"checkpoint", true}, {"round", last_round}, {"segments", sizes_json(all)}};
  auto text = line.dump() + "\n";
  replace_file(path_, parent_dir(path_) + "/.commit.log.tmp", text);
  unique_fd fd{::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC)};
  if (!fd)
    throw io_failure("cannot open", path_, errno);
  fd_ = std::move(fd);
  size_ = text.size();
}

bool commit_log::large() const {
  return size_ > checkpoint_limit;
}

void commit_log::commit(uint64_t round, const deleted_keys& deletes,
                        const segment_sizes& touched) {
  json line{{"round", round}};
  if (!deletes.empty()) {
    auto& d = line["deletes"];
    for (auto& [kind, keys] : deletes)
      d[to_string(kind)] = keys;
  }
  if (!touched.empty())
    line["segments"] = sizes_json(touched);
  append(line.dump() + "\n");
}

void commit_log::append(const std::string& line) {
  try {
    write_all(fd_.get(), line, path_);
    if (::fdatasync(fd_.get()) != 0)
      throw io_failure("cannot fsync", path_, errno);
  } catch (const status_error&) {
    // Not committed: what reached the file must not read as a commit later.
    if (::ftruncate(fd_.get(), static_cast<off_t>(size_)) != 0)
      log_error("filesystem", "cannot cut " + path_ + " back after a failed commit: "
                                + std::string{std::strerror(errno)});
    throw;
  }
  size_ += line.size();
}

} // namespace orch::fs
