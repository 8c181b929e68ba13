// The running actors of one orchestrator and how they are started, watched
// and stopped: the wiring run_server (server.cpp) serves, and what an
// in-process harness (the gateway fuzz target) starts without signals.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "actors/scheduler.hpp"
#include "actors/supervisor.hpp"
#include "runtime/core/records.hpp"
#include "runtime/app/settings.hpp"
#include "runtime/messages/interfaces.hpp"

namespace orch {

/// The running actors: storage and the scheduler are fatal if they die; the
/// others are restarted behind their fronts (actors/supervisor.hpp).
struct components {
  storage_actor storage;
  supervised<audit_actor> audit;
  supervised<events_actor> events;
  supervised<metrics_actor> metrics;
  std::shared_ptr<metric_registry> metric_figures;  // what the metrics actor shows
  scheduler_handles scheduler;
  supervised<gateway_actor> gateway;
  node_coordinator_actor coordinator;          // with --node-port only
  schedules_actor schedules;                   // fires recurring schedules
  std::chrono::seconds gateway_longest{};      // its longest request
};

/// Spawns audit, events, metrics, the scheduler and the gateway around
/// `storage`.
/// `api`: the API's address as tasks reach it (ORCHESTRATOR_URL);
/// `task_token_key`: what signs their ORCHESTRATOR_TOKEN ("": none).
components start_components(caf::actor_system& sys, const server_settings& s,
                            storage_actor storage, const storage_info& info,
                            const std::string& instance, const std::string& nu_path,
                            std::shared_ptr<const api_address> api = nullptr,
                            const std::string& task_token_key = {});

/// Asks every actor but storage to stop (storage ends with its close).
void stop_actors(const components& c);

/// Reports the first of them to die to the watchdog.
void watch(watchdog& dog, const components& c);

} // namespace orch
