#include "runtime/app/server.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <csignal>
#include <unistd.h>

#include "caf/all.hpp"
#include "caf/io/middleman.hpp"
#include "caf/openssl/publish.hpp"

#include "actors/api/gateway_bridge.hpp"
#include "actors/supervisor.hpp"
#include "backends/open_storage.hpp"
#include "backends/recovery.hpp"
#include "backends/storage_client.hpp"
#include "runtime/app/access.hpp"
#include "runtime/app/cli_options.hpp"
#include "runtime/app/components.hpp"
#include "runtime/app/dry_run.hpp"
#include "runtime/app/remote_api.hpp"
#include "runtime/app/task_token_key.hpp"
#include "runtime/app/version.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/core/log.hpp"
#include "runtime/core/workflow_template.hpp"
#include "runtime/messages/actor_env.hpp"
#include "runtime/platform/http/http_server.hpp"
#include "runtime/platform/process/child_process.hpp"
#include "runtime/platform/process/host_name.hpp"
#include "runtime/platform/process/open_files.hpp"
#include "runtime/platform/process/stop_signal.hpp"

namespace orch {

namespace {

/// Exit code when a component failed for good (EX_SOFTWARE): the service
/// manager restarts the orchestrator, which recovers from storage.
constexpr int exit_component_failed = 70;

std::string make_instance_id() {
  return host_name("host") + "-" + std::to_string(::getpid()) + "-" + new_uuid_v4().substr(0, 8);
}

/// SIGINT/SIGTERM: no new requests; running tasks get the grace period,
/// then are stopped and queued again; storage closes last.
void shut_down(caf::actor_system& sys, const server_settings& s, const components& c,
               http_server& server, watchdog& dog) {
  server.stop_accepting();
  caf::scoped_actor self{sys};
  auto grace = std::chrono::seconds(s.shutdown_grace_s);
  self->request(c.scheduler.api, grace + std::chrono::seconds(s.storage_timeout_s), drain_atom_v,
                s.shutdown_grace_s)
    .receive([](bool) {},
             [](caf::error& e) {
               log_warn("main", "draining the scheduler failed: " + error_text(e));
             });
  server.stop();
  dog.stop();  // storage ends with its close: that is no failure
  if (auto closed = storage_client{sys, c.storage, 2 * std::chrono::seconds(s.storage_timeout_s)}
                      .close();
      !closed)
    log_warn("main", "closing storage failed: " + closed.message());
  stop_actors(c);
}

/// A component failed for good: stop serving, close storage if it still
/// answers, and exit at once. Nothing is left to wind down in order: the
/// actors that remain (executors of the dead scheduler) would only delay the
/// exit, and the tasks they run end with this process (PR_SET_PDEATHSIG).
[[noreturn]] void give_up(caf::actor_system& sys, const server_settings& s, const components& c,
                          http_server& server, watchdog& dog, const std::string& why) {
  log_error("main", why + "; exiting so that the service manager restarts the orchestrator "
                          "(acknowledged tasks are in storage; running ones are queued again)");
  dog.stop();
  server.stop();
  (void) storage_client{sys, c.storage, std::chrono::seconds(s.storage_timeout_s)}.close();
  if (s.storage.type != "surrealdb-server")
    std::remove(admin_url_file(s.storage).c_str());
  std::fflush(nullptr);
  std::_Exit(exit_component_failed);
}

/// The API's address on this machine: the --bind address (a wildcard one
/// as loopback) and `port`.
std::string local_api_url(const server_settings& s, uint16_t port) {
  auto host = s.bind == "0.0.0.0" ? std::string{"127.0.0.1"} : s.bind == "::" ? std::string{"::1"} : s.bind;
  if (host.find(':') != std::string::npos)
    host = "[" + host + "]";
  return (s.tls_cert.empty() ? "http://" : "https://") + host + ":" + std::to_string(port);
}

/// ORCHESTRATOR_URL of the tasks: --public-url (worker nodes on other
/// machines need it), else the local address.
std::string task_api_url(const server_settings& s, uint16_t port) {
  return s.public_url.empty() ? local_api_url(s, port) : s.public_url;
}

void write_url_file(const server_settings& s, uint16_t port) {
  // Tools (orchestrator backup) find the running server through this file.
  if (s.storage.type == "surrealdb-server")
    return;
  std::ofstream{admin_url_file(s.storage)} << local_api_url(s, port) << "\n";
}

/// --max-connections within what the process may open: the soft limit on
/// open files is raised to the hard one (thousands of idle keep-alive
/// clients are normal), and descriptors stay free for storage, task pipes
/// and the log.
size_t connection_limit(size_t wanted) {
  constexpr size_t reserved = 256;
  auto files = raise_open_files_limit();
  size_t limit = files > 2 * reserved ? files - reserved : files / 2;
  if (wanted > limit) {
    log_warn("main", "--max-connections " + std::to_string(wanted) + " is more than the "
                       + std::to_string(files) + " open files this process may have allows; "
                       "serving at most " + std::to_string(limit)
                       + " connections (raise `ulimit -n` for more)");
    return limit;
  }
  return wanted;
}

/// --node-port: the coordinator published for worker nodes; the port it
/// listens on (0 without --node-port).
result<uint16_t> open_node_port(caf::actor_system& sys, const server_settings& s,
                                const components& c) {
  if (!c.coordinator)
    return uint16_t{0};
  // reuse: a restart finds the port in TIME_WAIT.
  auto port = s.node_tls.enabled()
                ? caf::openssl::publish(c.coordinator, static_cast<uint16_t>(s.node_port),
                                        s.node_bind.c_str(), true)
                : sys.middleman().publish(c.coordinator, static_cast<uint16_t>(s.node_port),
                                          s.node_bind.c_str(), true);
  if (!port)
    return status{errc::unavailable, "cannot open --node-port " + std::to_string(s.node_port)
                                       + " on " + s.node_bind + ": " + sys.render(port.error())};
  return *port;
}

/// Settings completed with what the machine says: slots, log level.
server_settings effective(const server_settings& settings) {
  auto s = settings;
  log_level lvl;
  if (parse_log_level(s.log_level, lvl))
    set_log_level(lvl);
  if (s.max_concurrent_tasks == slots_from_cpus)
    s.max_concurrent_tasks = std::max(2u, 2 * std::thread::hardware_concurrency());
  if (s.backup_dir.empty())
    s.backup_dir = (s.storage.data_dir.empty() ? std::string{"."} : s.storage.data_dir) + "/backups";
  if (!s.workflow_templates.empty()) {
    std::error_code ec;
    auto absolute = std::filesystem::absolute(s.workflow_templates, ec);
    if (!ec)
      s.workflow_templates = absolute.lexically_normal().string();
  }
  return s;
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
  auto s = effective(settings);
  stop_signal stop;  // first: every thread started from here on has the signals blocked
  if (auto refusal = access_refusal(s); !refusal.empty()) {
    std::cerr << "error: " << refusal << "\n";
    return 2;
  }
  if (!s.workflow_templates.empty())
    if (auto loaded = load_workflow_templates(s.workflow_templates); !loaded) {
      std::cerr << "error: --workflow-templates: " << loaded.message() << "\n";
      return 2;
    }
  auto nu_path = resolve_nu_path(s.nu_path);
  if (!s.nu_path.empty() && nu_path.empty()) {
    std::cerr << "error: --nu-path '" << s.nu_path << "' does not exist or is not executable\n";
    return 2;
  }
  auto task_token_key = load_task_token_key(s.task_token_key_file);
  if (!task_token_key) {
    std::cerr << "error: --task-token-key-file: " << task_token_key.message() << "\n";
    return 2;
  }
  // Declared before the actor system: destroyed after it, when no actor can
  // still hold one of its connections.
  std::unique_ptr<http_server> server;
  node_network net;
  net.enabled = s.node_port >= 0;
  if (net.enabled && s.node_tls.enabled()) {
    if (auto st = check_node_tls_files(s.node_tls); !st) {
      std::cerr << "error: " << st.message() << "\n";
      return 2;
    }
    use_node_tls(net, s.node_tls);
  }
  actor_env env{0, net};
  auto& sys = env.sys();
  auto storage = open_storage(sys, s.storage);
  if (!storage) {
    std::cerr << "error: " << storage.message() << "\n";
    return storage.code() == errc::invalid ? 2 : 1;
  }
  if (s.dry_run)
    return report_dry_run(sys, *storage, s, nu_path);
  auto info = storage_client{sys, *storage, std::chrono::seconds(s.storage_timeout_s)}.info();
  if (!info) {
    std::cerr << "error: " << info.message() << "\n";
    return 1;
  }
  {
    storage_client db{sys, *storage, std::chrono::seconds(s.storage_timeout_s)};
    auto admin = ensure_first_admin(db, auth_required(s));
    if (!admin) {
      std::cerr << "error: " << admin.message() << "\n";
      (void) db.close();
      return admin.code() == errc::invalid ? 2 : 1;
    }
    if (!admin->empty())
      log_info("auth", *admin);
  }
  std::error_code backup_ec;
  if (s.storage.type != "surrealdb-server")  // it is backed up by migrating it
    std::filesystem::create_directories(s.backup_dir, backup_ec);
  if (backup_ec)
    log_warn("main", "cannot create the backup directory " + s.backup_dir + ": "
                       + backup_ec.message() + " (POST /admin/backup will fail until it exists)");
  if (!info->shared)
    for (auto& note : reconcile_queue(sys, *storage))
      log_warn("recovery", note);
  auto instance = make_instance_id();
  // Known now unless the port is chosen when the server listens (--port 0).
  auto api = std::make_shared<api_address>();
  if (s.port != 0 || !s.public_url.empty())
    api->set(task_api_url(s, static_cast<uint16_t>(s.port)));
  auto c = start_components(sys, s, *storage, *info, instance, nu_path, api, *task_token_key);
  watchdog dog{sys, [&stop](std::string why) { stop.fail(why); }};
  watch(dog, c);
  http_server_config hc;
  hc.bind = s.bind;
  hc.port = s.port;
  hc.max_body_bytes = s.max_body_bytes;
  hc.threads = s.http_threads;
  hc.request_timeout = std::chrono::seconds(s.request_timeout_s);
  hc.idle_timeout = std::chrono::seconds(s.idle_timeout_s);
  hc.max_connections = connection_limit(s.max_connections);
  hc.stream_buffer_bytes = s.stream_buffer_bytes;
  // Longer than any request inside the gateway, so the gateway answers
  // first (with the error that says what timed out).
  hc.answer_timeout = c.gateway_longest + std::chrono::seconds(10);
  hc.tls_cert = s.tls_cert;
  hc.tls_key = s.tls_key;
  server = std::make_unique<http_server>(
    hc, make_gateway_handler(c.gateway.front, c.metric_figures));
  auto port = server->start();
  auto node_port = open_node_port(sys, s, c);
  if (!port || !node_port) {
    std::cerr << "error: " << (port ? node_port.message() : port.message()) << "\n";
    if (port)
      server->stop();
    dog.stop();
    (void) storage_client{sys, *storage}.close();
    stop_actors(c);
    return 1;
  }
  log_info("main", "orchestrator " + std::string{orchestrator_version} + " (instance " + instance
                     + "), storage " + info->backend + " at " + info->location + ", "
                     + std::to_string(s.max_concurrent_tasks) + " task slots, nushell "
                     + (nu_path.empty() ? "not found" : nu_path) + ", authentication "
                     + (auth_required(s) ? "required" : "disabled (loopback only)"));
  if (c.coordinator)
    std::cout << "nodes on " << s.node_bind << ":" << *node_port
              << (s.node_tls.enabled() ? " (mutual TLS)" : "") << std::endl;
  std::cout << "listening on " << (s.tls_cert.empty() ? "http" : "https") << "://" << s.bind << ":"
            << *port << std::endl;
  write_url_file(s, *port);
  api->set(task_api_url(s, *port));
  auto why = stop.wait();
  for (; why.signal == SIGHUP; why = stop.wait()) {
    // SIGHUP: the certificate was renewed. New connections get the new one;
    // a file that does not load leaves the old one in use.
    if (s.tls_cert.empty()) {
      log_info("main", "received SIGHUP: nothing to reload (no --tls-cert)");
    } else if (auto st = server->reload_tls(); !st) {
      log_error("main", "received SIGHUP: " + st.message() + "; still serving the certificate "
                                                              "loaded before");
    } else {
      log_info("main", "received SIGHUP: reloaded " + s.tls_cert + " and " + s.tls_key);
    }
  }
  if (why.signal == 0)
    give_up(sys, s, c, *server, dog, why.failure);
  log_info("main", std::string{"received "} + (why.signal == SIGINT ? "SIGINT" : "SIGTERM")
                     + ": no new requests; letting running tasks finish");
  shut_down(sys, s, c, *server, dog);
  if (s.storage.type != "surrealdb-server")
    std::remove(admin_url_file(s.storage).c_str());
  log_info("main", "stopped");
  return 0;
}

} // namespace orch
