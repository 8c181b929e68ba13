// The scheduler: accepts submissions, cancellations and retries; pulls
// claimable work from the queue while it has free slots; runs each attempt in
// an executor; decides what an attempt's outcome means (done, retry with
// exponential backoff, failed); releases dependants when their dependencies
// complete; and drains gracefully on shutdown.
#pragma once

#include <chrono>
#include <memory>
#include <map>
#include <string>

#include "caf/typed_actor.hpp"

#include "actors/attempts.hpp"
#include "runtime/messages/interfaces.hpp"
#include "runtime/messages/node_types.hpp"
#include "runtime/messages/storage_actor.hpp"

namespace orch {

class metric_registry;  // actors/metric_registry.hpp

struct scheduler_config {
  std::string instance;                      // this process's worker id
  uint32_t max_concurrent = 4;               // --max-concurrent-tasks here (0: nodes only)
  std::map<std::string, std::string> labels; // --labels of the slots here
  micros lease = 30 * us_per_second;
  bool shared_backend = false;
  std::string backend;                       // its name, for the storage latency metric
  micros backoff_base = 1 * us_per_second;   // first retry delay
  micros backoff_cap = 300 * us_per_second;  // longest retry delay
  std::string nu_path;                       // "" if Nushell was not found
  uint64_t max_output_bytes = 1 << 20;       // per stream and attempt
  std::chrono::seconds storage_timeout{30};  // for each request to storage
  std::shared_ptr<const api_address> api;    // ORCHESTRATOR_URL of the tasks
  std::string task_token_key;                // signs their ORCHESTRATOR_TOKEN
  /// Benchmarks only (--bench-noop-attempts): attempts here complete at
  /// once without a process (executor.hpp: spawn_noop_executor).
  bool noop_attempts = false;
};

/// The scheduler and the role it plays towards the events actor (it wants
/// every task event, its own and, on shared storage, other processes').
struct scheduler_handles {
  scheduler_actor api;
  event_sink_actor events;
  node_listener_actor nodes;                 // told by the node coordinator
};

/// Its events reach it (and everyone) from storage, through the events
/// actor it is subscribed to (scheduler_handles::events): the storage tells
/// what committed, in commit order.
scheduler_handles spawn_scheduler(caf::actor_system& sys, storage_actor storage,
                                  std::shared_ptr<metric_registry> metrics, scheduler_config cfg);

} // namespace orch
