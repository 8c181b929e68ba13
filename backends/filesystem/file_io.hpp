// POSIX file primitives for the filesystem backend: durable writes (temp file,
// fsync, rename, directory fsync), an exclusive lock file, parallel fsync, and
// error messages that name the path and say how to fix the problem.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "backends/engine/storage_engine.hpp"

namespace orch::fs {

/// status_error for a failed system call on `path`, with a hint for
/// permission and space problems. `what` is e.g. "cannot create".
status_error io_failure(const std::string& what, const std::string& path, int err);

/// mkdir -p; throws status_error.
void make_dirs(const std::string& path);

/// Whole file; throws status_error (errc::not_found if it does not exist).
std::string read_file(const std::string& path);

/// Reads `len` bytes at `offset`.
std::string read_range(const std::string& path, uint64_t offset, size_t len);

/// Names (not paths) of the entries of a directory, sorted.
std::vector<std::string> list_dir(const std::string& path);

/// list_dir(), but a directory that does not exist has no entries.
std::vector<std::string> list_dir_if_exists(const std::string& path);

/// An open file descriptor that closes itself.
class unique_fd {
public:
  unique_fd() = default;
  explicit unique_fd(int fd) : fd_(fd) {}
  unique_fd(unique_fd&& other) noexcept : fd_(other.release()) {}
  unique_fd& operator=(unique_fd&& other) noexcept;
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd();
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  explicit operator bool() const { return fd_ >= 0; }

private:
  int fd_ = -1;
};

/// Writes all of `data` to `fd`; throws status_error naming `path`.
void write_all(int fd, const std::string& data, const std::string& path);

/// Writes all of `data` at `offset` of `fd` (pwrite); throws status_error naming `path`.
void write_all_at(int fd, std::string_view data, uint64_t offset, const std::string& path);

/// Creates (or empties) the temp file `tmp`; throws status_error.
unique_fd create_temp(const std::string& tmp);

/// Writes `text` as the whole content of `path`, through the temp file `tmp`
/// in the same directory (`fd` if it is open, else created) renamed over it:
/// a reader never sees half a file. Nothing is fsynced (the caller's log
/// makes it durable).
void publish_file(const std::string& path, const std::string& tmp, std::string_view text,
                  unique_fd fd = {});

/// syncfs(2) of the filesystem holding `dir`: every file and directory
/// change written there so far is durable when it returns.
void sync_filesystem(const std::string& dir);

/// fsync of many descriptors at once on a few threads: on ext4 and XFS
/// concurrent fsyncs share journal commits, which is the filesystem
/// backend's group commit. `paths[i]` names `fds[i]` in errors.
void fsync_all(const std::vector<int>& fds, const std::vector<std::string>& paths);

/// Opens the directory and fsyncs it (makes renames and unlinks durable).
void fsync_dirs(const std::vector<std::string>& dirs);

/// The directory part of `path` ("." for a bare name, "/" for a file in /).
std::string parent_dir(const std::string& path);

/// Replaces `path` with `text` atomically and durably: written to `tmp` (in
/// the same directory), fsynced, renamed over `path`, the directory fsynced.
/// A crash leaves the old file or the new one, never a mix.
void replace_file(const std::string& path, const std::string& tmp, const std::string& text);

/// Advisory lock (flock) on `path`, released when the process exits, even by
/// kill -9. Exclusive for a process that writes (our pid is written into the
/// file); shared for a reader that must not change anything (a migration
/// source): it still keeps a writer out, and two readers may share it.
class lock_file {
public:
  enum mode { exclusive, shared };
  /// Throws status_error(errc::locked) naming the holder's pid. A shared
  /// lock on a file that does not exist holds nothing (and creates nothing).
  lock_file(const std::string& path, const std::string& what, mode m = exclusive);
  ~lock_file();
  lock_file(const lock_file&) = delete;
  lock_file& operator=(const lock_file&) = delete;

private:
  unique_fd fd_;
};

} // namespace orch::fs
