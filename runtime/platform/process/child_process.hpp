// One child process: started without a shell (fork + exec) in a process group
// of its own, killed if the orchestrator dies, stdin from /dev/null, stdout
// and stderr captured up to a bound.
// wait() blocks; it is called on a thread of its own, never on a CAF thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include <sys/types.h>

#include "runtime/core/exec_types.hpp"

namespace orch {

class child_process {
public:
  /// Starts `spec.argv`. On failure returns nullptr and sets `error` to a
  /// message naming what is wrong (command not found, workdir missing, ...).
  static std::shared_ptr<child_process> start(const exec_spec& spec, std::string& error);

  ~child_process();

  /// Signals the whole process group (the task and everything it started),
  /// unless it has already been reaped.
  void signal_group(int sig);

  /// Reads output until the process has exited and its pipes are closed,
  /// then reaps it. Leftover members of its process group are killed once
  /// the main process has exited.
  exec_result wait();

  pid_t pid() const { return pid_; }

private:
  child_process() = default;

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  uint64_t max_bytes_ = 0;
  std::mutex mutex_;
  bool reaped_ = false;
  exec_result base_;
};

/// Resolves a program name the way a shell would: as given if it contains a
/// '/', else the first executable match on `path_var`. "" if none.
std::string find_program(const std::string& name, const std::string& path_var);

/// "killed by signal 9 (SIGKILL)"-style description.
std::string describe_signal(int sig);

} // namespace orch
