#include "backends/filesystem/file_io.hpp"

#include "runtime/platform/files/posix_io.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace orch::fs {

status_error io_failure(const std::string& what, const std::string& path, int err) {
  std::string msg = what + " " + path + ": " + std::strerror(err);
  errc code = errc::io_error;
  switch (err) {
    case EACCES:
    case EPERM:
    case EROFS:
      msg += ". The orchestrator needs to read and write its data directory: fix the "
             "permissions (e.g. `chown -R $(id -un) <data-dir>` and `chmod -R u+rwX "
             "<data-dir>`) or pass a --data-dir you can write to";
      break;
    case ENOSPC:
    case EDQUOT:
      code = errc::no_space;
      msg = "no space left on " + path + " (" + what + ": " + std::strerror(err)
            + "): free some space on that filesystem (the orchestrator goes on by itself once "
              "there is room) or move --data-dir to a larger one";
      break;
    case ENOENT:
      code = errc::not_found;
      break;
    default:
      break;
  }
  return {code, msg};
}

void make_dirs(const std::string& path) {
  if (path.empty())
    return;
  std::string cur;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    cur = path.substr(0, pos);
    if (cur.empty())
      continue;
    if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST)
      throw io_failure("cannot create directory", cur, errno);
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    throw io_failure("cannot access", path, errno);
  if (!S_ISDIR(st.st_mode))
    throw status_error{errc::io_error, path + " exists but is not a directory"};
  if (::access(path.c_str(), R_OK | W_OK | X_OK) != 0)
    throw io_failure("cannot write to directory", path, errno);
}

unique_fd& unique_fd::operator=(unique_fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

unique_fd::~unique_fd() {
  if (fd_ >= 0)
    ::close(fd_);
}

std::string read_file(const std::string& path) {
  unique_fd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (!fd)
    throw io_failure("cannot open", path, errno);
  std::string out;
  char buf[65536];
  for (;;) {
    auto n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      throw io_failure("cannot read", path, errno);
    }
    if (n == 0)
      break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string read_range(const std::string& path, uint64_t offset, size_t len) {
  unique_fd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (!fd)
    throw io_failure("cannot open", path, errno);
  std::string out(len, '\0');
  size_t done = 0;
  while (done < len) {
    auto n = ::pread(fd.get(), out.data() + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR)
        continue;
      throw io_failure("cannot read", path, errno);
    }
    if (n == 0)
      throw status_error{errc::corrupted, path + " is shorter than its index says"};
    done += static_cast<size_t>(n);
  }
  return out;
}

std::vector<std::string> list_dir_if_exists(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 && errno == ENOENT)
    return {};
  return list_dir(path);
}

std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> names;
  DIR* d = ::opendir(path.c_str());
  if (!d)
    throw io_failure("cannot list directory", path, errno);
  while (auto* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..")
      names.push_back(std::move(n));
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

void write_all(int fd, const std::string& data, const std::string& path) {
  if (auto ec = posix::write_all(fd, data))
    throw io_failure("cannot write", path, ec.value());
}

void write_all_at(int fd, std::string_view data, uint64_t offset, const std::string& path) {
  while (!data.empty()) {
    auto n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR)
        continue;
      throw io_failure("cannot write", path, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
}

unique_fd create_temp(const std::string& tmp) {
  unique_fd fd{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
  if (!fd)
    throw io_failure("cannot create", tmp, errno);
  return fd;
}

void publish_file(const std::string& path, const std::string& tmp, std::string_view text,
                  unique_fd fd) {
  if (!fd)
    fd = create_temp(tmp);
  write_all_at(fd.get(), text, 0, tmp);
  fd = {};
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    throw io_failure("cannot rename " + tmp + " to", path, errno);
}

void sync_filesystem(const std::string& dir) {
  unique_fd fd{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (!fd)
    throw io_failure("cannot open directory", dir, errno);
  if (::syncfs(fd.get()) != 0)
    throw io_failure("cannot sync the filesystem of", dir, errno);
}

namespace {

/// A few long-lived threads for parallel fsyncs: starting threads for every
/// group commit would cost more than the fsyncs they run.
class io_pool {
public:
  explicit io_pool(size_t threads) {
    for (size_t i = 0; i < threads; ++i)
      workers_.emplace_back([this] { work(); });
  }

  ~io_pool() {
    {
      std::lock_guard<std::mutex> g{m_};
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_)
      t.join();
  }

  /// Runs fn(i) for i in [0, n) on the pool and the calling thread; rethrows
  /// the first status_error.
  void run(size_t n, const std::function<void(size_t)>& fn) {
    if (n == 0)
      return;
    if (n == 1) {
      fn(0);
      return;
    }
    auto job = std::make_shared<batch>(n, fn);
    {
      std::lock_guard<std::mutex> g{m_};
      jobs_.push_back(job);
    }
    cv_.notify_all();
    job->help();
    std::unique_lock<std::mutex> g{job->m};
    job->done_cv.wait(g, [&] { return job->finished == job->n; });
    if (job->failed)
      throw job->first;
  }

private:
  struct batch {
    batch(size_t count, const std::function<void(size_t)>& f) : n(count), fn(f) {}
    size_t n;
    const std::function<void(size_t)>& fn;
    std::atomic<size_t> next{0};
    std::mutex m;
    std::condition_variable done_cv;
    size_t finished = 0;
    bool failed = false;
    status_error first{errc::io_error, ""};

    void help() {
      for (size_t i = next++; i < n; i = next++) {
        std::optional<status_error> err;
        try {
          fn(i);
        } catch (const status_error& e) {
          err = e;
        }
        std::lock_guard<std::mutex> g{m};
        if (err && !failed) {
          failed = true;
          first = *err;
        }
        if (++finished == n)
          done_cv.notify_all();
      }
    }
  };

  void work() {
    for (;;) {
      std::shared_ptr<batch> job;
      {
        std::unique_lock<std::mutex> g{m_};
        cv_.wait(g, [&] { return stop_ || !jobs_.empty(); });
        if (stop_)
          return;
        job = jobs_.front();
        if (job->next >= job->n) {
          jobs_.pop_front();
          continue;
        }
      }
      job->help();
    }
  }

  std::mutex m_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<batch>> jobs_;
  std::vector<std::thread> workers_;
  bool stop_ = false;
};

io_pool& pool() {
  static io_pool p{15};
  return p;
}

template <class F>
void parallel_for(size_t n, size_t, F fn) {
  pool().run(n, fn);
}

constexpr size_t fsync_threads = 16;

} // namespace

void fsync_all(const std::vector<int>& fds, const std::vector<std::string>& paths) {
  parallel_for(fds.size(), fsync_threads, [&](size_t i) {
    if (::fsync(fds[i]) != 0)
      throw io_failure("cannot fsync", paths[i], errno);
  });
}

void fsync_dirs(const std::vector<std::string>& dirs) {
  parallel_for(dirs.size(), fsync_threads, [&](size_t i) {
    unique_fd fd{::open(dirs[i].c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (!fd)
      throw io_failure("cannot open directory", dirs[i], errno);
    if (::fsync(fd.get()) != 0)
      throw io_failure("cannot fsync directory", dirs[i], errno);
  });
}

std::string parent_dir(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string{"."}
         : slash == 0               ? std::string{"/"}
                                    : path.substr(0, slash);
}

void replace_file(const std::string& path, const std::string& tmp, const std::string& text) {
  {
    unique_fd fd{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
    if (!fd)
      throw io_failure("cannot create", tmp, errno);
    write_all(fd.get(), text, tmp);
    fsync_all({fd.get()}, {tmp});
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    throw io_failure("cannot replace", path, errno);
  fsync_dirs({parent_dir(path)});
}

lock_file::lock_file(const std::string& path, const std::string& what, mode m) {
  if (m == shared) {
    fd_ = unique_fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (!fd_ && errno == ENOENT)
      return;
  } else {
    fd_ = unique_fd{::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)};
  }
  if (!fd_)
    throw io_failure("cannot open lock file", path, errno);
  if (::flock(fd_.get(), (m == shared ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
    int err = errno;
    if (err == EWOULDBLOCK) {
      std::string holder;
      try {
        holder = read_file(path);
      } catch (...) {
      }
      while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' '))
        holder.pop_back();
      throw status_error{
        errc::locked, what + " is in use by another orchestrator process"
                        + (holder.empty() ? std::string{} : " (pid " + holder + ")")
                        + " holding " + path
                        + ". Stop that process first, or use a different --data-dir"};
    }
    throw io_failure("cannot lock", path, err);
  }
  if (m == shared)
    return;
  auto pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_.get(), 0) == 0)
    (void) ::pwrite(fd_.get(), pid.data(), pid.size(), 0);
}

lock_file::~lock_file() {
  if (fd_)
    ::flock(fd_.get(), LOCK_UN);
}

} // namespace orch::fs
