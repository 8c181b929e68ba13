// A child process for tests: started with posix_spawn, stdout and stderr
// written to files, always killed and reaped when the object goes away (even
// when a test fails).
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <sys/types.h>

namespace orch::test {

class child {
public:
  /// Starts argv[0] (looked up on PATH) with extra environment variables.
  /// Output goes to `<log_base>.out` / `<log_base>.err`.
  child(std::vector<std::string> argv, std::string log_base,
        std::map<std::string, std::string> env = {});
  ~child();
  child(const child&) = delete;
  child& operator=(const child&) = delete;

  pid_t pid() const { return pid_; }
  bool running();

  /// SIGTERM, then wait up to `timeout` (SIGKILL after). Returns the exit
  /// code, or 128+signal if it was killed by a signal.
  int terminate(std::chrono::milliseconds timeout = std::chrono::seconds(30));

  /// SIGKILL and reap.
  void kill9();

  /// Waits for it to exit on its own; -1 on timeout.
  int wait_exit(std::chrono::milliseconds timeout);

  std::string out() const;
  std::string err() const;

  /// Waits until stdout contains `needle`; false on timeout or early exit.
  bool wait_for_output(const std::string& needle,
                       std::chrono::milliseconds timeout = std::chrono::seconds(30));

private:
  int reap(bool block);

  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  std::string out_path_;
  std::string err_path_;
};

} // namespace orch::test
