#include "runtime/platform/process/child_process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <map>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/platform/process/open_files.hpp"

extern char** environ;

namespace orch {

namespace {

/// After the main process exits, how long to keep reading from pipes that a
/// process outside its group (it called setsid) may still hold open.
constexpr int drain_limit_ms = 1000;
constexpr int poll_interval_ms = 100;

class bounded_buffer {
public:
  explicit bounded_buffer(uint64_t limit) : limit_(limit) {}

  void append(const char* data, size_t n) {
    auto room = limit_ > text_.size() ? limit_ - text_.size() : 0;
    auto take = std::min<uint64_t>(room, n);
    text_.append(data, take);
    dropped_ += n - take;
  }

  std::string finish() {
    if (dropped_ > 0)
      text_ += "\n[... output truncated: " + std::to_string(dropped_)
               + " more bytes were discarded (limit " + std::to_string(limit_) + " bytes) ...]\n";
    return std::move(text_);
  }

private:
  uint64_t limit_;
  uint64_t dropped_ = 0;
  std::string text_;
};

std::vector<std::string> build_environment(const std::map<std::string, std::string>& overrides) {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos)
      env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (auto& [k, v] : overrides)
    env[k] = v;
  std::vector<std::string> out;
  out.reserve(env.size());
  for (auto& [k, v] : env)
    out.push_back(k + "=" + v);
  return out;
}

} // namespace

std::string find_program(const std::string& name, const std::string& path_var) {
  if (name.empty())
    return {};
  if (name.find('/') != std::string::npos)
    return ::access(name.c_str(), X_OK) == 0 ? name : std::string{};
  size_t pos = 0;
  while (pos <= path_var.size()) {
    auto end = path_var.find(':', pos);
    if (end == std::string::npos)
      end = path_var.size();
    auto dir = path_var.substr(pos, end - pos);
    if (dir.empty())
      dir = ".";
    auto candidate = dir + "/" + name;
    struct stat st;
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)
        && ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    pos = end + 1;
  }
  return {};
}

std::string describe_signal(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return "killed by signal " + std::to_string(sig)
         + (abbrev ? std::string{" (SIG"} + abbrev + ")" : std::string{});
}

namespace {

/// A pipe whose ends close themselves unless released.
struct pipe_pair {
  int read = -1;
  int write = -1;
  pipe_pair() = default;
  pipe_pair(const pipe_pair&) = delete;
  pipe_pair& operator=(const pipe_pair&) = delete;
  ~pipe_pair() {
    close_read();
    close_write();
  }
  void close_read() {
    if (read >= 0)
      ::close(read);
    read = -1;
  }
  void close_write() {
    if (write >= 0)
      ::close(write);
    write = -1;
  }
  int release_read() {
    int fd = read;
    read = -1;
    return fd;
  }
};

status open_pipe(pipe_pair& p) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return {errc::io_error, std::string{"cannot create a pipe: "} + std::strerror(errno)};
  p.read = fds[0];
  p.write = fds[1];
  return {};
}

/// What to exec: the program found on PATH and the environment it gets.
struct launch_plan {
  std::string program;
  std::vector<std::string> env;
};

result<launch_plan> plan_launch(const exec_spec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty())
    return status{errc::invalid, "no command to run"};
  if (!spec.workdir.empty()) {
    struct stat st;
    if (::stat(spec.workdir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      return status{errc::invalid, "working directory '" + spec.workdir
                                     + "' does not exist or is not a directory"};
  }
  launch_plan plan;
  plan.env = build_environment(spec.env);
  std::string path_var;
  for (auto& kv : plan.env)
    if (kv.rfind("PATH=", 0) == 0)
      path_var = kv.substr(5);
  plan.program = find_program(spec.argv[0], path_var);
  if (plan.program.empty())
    return status{errc::invalid,
                  spec.argv[0].find('/') != std::string::npos
                    ? "command '" + spec.argv[0] + "' does not exist or is not executable"
                    : "command '" + spec.argv[0] + "' not found on PATH (" + path_var + ")"};
  return plan;
}

/// The pipes of a new child: its stdout and stderr, and the one it reports
/// a failed exec through (closed by a successful exec).
struct child_pipes {
  pipe_pair out;
  pipe_pair err;
  pipe_pair exec_status;
};

/// vfork + exec. vfork + exec rather than posix_spawn: only a child of our
/// own can ask to be killed when the orchestrator dies (PR_SET_PDEATHSIG), so
/// a crashed orchestrator leaves no task running that another instance
/// reruns. And vfork rather than fork: a fork copies the page tables of a
/// process that may hold hundreds of MiB (measured: most of the CPU of
/// running short tasks went to copying and unmapping them). The child
/// borrows our memory and stack until it execs, so between the two it only
/// makes system calls on memory it does not change, and never returns.
/// Every signal stays blocked until the child has reset all handlers: one of
/// ours must never run in it (it would run on our memory).
/// Returns the pid, or -errno if vfork failed.
pid_t spawn_child(const launch_plan& plan, const exec_spec& spec, child_pipes& pipes) {
  std::vector<char*> argv;
  for (auto& a : spec.argv)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : plan.env)
    envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  // (volatile: live across vfork, which -Wclobbered rightly warns about)
  const char* volatile workdir = spec.workdir.empty() ? nullptr : spec.workdir.c_str();
  const char* path = plan.program.c_str();
  int out_fd = pipes.out.write, err_fd = pipes.err.write, status_fd = pipes.exec_status.write;
  pid_t parent = ::getpid();
  // Tasks get the open-file limit the orchestrator was started with, not
  // the one it raised for its own connections.
  rlimit files = inherited_open_files_limit();
  sigset_t all, before;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &before);
  pid_t pid = ::vfork();
  if (pid == 0) {
    auto fail = [&](int code) {
      (void) ::write(status_fd, &code, sizeof code);
      ::_exit(127);
    };
    ::setpgid(0, 0);  // its own process group: a timeout or cancel kills all of it
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent)
      ::_exit(127);  // the orchestrator died before prctl took effect
    struct sigaction dfl{};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig)
      ::sigaction(sig, &dfl, nullptr);  // fails harmlessly for SIGKILL/SIGSTOP
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull < 0 || ::dup2(devnull, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0)
      fail(errno);
    if (devnull > 2)
      ::close(devnull);
    if (workdir && ::chdir(workdir) != 0)
      fail(errno);
    (void) ::setrlimit(RLIMIT_NOFILE, &files);
    ::execve(path, argv.data(), envp.data());
    fail(errno);
  }
  int fork_errno = pid < 0 ? errno : 0;  // (the child may have set errno: shared memory)
  ::pthread_sigmask(SIG_SETMASK, &before, nullptr);
  if (pid < 0)
    return -fork_errno;
  ::setpgid(pid, pid);  // also here, so a signal right after start reaches the group
  return pid;
}

/// 0 if the child exec'd, else the errno of its failed exec (it has exited
/// and is reaped here).
int read_exec_status(int status_fd, pid_t pid) {
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(status_fd, &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  if (n != sizeof child_errno)
    return 0;  // closed by the exec
  ::waitpid(pid, nullptr, 0);  // it exited with 127
  return child_errno;
}

} // namespace

result<std::shared_ptr<child_process>> child_process::start(const exec_spec& spec) {
  auto plan = plan_launch(spec);
  if (!plan)
    return plan.error();
  child_pipes pipes;
  for (auto* p : {&pipes.out, &pipes.err, &pipes.exec_status})
    if (auto st = open_pipe(*p); !st)
      return st;
  auto started_at = now_us();
  pid_t pid = spawn_child(*plan, spec, pipes);
  // Our copies of the child's ends: the pipes end when the child's do.
  pipes.out.close_write();
  pipes.err.close_write();
  pipes.exec_status.close_write();
  int rc = pid < 0 ? -pid : read_exec_status(pipes.exec_status.read, pid);
  if (rc != 0)
    return status{errc::invalid, "cannot start '" + plan->program + "': " + std::strerror(rc)};
  auto p = std::shared_ptr<child_process>(new child_process);
  p->pid_ = pid;
  p->out_fd_ = pipes.out.release_read();
  p->err_fd_ = pipes.err.release_read();
  p->max_bytes_ = spec.max_output_bytes;
  p->base_.task_id = spec.task_id;
  p->base_.attempt = spec.attempt;
  p->base_.started = true;
  p->base_.started_at = started_at;
  return p;
}

child_process::~child_process() {
  if (out_fd_ >= 0)
    ::close(out_fd_);
  if (err_fd_ >= 0)
    ::close(err_fd_);
  std::lock_guard<std::mutex> guard{mutex_};
  if (!reaped_ && pid_ > 0) {
    ::kill(-pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    reaped_ = true;
  }
}

void child_process::signal_group(int sig) {
  std::lock_guard<std::mutex> guard{mutex_};
  // Until it is reaped, the leader's pid (= the group id) cannot be reused.
  if (!reaped_ && pid_ > 0)
    ::kill(-pid_, sig);
}

exec_result child_process::wait(live_output* live) {
  bounded_buffer out{max_bytes_}, err{max_bytes_};
  bool exited = false;
  micros exited_at = 0;
  char buf[65536];
  for (;;) {
    pollfd fds[2];
    nfds_t n = 0;
    if (out_fd_ >= 0)
      fds[n++] = {out_fd_, POLLIN, 0};
    if (err_fd_ >= 0)
      fds[n++] = {err_fd_, POLLIN, 0};
    if (n == 0 && exited)
      break;
    if (n > 0) {
      int rc = ::poll(fds, n, poll_interval_ms);
      if (rc < 0 && errno != EINTR)
        break;
      for (nfds_t i = 0; rc > 0 && i < n; ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
          continue;
        auto r = ::read(fds[i].fd, buf, sizeof buf);
        if (r > 0) {
          bool is_out = fds[i].fd == out_fd_;
          (is_out ? out : err).append(buf, static_cast<size_t>(r));
          if (live)
            live->append(is_out ? output_stream::out : output_stream::err, buf,
                         static_cast<size_t>(r));
        } else if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) {
          int& fd = fds[i].fd == out_fd_ ? out_fd_ : err_fd_;
          ::close(fd);
          fd = -1;
        }
      }
    }
    if (!exited) {
      siginfo_t info{};
      // WNOWAIT: see it exit without reaping, so signal_group stays safe.
      if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0
          && info.si_pid == pid_) {
        exited = true;
        exited_at = now_us();
        // Background children left in the task's group would hold the pipes
        // (and the slot) forever: the task is over, so they go too.
        ::kill(-pid_, SIGKILL);
      } else if (n == 0) {
        // Pipes closed but the process is still running: block until it exits.
        ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOWAIT);
      }
    } else if (now_us() - exited_at > drain_limit_ms * us_per_ms) {
      break;  // a process outside the group still holds a pipe: stop reading
    }
  }
  if (live)
    live->finish();
  int status = 0;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    ::waitpid(pid_, &status, 0);
    reaped_ = true;
  }
  auto result = base_;
  result.finished_at = now_us();
  if (WIFEXITED(status)) {
    result.exited = true;
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.term_signal = WTERMSIG(status);
  }
  result.output = out.finish();
  result.error_output = err.finish();
  return result;
}

} // namespace orch
