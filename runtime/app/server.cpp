#include "runtime/app/server.hpp"

#include <csignal>
#include <cstdio>
#include <fstream>
#include <cstdlib>
#include <iostream>
#include <thread>

#include <unistd.h>

#include "caf/all.hpp"

#include "actors/events.hpp"
#include "actors/gateway.hpp"
#include "actors/metrics.hpp"
#include "runtime/platform/process/child_process.hpp"
#include "actors/scheduler.hpp"
#include "backends/engine/storage_engine.hpp"
#include "runtime/messages/actor_env.hpp"
#include "actors/gateway_bridge.hpp"
#include "runtime/core/log.hpp"
#include "runtime/core/ids.hpp"
#include "backends/recovery.hpp"
#include "backends/open_storage.hpp"
#include "runtime/app/tools.hpp"
#include "runtime/app/version.hpp"

namespace orch {

namespace {

std::string make_instance_id() {
  char host[256] = "host";
  ::gethostname(host, sizeof host - 1);
  return std::string{host} + "-" + std::to_string(::getpid()) + "-" + new_uuid_v4().substr(0, 8);
}

/// Blocks SIGINT and SIGTERM in this thread and every thread it starts
/// later, so that they are only received by sigwait() in main.
sigset_t block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a client hanging up is an error code, not a death
  return set;
}

template <class T, class Handle, class... Ts>
caf::expected<T> ask(caf::scoped_actor& self, const Handle& dest, caf::timespan timeout,
                     Ts&&... xs) {
  caf::expected<T> result{caf::sec::request_timeout};
  self->request(dest, timeout, std::forward<Ts>(xs)...)
    .receive([&](T& value) { result = std::move(value); },
             [&](caf::error& e) { result = std::move(e); });
  return result;
}

int dry_run(caf::actor_system& sys, storage_actor storage, const server_settings& s,
            const std::string& nu_path) {
  caf::scoped_actor self{sys};
  auto info = ask<storage_info>(self, storage, std::chrono::seconds(30), info_atom_v);
  if (!info) {
    std::cerr << "error: storage check failed: " << error_text(info.error()) << "\n";
    return 1;
  }
  std::cout << "configuration is valid (dry run: nothing was started)\n"
            << "  storage type:         " << info->backend << "\n"
            << "  storage location:     " << info->location << "\n";
  for (auto kind : all_record_kinds) {
    auto n = ask<uint64_t>(self, storage, std::chrono::seconds(30), count_atom_v, kind);
    std::cout << "    " << to_string(kind) << ": "
              << (n ? std::to_string(*n) : "error: " + error_text(n.error())) << "\n";
  }
  for (auto& note : info->notes)
    std::cout << "  note: " << note << "\n";
  std::cout << "  listen address:       http://" << s.bind << ":" << s.port << "\n"
            << "  max concurrent tasks: " << s.max_concurrent_tasks << "\n"
            << "  nushell:              " << (nu_path.empty() ? "not found" : nu_path) << "\n";
  ask<bool>(self, storage, std::chrono::seconds(30), caf::close_atom_v);
  return 0;
}

} // namespace

std::string resolve_nu_path(const std::string& configured) {
  if (!configured.empty())
    return find_program(configured, "");
  const char* path = std::getenv("PATH");
  auto found = find_program("nu", path ? path : "");
  if (!found.empty())
    return found;
  return find_program(ORCH_FALLBACK_NU_PATH, "");
}

int run_server(const server_settings& settings) {
  auto s = settings;
  log_level lvl;
  if (parse_log_level(s.log_level, lvl))
    set_log_level(lvl);
  if (s.max_concurrent_tasks == 0)
    s.max_concurrent_tasks = std::max(2u, 2 * std::thread::hardware_concurrency());
  auto signals = block_stop_signals();
  auto nu_path = resolve_nu_path(s.nu_path);
  if (!s.nu_path.empty() && nu_path.empty()) {
    std::cerr << "error: --nu-path '" << s.nu_path << "' does not exist or is not executable\n";
    return 2;
  }
  // Declared before the actor system: destroyed after it, when no actor can
  // still hold one of its connections.
  std::unique_ptr<http_server> server;
  actor_env env;
  auto& sys = env.sys();
  storage_actor storage;
  try {
    storage = open_storage(sys, s.storage);
  } catch (const storage_failure& e) {
    std::cerr << "error: " << e.message << "\n";
    return e.code == errc::invalid ? 2 : 1;
  }
  if (s.dry_run)
    return dry_run(sys, storage, s, nu_path);
  storage_info info;
  {
    caf::scoped_actor self{sys};
    auto i = ask<storage_info>(self, storage, std::chrono::seconds(30), info_atom_v);
    if (!i) {
      std::cerr << "error: " << error_text(i.error()) << "\n";
      return 1;
    }
    info = *i;
  }
  if (!info.shared)
    for (auto& note : reconcile_queue(sys, storage))
      log_warn("recovery", note);
  auto instance = make_instance_id();
  auto events = spawn_events(sys);
  auto metrics = spawn_metrics(sys, storage, std::chrono::seconds(s.metrics_interval_s));
  scheduler_config sc;
  sc.instance = instance;
  sc.max_concurrent = s.max_concurrent_tasks;
  sc.lease = static_cast<micros>(s.lease_s) * us_per_second;
  sc.shared_backend = info.shared;
  sc.backoff_base = static_cast<micros>(s.retry_backoff_ms) * us_per_ms;
  sc.backoff_cap = static_cast<micros>(s.retry_backoff_max_ms) * us_per_ms;
  sc.nu_path = nu_path;
  sc.max_output_bytes = s.max_output_bytes;
  auto scheduler = spawn_scheduler(sys, storage, events, metrics, sc);
  // State changes flow to the scheduler: its own, and (on a shared backend)
  // those of other instances, which the storage feeds to the events actor.
  caf::anon_send(events, subscribe_atom_v, caf::actor_cast<event_sink_actor>(scheduler));
  caf::anon_send(storage, subscribe_atom_v, caf::actor_cast<event_feed_actor>(events));
  auto gateway = spawn_gateway(sys, storage, scheduler, metrics, {orchestrator_version});
  auto shutdown_actors = [&] {
    for (auto a : {caf::actor_cast<caf::actor>(gateway), caf::actor_cast<caf::actor>(scheduler),
                   caf::actor_cast<caf::actor>(metrics), caf::actor_cast<caf::actor>(events)})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  };
  http_server_config hc;
  hc.bind = s.bind;
  hc.port = s.port;
  hc.max_body_bytes = s.max_body_bytes;
  hc.threads = s.http_threads;
  server = std::make_unique<http_server>(hc, make_gateway_handler(sys, gateway, metrics));
  uint16_t port = 0;
  try {
    port = server->start();
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    shutdown_actors();
    caf::scoped_actor self{sys};
    ask<bool>(self, storage, std::chrono::seconds(30), caf::close_atom_v);
    return 1;
  }
  log_info("main", "orchestrator " + std::string{orchestrator_version} + " (instance "
                     + instance + "), storage " + info.backend + " at " + info.location + ", "
                     + std::to_string(s.max_concurrent_tasks) + " task slots, nushell "
                     + (nu_path.empty() ? "not found" : nu_path));
  std::cout << "listening on http://" << s.bind << ":" << port << std::endl;
  // Tools (orchestrator backup) find the running server through this file.
  auto url_file = admin_url_file(s.storage);
  if (s.storage.type != "surrealdb-server") {
    std::ofstream{url_file} << "http://" << (s.bind == "0.0.0.0" ? "127.0.0.1" : s.bind) << ":"
                            << port << "\n";
  }

  int sig = 0;
  sigwait(&signals, &sig);
  log_info("main", std::string{"received "} + (sig == SIGINT ? "SIGINT" : "SIGTERM")
                     + ": no new requests; letting running tasks finish");
  server->stop_accepting();
  {
    caf::scoped_actor self{sys};
    auto grace = std::chrono::seconds(s.shutdown_grace_s);
    auto drained = ask<bool>(self, scheduler, grace + std::chrono::seconds(30), drain_atom_v,
                             s.shutdown_grace_s);
    if (!drained)
      log_warn("main", "draining the scheduler failed: " + error_text(drained.error()));
    server->stop();
    auto closed = ask<bool>(self, storage, std::chrono::seconds(60), caf::close_atom_v);
    if (!closed)
      log_warn("main", "closing storage failed: " + error_text(closed.error()));
  }
  shutdown_actors();
  if (s.storage.type != "surrealdb-server")
    std::remove(url_file.c_str());
  log_info("main", "stopped");
  return 0;
}

} // namespace orch
