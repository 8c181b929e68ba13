// The soak harness (tests/soak/README.md): clients submitting a mix of
// tasks while the orchestrator is killed with SIGKILL and restarted, then a
// check of everything that was acknowledged.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace orch::soak {

/// What a submission was, so the check knows how it must have ended.
enum class task_kind { ok, sleeper, failing, flaky, dependant };

const char* to_string(task_kind k);

struct acknowledged {
  task_kind kind = task_kind::ok;
  int max_retries = 0;
  std::vector<std::string> dependencies;
};

/// Every 201 and every 200 to a cancel, as the clients got them.
struct ledger {
  std::mutex m;
  std::map<std::string, acknowledged> tasks;  // id -> what it was
  std::vector<std::string> order;             // ids in the order acknowledged
  std::set<std::string> cancelled;            // a cancel was answered 200
  std::set<std::string> maybe_cancelled;      // a cancel got no answer: it may have happened
  size_t refused = 0;                         // answers that were neither (4xx/5xx)
  size_t unanswered = 0;                      // no answer: the process was down
  size_t unavailable = 0;                     // 503s (the database was down)
  std::vector<double> ms_503;                 // how long each 503 took to come
  std::vector<std::string> bad_503;           // 503 bodies without an error message
};

/// Where the tasks record each run: one line "<task id> <attempt>" per
/// start of the task's program, appended by the program itself.
struct run_log {
  std::string path;
  std::map<std::string, std::vector<int>> read() const;
};

/// A problem found by the check, with the task it concerns.
struct finding {
  std::string task;
  std::string what;
};

/// Reads one task's final record, events and audit records through the
/// API of a running orchestrator and checks them against what was
/// acknowledged and what ran.
/// `cancel`: 2 if a cancel was acknowledged, 1 if one went unanswered, 0 if none was sent.
std::vector<finding> check_task(const std::string& id, const acknowledged& a, int cancel,
                                const nlohmann::json& task, const nlohmann::json& events,
                                const nlohmann::json& audit, const std::vector<int>& runs,
                                const std::map<std::string, std::string>& final_status);

} // namespace orch::soak
