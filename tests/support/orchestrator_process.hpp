// The real orchestrator binary, started for a test on a free loopback port.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/child.hpp"
#include "runtime/platform/http/http_client.hpp"

namespace orch::test {

/// Path of the orchestrator binary under test (set by CMake).
std::string orchestrator_binary();

class orchestrator_process {
public:
  /// Starts `orchestrator --port 0 <args...>` and waits until it listens;
  /// `prefix` comes before the binary (e.g. unprivileged_prefix()).
  /// Throws std::runtime_error with its stderr if it does not start.
  orchestrator_process(std::vector<std::string> args, const std::string& log_base,
                       std::vector<std::string> prefix = {},
                       std::map<std::string, std::string> env = {});

  uint16_t port() const { return port_; }
  /// The worker nodes' port it printed ("nodes on HOST:PORT"), 0 without
  /// --node-port.
  uint16_t node_port() const { return node_port_; }
  http_client& http() { return *client_; }
  child& proc() { return *proc_; }

  /// POST /tasks; returns the created task (throws unless 201).
  nlohmann::json submit(const nlohmann::json& task);
  /// GET /tasks/{id} data.
  nlohmann::json task(const std::string& id);
  /// Waits until the task reaches a terminal status; returns it.
  nlohmann::json wait_terminal(const std::string& id,
                               std::chrono::milliseconds timeout = std::chrono::seconds(60));

private:
  std::unique_ptr<child> proc_;
  std::unique_ptr<http_client> client_;
  uint16_t port_ = 0;
  uint16_t node_port_ = 0;
};

/// Runs the orchestrator binary to completion (e.g. --dry-run, --help).
struct run_result {
  int exit_code;
  std::string out;
  std::string err;
};
/// `prefix` comes before the binary (e.g. setpriv to run it as another user).
run_result run_orchestrator(std::vector<std::string> args, const std::string& log_base,
                            std::map<std::string, std::string> env = {},
                            std::vector<std::string> prefix = {});

} // namespace orch::test
