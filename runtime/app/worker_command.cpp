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
#include "runtime/app/server.hpp"
#include "runtime/app/version.hpp"
#include "runtime/core/log.hpp"
#include "runtime/messages/actor_env.hpp"
#include "runtime/platform/process/stop_signal.hpp"

namespace orch {

namespace {

/// Exit code of a worker the orchestrator refused (a usage problem: the
/// same command would be refused again).
constexpr int exit_refused = 2;

std::string host_name() {
  char host[256] = "";
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == 0)
    return "worker";
  return host;
}

bool label_text_ok(const std::string& s) {
  return !s.empty() && s.size() <= 64 && s.find_first_not_of(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./") == std::string::npos;
}

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
  cmd->add_option("--labels", w.labels, "This worker's labels, k=v,k2=v2");
  cmd->add_option("--token-file", w.token_file,
                  "File whose first line is a token of a user with the worker role (an admin "
                  "makes one with POST /auth/tokens); also ORCHESTRATOR_TOKEN. Needed when the "
                  "orchestrator requires authentication");
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

std::map<std::string, std::string> parse_node_labels(const std::string& text, std::string& error) {
  std::map<std::string, std::string> out;
  size_t from = 0;
  while (from < text.size()) {
    auto comma = text.find(',', from);
    auto item = text.substr(from, comma == std::string::npos ? std::string::npos : comma - from);
    from = comma == std::string::npos ? text.size() : comma + 1;
    auto eq = item.find('=');
    if (eq == std::string::npos || !label_text_ok(item.substr(0, eq))
        || !label_text_ok(item.substr(eq + 1))) {
      error = "--labels: '" + item + "' is not key=value (each 1 to 64 letters, digits, "
              "'-', '_', '.', '/')";
      return {};
    }
    out[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return out;
}

std::string finish_worker_settings(worker_settings& w) {
  for (auto& c : w.connect) {
    node_endpoint e;
    std::string err;
    if (!parse_node_endpoint(c, e, err))
      return "--connect: " + err;
  }
  std::string err;
  parse_node_labels(w.labels, err);
  if (!err.empty())
    return err;
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
    w.name = host_name();
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
  std::string err;
  cfg.hello.name = w.name;
  cfg.hello.protocol = w.node_protocol == 0 ? node_protocol_version : w.node_protocol;
  cfg.hello.version = orchestrator_version;
  cfg.hello.host = host_name();
  cfg.hello.pid = static_cast<int32_t>(::getpid());
  cfg.hello.slots = w.slots;
  cfg.hello.labels = parse_node_labels(w.labels, err);
  cfg.hello.token = w.token;
  cfg.nu_path = nu_path;
  cfg.max_output_bytes = w.max_output_bytes;
  cfg.refused = [&stop](const std::string& why) { stop.fail(why); };
  node_network net;
  net.enabled = true;
  net.protocol = cfg.hello.protocol;
  actor_env env{0, net};
  auto worker = spawn_node_worker(env.sys(), cfg);
  log_info("worker", "worker '" + w.name + "' (orchestrator " + orchestrator_version + ", node "
                       "protocol " + std::to_string(node_protocol_version) + ") with "
                       + std::to_string(w.slots) + " slot(s); nushell "
                       + (nu_path.empty() ? "not found" : nu_path));
  std::cout << "worker " << w.name << " started" << std::endl;
  auto why = stop.wait();
  while (why.signal == SIGHUP)
    why = stop.wait();
  caf::anon_send_exit(worker, caf::exit_reason::user_shutdown);
  if (why.signal == 0) {
    std::cerr << "error: the orchestrator refused this worker: " << why.failure << "\n";
    return exit_refused;
  }
  log_info("worker", "stopping: the attempts still running here are stopped; the orchestrator "
                     "runs them again");
  return 0;
}

} // namespace orch
