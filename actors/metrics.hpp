// The metrics actor: renders the metric registry (metric_registry.hpp) in the
// Prometheus text format for GET /metrics, applies the metric_update messages
// sent to it, and every `interval` persists a snapshot of the counters and
// gauges as metric samples through storage.
#pragma once

#include <chrono>
#include <memory>

#include "actors/metric_registry.hpp"
#include "runtime/messages/interfaces.hpp"
#include "runtime/messages/storage_actor.hpp"

namespace orch {

struct metrics_config {
  std::chrono::seconds interval{60};         // between snapshots; 0: none
  std::chrono::seconds storage_timeout{30};  // writing one
  /// Each persisted sample's `instance` label: on shared storage several
  /// orchestrators write samples of the same names, and a chart of a
  /// counter needs each one's own series to take differences.
  std::string instance;
};

/// The figures are `registry`'s: they begin at 0 with the process, as
/// Prometheus expects, and a restarted metrics actor goes on with them.
metrics_actor spawn_metrics(caf::actor_system& sys, storage_actor storage,
                            std::shared_ptr<metric_registry> registry, metrics_config cfg);


} // namespace orch
