#include "tests/support/orchestrator_process.hpp"

#include <cstdlib>

#include <regex>
#include <stdexcept>

#include "tests/support/wait.hpp"

namespace orch::test {

std::string orchestrator_binary() {
  // A benchmark may compare another build: ORCH_BINARY=/path/to/orchestrator.
  if (const char* other = std::getenv("ORCH_BINARY"); other && *other)
    return other;
  return ORCH_TEST_BINARY;
}

orchestrator_process::orchestrator_process(std::vector<std::string> args,
                                           const std::string& log_base,
                                           std::vector<std::string> prefix,
                                           std::map<std::string, std::string> env) {
  auto argv = std::move(prefix);
  argv.insert(argv.end(), {orchestrator_binary(), "--port", "0"});
  argv.insert(argv.end(), args.begin(), args.end());
  proc_ = std::make_unique<child>(argv, log_base, std::move(env));
  if (!proc_->wait_for_output("listening on http", std::chrono::seconds(60)))
    throw std::runtime_error("orchestrator did not start; stderr:\n" + proc_->err());
  std::smatch m;
  auto out = proc_->out();
  if (!std::regex_search(out, m, std::regex{"listening on https?://([0-9.]+):([0-9]+)"}))
    throw std::runtime_error("cannot find the port in: " + out);
  port_ = static_cast<uint16_t>(std::stoi(m[2]));
  client_ = std::make_unique<http_client>(m[1], port_);
  // Printed before the API's line, so it is there by now.
  if (std::regex_search(out, m, std::regex{"nodes on [0-9.]+:([0-9]+)"}))
    node_port_ = static_cast<uint16_t>(std::stoi(m[1]));
}

nlohmann::json orchestrator_process::submit(const nlohmann::json& t) {
  auto r = client_->post("/tasks", t.dump());
  if (r.status != 201)
    throw std::runtime_error("submit failed: " + std::to_string(r.status) + " " + r.body);
  return r.json()["data"];
}

nlohmann::json orchestrator_process::task(const std::string& id) {
  auto r = client_->get("/tasks/" + id);
  if (r.status != 200)
    throw std::runtime_error("GET /tasks/" + id + " failed: " + std::to_string(r.status) + " "
                             + r.body + r.error);
  return r.json()["data"];
}

nlohmann::json orchestrator_process::wait_terminal(const std::string& id,
                                                   std::chrono::milliseconds timeout) {
  nlohmann::json t;
  auto ok = wait_until(
    [&] {
      t = task(id);
      auto s = t["status"].get<std::string>();
      return s == "Completed" || s == "Failed" || s == "Cancelled";
    },
    timeout);
  if (!ok)
    throw std::runtime_error("task " + id + " did not finish: " + t.dump());
  return t;
}

run_result run_orchestrator(std::vector<std::string> args, const std::string& log_base,
                            std::map<std::string, std::string> env,
                            std::vector<std::string> prefix) {
  auto argv = std::move(prefix);
  argv.push_back(orchestrator_binary());
  argv.insert(argv.end(), args.begin(), args.end());
  child c{argv, log_base, std::move(env)};
  auto code = c.wait_exit(std::chrono::seconds(60));
  return {code, c.out(), c.err()};
}

} // namespace orch::test
