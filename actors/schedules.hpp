// The schedules actor: fires recurring schedules (POST /schedules). It
// keeps every schedule in memory with one timer for the earliest firing,
// decides each due firing with plan_firing (runtime/core/schedule_plan.hpp)
// and creates its task through the scheduler, committed together with the
// schedule's advance. Every orchestrator on a storage runs one; no leader is
// elected: the firing's task id is derived from the schedule and the firing
// time, so only one of them can store it, and the others, refused, read the
// schedule again and find it advanced. Schedules written by other instances
// arrive by reading them all again every `refresh`.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "runtime/messages/interfaces.hpp"
#include "runtime/messages/storage_actor.hpp"

namespace orch {

class metric_registry;  // actors/metric_registry.hpp

struct schedules_config {
  std::chrono::seconds refresh{5};           // read every schedule again this often
  micros misfire_grace = 60 * us_per_second; // --schedule-misfire-grace-s
  std::chrono::seconds storage_timeout{30};
  std::string workflow_templates;            // --workflow-templates: a schedule's template
};

schedules_actor spawn_schedules(caf::actor_system& sys, storage_actor storage,
                                scheduler_actor scheduler,
                                std::shared_ptr<metric_registry> figures, schedules_config cfg);

} // namespace orch
