// The metrics actor: counters, gauges and latency histograms, rendered in the
// Prometheus text format for GET /metrics. Every `interval` it persists a
// snapshot of its counters and gauges as metric samples through storage.
#pragma once

#include <chrono>

#include "runtime/messages/interfaces.hpp"
#include "runtime/messages/storage_actor.hpp"

namespace orch {

struct metrics_config {
  std::chrono::seconds interval{60};         // between snapshots; 0: none
  /// Start the counters from the newest persisted snapshot rather than 0:
  /// what a restart after a failure does, so that counters stay near where
  /// they were (a start of the process begins at 0, as Prometheus expects).
  bool restore_counters = false;
  std::chrono::seconds storage_timeout{30};  // reading the snapshot, writing one
};

metrics_actor spawn_metrics(caf::actor_system& sys, storage_actor storage, metrics_config cfg);


} // namespace orch
