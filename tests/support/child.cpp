#include "tests/support/child.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/temp_dir.hpp"
#include "tests/support/wait.hpp"

extern char** environ;

namespace orch::test {

child::child(std::vector<std::string> argv, std::string log_base,
             std::map<std::string, std::string> env)
  : out_path_(log_base + ".out"), err_path_(log_base + ".err") {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    auto k = kv.substr(0, kv.find('='));
    if (!env.count(k))
      env_strings.push_back(kv);
  }
  for (auto& [k, v] : env)
    env_strings.push_back(k + "=" + v);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&fa, 2, err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty;
  sigemptyset(&empty);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(a.data());
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : env_strings)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  int rc = ::posix_spawnp(&pid_, argv[0].c_str(), &fa, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0)
    throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
}

child::~child() {
  if (!reaped_)
    kill9();
}

int child::reap(bool block) {
  if (reaped_)
    return 0;
  int status = 0;
  auto r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  if (r == pid_) {
    reaped_ = true;
    status_ = status;
    return 1;
  }
  return 0;
}

bool child::running() {
  reap(false);
  return !reaped_;
}

static int exit_code_of(int status) {
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return -1;
}

int child::terminate(std::chrono::milliseconds timeout) {
  if (!running())
    return exit_code_of(status_);
  ::kill(pid_, SIGTERM);
  if (!wait_until([&] { return !running(); }, timeout, std::chrono::milliseconds(10)))
    kill9();
  return exit_code_of(status_);
}

void child::kill9() {
  if (reaped_)
    return;
  ::kill(pid_, SIGKILL);
  reap(true);
}

int child::wait_exit(std::chrono::milliseconds timeout) {
  if (!wait_until([&] { return !running(); }, timeout, std::chrono::milliseconds(10)))
    return -1;
  return exit_code_of(status_);
}

std::string child::out() const {
  return slurp(out_path_);
}

std::string child::err() const {
  return slurp(err_path_);
}

bool child::wait_for_output(const std::string& needle, std::chrono::milliseconds timeout) {
  bool found = false;
  wait_until(
    [&] {
      found = out().find(needle) != std::string::npos;
      return found || !running();
    },
    timeout, std::chrono::milliseconds(10));
  return found || out().find(needle) != std::string::npos;
}

} // namespace orch::test
