// What an executor is asked to run and what it reports back.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "runtime/core/clock.hpp"

namespace orch {

struct exec_spec {
  std::string task_id;
  uint32_t attempt = 0;
  std::vector<std::string> argv;             // argv[0] is looked up on PATH
  std::map<std::string, std::string> env;    // added to the orchestrator's environment
  std::string workdir;                       // empty: the orchestrator's working directory
  uint32_t timeout_s = 0;                    // 0: none
  uint64_t max_output_bytes = 1 << 20;       // per stream
};

struct exec_result {
  std::string task_id;
  uint32_t attempt = 0;
  bool started = false;                      // false: could not start (see error)
  bool exited = false;                       // exited normally (exit_code valid)
  int32_t exit_code = 0;
  int32_t term_signal = 0;                   // signal that ended it, if not exited
  bool timed_out = false;
  bool cancelled = false;
  std::string output;                        // stdout, bounded
  std::string error_output;                  // stderr, bounded
  std::string error;                         // start failure, a lost node, or ""
  /// Stopped because where it ran shut down (a worker node's SIGTERM after
  /// its grace period): queued again, the attempt not counted.
  bool interrupted = false;
  micros started_at = 0;
  micros finished_at = 0;
};

} // namespace orch
