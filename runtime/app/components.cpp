#include "runtime/app/components.hpp"

#include "caf/all.hpp"

#include "actors/audit.hpp"
#include "actors/events.hpp"
#include "actors/api/gateway.hpp"
#include "actors/metrics.hpp"
#include "actors/node_coordinator.hpp"
#include "actors/schedules.hpp"
#include "runtime/app/access.hpp"
#include "runtime/app/version.hpp"

namespace orch {

namespace {

scheduler_config scheduler_settings(const server_settings& s, const storage_info& info,
                                    const std::string& instance, const std::string& nu_path,
                                    std::shared_ptr<const api_address> api,
                                    const std::string& task_token_key) {
  scheduler_config sc;
  sc.instance = instance;
  sc.max_concurrent = s.max_concurrent_tasks;
  sc.labels = s.labels;
  sc.lease = static_cast<micros>(s.lease_s) * us_per_second;
  sc.shared_backend = info.shared;
  sc.backend = info.backend;
  sc.backoff_base = static_cast<micros>(s.retry_backoff_ms) * us_per_ms;
  sc.backoff_cap = static_cast<micros>(s.retry_backoff_max_ms) * us_per_ms;
  sc.nu_path = nu_path;
  sc.max_output_bytes = s.max_output_bytes;
  sc.noop_attempts = s.bench_noop_attempts;
  sc.storage_timeout = std::chrono::seconds(s.storage_timeout_s);
  sc.api = std::move(api);
  sc.task_token_key = task_token_key;
  return sc;
}

/// POST /debug/fail/{name} (--fault-injection): the named component fails as
/// in a crash, so that tests can see the service recover or exit.
/// The gateway's own control exists only once the gateway does, after the
/// hook is made: it is filled in then.
std::function<bool(const std::string&)> fault_hook(
  const components& c, std::shared_ptr<supervisor_control_actor> gateway_control) {
  auto storage = caf::actor_cast<caf::actor>(c.storage);
  auto scheduler = caf::actor_cast<caf::actor>(c.scheduler.api);
  auto events = c.events.control, metrics = c.metrics.control, audit = c.audit.control;
  return [=](const std::string& name) {
    auto gateway = *gateway_control;
    if (name == "storage" || name == "scheduler") {
      caf::anon_send_exit(name == "storage" ? storage : scheduler, caf::exit_reason::kill);
      return true;
    }
    for (auto& [n, control] : {std::pair{"events", events}, std::pair{"metrics", metrics},
                               std::pair{"audit", audit}, std::pair{"gateway", gateway}})
      if (name == n) {
        caf::anon_send(control, fail_atom_v);
        return true;
      }
    return false;
  };
}

} // namespace

components start_components(caf::actor_system& sys, const server_settings& s,
                            storage_actor storage, const storage_info& info,
                            const std::string& instance, const std::string& nu_path,
                            std::shared_ptr<const api_address> api,
                            const std::string& task_token_key) {
  components c;
  c.storage = storage;
  c.metric_figures = std::make_shared<metric_registry>();
  // The audit actor stores the records that belong to no change (refusals,
  // backups); a change's own record is committed in its write batch.
  audit_config ac;
  ac.storage_timeout = std::chrono::seconds(s.storage_timeout_s);
  c.audit = supervise<audit_actor>(sys, "audit actor",
                                   [&sys, storage, figures = c.metric_figures, ac] {
                                     return spawn_audit(sys, storage, figures, ac);
                                   });
  // The subscribers (the scheduler, below; event streams) outlive an events
  // actor that is restarted: the next one goes on with them.
  auto subscribers = std::make_shared<event_subscribers>();
  c.events = supervise<events_actor>(
    sys, "events actor", [&sys, subscribers] { return spawn_events(sys, subscribers); });
  metrics_config mc{std::chrono::seconds(s.metrics_interval_s),
                    std::chrono::seconds(s.storage_timeout_s), instance};
  c.metrics = supervise<metrics_actor>(sys, "metrics actor",
                                       [&sys, storage, figures = c.metric_figures, mc] {
                                         return spawn_metrics(sys, storage, figures, mc);
                                       });
  // Every committed event comes in through the events actor: this process's
  // from storage once durable, in commit order, and on shared storage other
  // processes' through its live queries. Subscribed before anything commits.
  caf::anon_send(storage, subscribe_atom_v, event_feed_actor{c.events.front});
  c.scheduler = spawn_scheduler(
    sys, storage, c.metric_figures,
    scheduler_settings(s, info, instance, nu_path, std::move(api), task_token_key));
  if (s.node_port >= 0)
    c.coordinator = spawn_node_coordinator(
      sys, c.scheduler.nodes,
      coordinator_config{instance, std::chrono::seconds(s.node_timeout_s), c.audit.front,
                         auth_required(s), storage, std::chrono::seconds(s.storage_timeout_s),
                         orchestrator_version});
  caf::anon_send(c.events.front, subscribe_atom_v, c.scheduler.events);
  // Schedules are few: read again every few seconds where other instances
  // may change them, rarely where only this process does (it is told).
  schedules_config sched;
  sched.refresh = std::chrono::seconds(info.shared ? 5 : 60);
  sched.misfire_grace = static_cast<micros>(s.schedule_misfire_grace_s) * us_per_second;
  sched.storage_timeout = std::chrono::seconds(s.storage_timeout_s);
  sched.workflow_templates = s.workflow_templates;
  c.schedules = spawn_schedules(sys, storage, c.scheduler.api, c.metric_figures, sched);
  caf::anon_send(c.events.front, subscribe_atom_v, event_sink_actor{c.schedules});
  gateway_config gc;
  gc.version = orchestrator_version;
  gc.storage_timeout = std::chrono::seconds(s.storage_timeout_s);
  gc.auth_required = auth_required(s);
  gc.token_ttl = std::chrono::seconds(s.token_ttl_s);
  gc.backup_dir = s.backup_dir;
  gc.workflow_templates = s.workflow_templates;
  gc.task_token_key = task_token_key;
  auto gateway_control = std::make_shared<supervisor_control_actor>();
  if (s.fault_injection)
    gc.fail_component = fault_hook(c, gateway_control);
  c.gateway = supervise<gateway_actor>(
    sys, "gateway",
    [&sys, peers = gateway_peers{storage, c.scheduler.api, c.metrics.front, c.audit.front,
                                  c.events.front, c.schedules}, gc] {
      return spawn_gateway(sys, peers, gc);
    });
  *gateway_control = c.gateway.control;
  c.gateway_longest = gc.longest_timeout();
  return c;
}

void stop_actors(const components& c) {
  for (auto a : {caf::actor_cast<caf::actor>(c.gateway.front),
                 caf::actor_cast<caf::actor>(c.scheduler.api),
                 caf::actor_cast<caf::actor>(c.metrics.front),
                 caf::actor_cast<caf::actor>(c.audit.front),
                 caf::actor_cast<caf::actor>(c.events.front),
                 caf::actor_cast<caf::actor>(c.schedules),
                 caf::actor_cast<caf::actor>(c.coordinator)})
    if (a)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

void watch(watchdog& dog, const components& c) {
  dog.watch("storage", caf::actor_cast<caf::actor>(c.storage));
  dog.watch("audit actor", caf::actor_cast<caf::actor>(c.audit.front));
  dog.watch("scheduler", caf::actor_cast<caf::actor>(c.scheduler.api));
  dog.watch("events actor", caf::actor_cast<caf::actor>(c.events.front));
  dog.watch("metrics actor", caf::actor_cast<caf::actor>(c.metrics.front));
  dog.watch("gateway", caf::actor_cast<caf::actor>(c.gateway.front));
  dog.watch("schedules actor", caf::actor_cast<caf::actor>(c.schedules));
  if (c.coordinator)
    dog.watch("node coordinator", caf::actor_cast<caf::actor>(c.coordinator));
}

} // namespace orch
