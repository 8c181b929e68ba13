// The audit actor (interfaces.hpp, audit_actor): owner of the records that
// belong to no change. Refused requests (401, 403, 4xx, 5xx) and backups
// reach it by message; it stores them in batches (everything that arrives
// while a commit is out goes into the next one), limits what requests
// without a valid token can make it store, and serves GET /audit. Counted
// in orchestrator_audit_records_total{action,outcome} and
// orchestrator_audit_unstored_total{reason}.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "actors/metric_registry.hpp"
#include "runtime/messages/interfaces.hpp"
#include "runtime/messages/storage_actor.hpp"

namespace orch {

struct audit_config {
  std::chrono::seconds storage_timeout{30};
  /// Records waiting for their commit; past this a flood's records are
  /// counted and logged, not stored (the storage is behind).
  size_t max_waiting = 10000;
  /// Refusals of requests without a valid token stored per address and
  /// minute: anyone who reaches the port can send them, and a flood of them
  /// must not grow the audit log without end. Beyond, they are counted.
  uint32_t anonymous_per_minute = 120;
};

audit_actor spawn_audit(caf::actor_system& sys, storage_actor storage,
                        std::shared_ptr<metric_registry> figures, audit_config cfg);

} // namespace orch
