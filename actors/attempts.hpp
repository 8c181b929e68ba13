// What an attempt of a task is to the scheduler, as plain functions: the
// process it runs (argv, environment, working directory, limits) and what
// its end means for the task (success, an error to record, a retry).
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "runtime/core/exec_types.hpp"
#include "runtime/core/status.hpp"
#include "runtime/core/task.hpp"
#include "runtime/core/transitions.hpp"

namespace orch {

/// How a task reaches the orchestrator's API (ORCHESTRATOR_URL in its
/// environment): known at start-up from --public-url or --bind and --port,
/// or once the HTTP server listens when the port is chosen then (--port 0),
/// after the scheduler has started; hence set, and read, under a lock.
class api_address {
public:
  void set(std::string url) {
    std::lock_guard lock{m_};
    url_ = std::move(url);
  }
  std::string get() const {
    std::lock_guard lock{m_};
    return url_;
  }

private:
  mutable std::mutex m_;
  std::string url_;
};

struct attempt_settings {
  std::string nu_path;                       // "" if Nushell was not found
  uint64_t max_output_bytes = 1 << 20;       // per stream and attempt
  std::shared_ptr<const api_address> api;    // ORCHESTRATOR_URL; null: none
  std::string task_token_key;                // signs ORCHESTRATOR_TOKEN; "": none given
};

/// The process of the task's next attempt (t.attempts is that attempt):
/// its command, or `nu` with its script. Fails (errc::invalid) for a script
/// when Nushell is not available.
result<exec_spec> make_exec_spec(const task& t, const attempt_settings& s);

/// What an attempt's end means: exit 0 is success; anything else an error
/// in words ("exited with code 2", "timed out after 5 s", "killed by signal
/// 9 (SIGKILL)", "failed to start: ...", or why it was lost with its node).
attempt_outcome outcome_of(const exec_result& r, const task& t);

/// The `outcome` label of the attempts metric: success, failure, timeout,
/// cancelled, lost (with its node) or start_error.
const char* outcome_label(const exec_result& r);

} // namespace orch
