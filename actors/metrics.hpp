// The metrics actor: counters, gauges and latency histograms, rendered in the
// Prometheus text format for GET /metrics. Every `interval` it persists a
// snapshot of its counters and gauges as metric samples through storage.
#pragma once

#include <chrono>

#include "runtime/messages/interfaces.hpp"
#include "runtime/messages/storage_actor.hpp"

namespace orch {

metrics_actor spawn_metrics(caf::actor_system& sys, storage_actor storage,
                            std::chrono::seconds interval);

} // namespace orch
