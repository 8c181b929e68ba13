// After an unclean stop: the rounds the commit log holds since its last
// checkpoint are written again from it. Their files and segment lines were
// written without fsync after each round committed, so a process killed
// mid-round, or a machine that lost its page cache, may have left any of
// them missing, stale or torn; the log has them all. What already matches is
// left alone, so a start-up after a plain kill -9 writes (almost) nothing.
#include <cerrno>
#include <map>

#include <fcntl.h>
#include <unistd.h>

#include "backends/filesystem/fs_engine_impl.hpp"

namespace orch::fs {

namespace {

/// `len` bytes at `offset` of `path`, or fewer if the file is shorter or
/// absent: what is there to compare with.
std::string bytes_at(const std::string& path, uint64_t offset, size_t len) {
  fs::unique_fd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (!fd) {
    if (errno == ENOENT)
      return {};
    throw fs::io_failure("cannot open", path, errno);
  }
  std::string out(len, '\0');
  size_t done = 0;
  while (done < len) {
    auto n = ::pread(fd.get(), out.data() + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      throw fs::io_failure("cannot read", path, errno);
    if (n == 0)
      break;
    done += static_cast<size_t>(n);
  }
  out.resize(done);
  return out;
}

std::string file_or_empty(const std::string& path) {
  try {
    return read_file(path);
  } catch (const status_error& e) {
    if (e.code() == errc::not_found)
      return {};
    throw;
  }
}

} // namespace

status_error unfinished_write(const std::string& path) {
  return status_error{errc::corrupted,
                      path + " belongs to a write that committed but was cut off before it "
                      "was finished; nothing was changed. Start the orchestrator on this data "
                      "once (it finishes the write), then try again"};
}

void fs_engine::replay(const committed_rounds& committed) {
  if (committed.logged.empty())
    return;
  // Each file's last version (nullptr: deleted); a later round wins.
  std::map<record_id, const std::string*> files;
  for (auto& r : committed.logged) {
    for (auto& f : r.files)
      files[{f.kind, f.key}] = &f.json;
    for (auto& [kind, keys] : r.deletes)
      for (auto& key : keys)
        files[{kind, key}] = nullptr;
  }
  size_t rewritten = 0;
  for (auto& [id, json] : files) {
    auto& [kind, key] = id;
    auto path = file_of(kind, key);
    if (!json) {
      if (::access(path.c_str(), F_OK) != 0)
        continue;
      if (read_only_)
        throw unfinished_write(path);
      if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        throw fs::io_failure("cannot finish the deletion of", path, errno);
      ++rewritten;
      continue;
    }
    auto text = file_text(*json);
    if (file_or_empty(path) == text)
      continue;
    if (read_only_)
      throw unfinished_write(path);
    fs::publish_file(path, temp_file_of(kind, key, committed.last_round), text);
    ++rewritten;
  }
  // Segment lines in the order the rounds appended them, each at its offset.
  for (auto& r : committed.logged)
    for (auto& a : r.appends) {
      auto path = dir_of(a.kind) + "/" + a.segment;
      if (bytes_at(path, a.from, a.text.size()) == a.text)
        continue;
      if (read_only_)
        throw unfinished_write(path);
      fs::unique_fd fd{::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644)};
      if (!fd)
        throw fs::io_failure("cannot open", path, errno);
      fs::write_all_at(fd.get(), a.text, a.from, path);
      ++rewritten;
    }
  if (rewritten > 0)
    notes_.push_back("the last stop was not clean: " + std::to_string(rewritten)
                     + " files and segment writes of the last "
                     + std::to_string(committed.logged.size())
                     + " rounds were missing or incomplete and were written again from "
                     + commit_log_path());
}

} // namespace orch::fs
