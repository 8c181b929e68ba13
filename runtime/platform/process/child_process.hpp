// One child process: started without a shell (vfork + exec) in a process
// group of its own, killed if the orchestrator dies, stdin from /dev/null,
// stdout and stderr captured up to a bound.
// start() and wait() block (a PATH search, the exec, reading pipes): they are
// called on a thread of their own, never on a CAF scheduler thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include <sys/types.h>

#include "runtime/core/exec_types.hpp"
#include "runtime/core/live_output.hpp"
#include "runtime/core/status.hpp"

namespace orch {

class child_process {
public:
  /// Starts `spec.argv`, or says what is wrong (command not found, workdir
  /// missing, exec refused, ...) with errc::invalid.
  static result<std::shared_ptr<child_process>> start(const exec_spec& spec);

  ~child_process();

  /// Signals the whole process group (the task and everything it started),
  /// unless it has already been reaped.
  void signal_group(int sig);

  /// Reads output until the process has exited and its pipes are closed,
  /// then reaps it. Leftover members of its process group are killed once
  /// the main process has exited. `live`, if given, gets the output as it
  /// is read, and is finished before this returns.
  exec_result wait(live_output* live = nullptr);

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
