// What ends a server process: SIGINT or SIGTERM, or a fatal failure found
// inside it (a component that died). The signals are blocked in every thread
// (so no handler runs anywhere) and read from a signalfd; a failure is
// reported through an eventfd; wait() blocks on both.
#pragma once

#include <mutex>
#include <string>

namespace orch {

class stop_signal {
public:
  /// Blocks SIGINT, SIGTERM and SIGHUP (reload, not stop) in the calling thread and in every thread it
  /// starts afterwards: construct it first thing in main. Also ignores
  /// SIGPIPE (a client hanging up is an error code, not a death).
  stop_signal();
  ~stop_signal();
  stop_signal(const stop_signal&) = delete;
  stop_signal& operator=(const stop_signal&) = delete;

  struct reason {
    int signal = 0;                          // SIGINT, SIGTERM or SIGHUP, or 0 for a failure
    std::string failure;                     // what failed
  };

  /// Blocks until a signal arrives or fail() was called.
  reason wait();

  /// Ends wait() with a failure; thread-safe, the first call wins.
  void fail(const std::string& what);

private:
  int signal_fd_ = -1;
  int event_fd_ = -1;
  std::mutex mutex_;
  std::string failure_;
};

} // namespace orch
