#include "runtime/app/worker_command.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <thread>

#include <csignal>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "caf/all.hpp"

#include "actors/node_worker.hpp"
#include "runtime/app/cli_options.hpp"
#include "runtime/app/server.hpp"
#include "runtime/app/version.hpp"
#include "runtime/core/log.hpp"
#include "runtime/messages/actor_env.hpp"
#include "runtime/platform/process/host_name.hpp"
#include "runtime/platform/process/stop_signal.hpp"

namespace orch {

namespace {

/// Exit code of a worker the orchestrator refused (a usage problem: the
/// same command would be refused again).
constexpr int exit_refused = 2;

} // namespace

CLI::App* add_worker_command(CLI::App& app, worker_settings& w) {
  auto* cmd = app.add_subcommand(
    "worker", "Run tasks for an orchestrator on this machine: connect to its --node-port, "
              "offer --slots, run what it places here, reconnect when the connection breaks");
  cmd->add_option("--connect", w.connect,
                  "HOST:PORT of the orchestrator's --node-port (repeatable: tried in turn)")
    ->required();
  cmd->add_option("--slots", w.slots, "Tasks run here at once (default: twice the number of CPUs)")
    ->check(CLI::Range(1u, 100000u));
  cmd->add_option("--name", w.name,
                  "This worker's name in GET /nodes and the logs (default: the host name)");
  add_labels_option(*cmd, w.labels,
                    "This worker's labels, k=v,k2=v2: tasks with \"node_labels\" run only on "
                    "nodes that have them all");
  cmd->add_option("--token-file", w.token_file,
                  "File whose first line is a token of a user with the worker role (an admin "
                  "makes one with POST /auth/tokens); also ORCHESTRATOR_TOKEN. Needed when the "
                  "orchestrator requires authentication");
  add_node_tls_options(*cmd, w.node_tls, "the orchestrator's");
  cmd->add_option("--shutdown-grace-s", w.shutdown_grace_s,
                  "On SIGINT/SIGTERM: take no new tasks, and let those running here finish for "
                  "this many seconds; the rest are stopped and queued again (not counted)")
    ->check(CLI::Range(0u, 86400u))
    ->capture_default_str();
  cmd->add_option("--nu-path", w.nu_path,
                  "Nushell binary for script tasks (default: `nu` on PATH)");
  cmd->add_option("--max-output-bytes", w.max_output_bytes,
                  "Captured stdout and stderr per attempt and stream, at most")
    ->check(CLI::Range(uint64_t{0}, uint64_t{1} << 30))
    ->capture_default_str();
  // For tests: speak another node protocol version, as an older or newer
  // release would. Not in --help.
  cmd->add_option("--node-protocol", w.node_protocol)->group("");
  cmd->add_option("--log-level", w.log_level, "debug, info, warn, error or off")
    ->check(CLI::IsMember({"debug", "info", "warn", "warning", "error", "off"}))
    ->capture_default_str();
  return cmd;
}

std::string finish_worker_settings(worker_settings& w) {
  for (auto& c : w.connect) {
    node_endpoint e;
    std::string err;
    if (!parse_node_endpoint(c, e, err))
      return "--connect: " + err;
  }
  if (auto incomplete = node_tls_incomplete(w.node_tls, "this worker's", "the orchestrator's");
      !incomplete.empty())
    return incomplete;
  if (w.node_tls.enabled())
    if (auto st = check_node_tls_files(w.node_tls); !st)
      return st.message();
  if (!w.token_file.empty()) {
    std::ifstream in{w.token_file};
    if (!in || !std::getline(in, w.token) || w.token.empty())
      return "--token-file: cannot read a token from the first line of '" + w.token_file + "'";
    while (!w.token.empty() && (w.token.back() == '\r' || w.token.back() == ' '))
      w.token.pop_back();
  } else if (const char* env = std::getenv("ORCHESTRATOR_TOKEN"); env && *env) {
    w.token = env;
  }
  if (w.name.empty())
    w.name = host_name("worker");
  if (w.slots == 0)
    w.slots = std::max(2u, 2 * std::thread::hardware_concurrency());
  return {};
}

int run_worker(const worker_settings& w) {
  log_level lvl;
  if (parse_log_level(w.log_level, lvl))
    set_log_level(lvl);
  stop_signal stop;  // first: every thread started from here on has the signals blocked
  auto nu_path = resolve_nu_path(w.nu_path);
  if (!w.nu_path.empty() && nu_path.empty()) {
    std::cerr << "error: --nu-path '" << w.nu_path << "' does not exist or is not executable\n";
    return 2;
  }
  node_worker_config cfg;
  for (auto& c : w.connect) {
    node_endpoint e;
    std::string err;
    parse_node_endpoint(c, e, err);  // checked by finish_worker_settings
    cfg.coordinators.push_back(e);
  }
  cfg.hello.name = w.name;
  cfg.hello.protocol = w.node_protocol == 0 ? node_protocol_version : w.node_protocol;
  cfg.hello.version = orchestrator_version;
  cfg.hello.caf_version = caf_version_text();
  cfg.hello.host = host_name("worker");
  cfg.hello.pid = static_cast<int32_t>(::getpid());
  cfg.hello.slots = w.slots;
  cfg.hello.labels = w.labels;
  cfg.hello.token = w.token;
  cfg.nu_path = nu_path;
  cfg.max_output_bytes = w.max_output_bytes;
  cfg.refused = [&stop](const std::string& why) { stop.fail(why); };
  node_network net;
  net.enabled = true;
  net.protocol = cfg.hello.protocol;
  use_node_tls(net, w.node_tls);
  actor_env env{0, net};
  auto worker = spawn_node_worker(env.sys(), cfg);
  log_info("worker", "worker '" + w.name + "' (orchestrator " + orchestrator_version + ", node "
                       "protocol " + std::to_string(node_protocol_version) + ") with "
                       + std::to_string(w.slots) + " slot(s); nushell "
                       + (nu_path.empty() ? "not found" : nu_path)
                       + (net.tls() ? "; mutual TLS to the orchestrator" : ""));
  std::cout << "worker " << w.name << " started" << std::endl;
  auto why = stop.wait();
  while (why.signal == SIGHUP)
    why = stop.wait();
  if (why.signal == 0) {
    caf::anon_send_exit(worker.remote, caf::exit_reason::user_shutdown);
    std::cerr << "error: the orchestrator refused this worker: " << why.failure << "\n";
    return exit_refused;
  }
  // Leave in good order: nothing new comes here, what runs may finish, the
  // rest goes back to the orchestrator as interrupted. A worker that cannot
  // hand its results back (no orchestrator) waits a little longer, then
  // leaves them to the lease.
  caf::scoped_actor waiter{env.sys()};
  bool drained = false;
  waiter->request(worker.control, std::chrono::seconds(w.shutdown_grace_s + 10), drain_atom_v,
                  w.shutdown_grace_s)
    .receive([&](bool done) { drained = done; }, [](caf::error&) {});
  caf::anon_send_exit(worker.remote, caf::exit_reason::user_shutdown);
  log_info("worker", drained ? "stopped: every attempt that ran here was handed back"
                             : "stopped before every result was handed back: the orchestrator "
                               "runs those attempts again after its --node-timeout");
  return 0;
}

} // namespace orch
