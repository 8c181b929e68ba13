#include "tests/support/surreal_server.hpp"

#include "backends/surrealdb/surreal_client.hpp"
#include "backends/surrealdb/surreal_outcome.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <regex>
#include <stdexcept>

namespace orch::test {

surreal_server::surreal_server(std::string store_dir, std::string password)
  : store_dir_(std::move(store_dir)), password_(std::move(password)) {
  if (store_dir_.empty()) {
    own_dir_ = std::make_unique<temp_dir>("orch-surreal");
    store_dir_ = own_dir_->path();
  }
  std::filesystem::create_directories(store_dir_);
  launch(0);
}

nlohmann::json surreal_rpc_query(const std::string& url, const std::string& ns,
                                 const std::string& db, const std::string& text,
                                 nlohmann::json vars) {
  surreal::client c{{url, ns, db, "root", "root", {}}};
  if (auto err = c.start(); !err.empty())
    throw std::runtime_error(err);
  std::promise<surreal::rpc_result> reply;
  c.call("query", nlohmann::json::array({text, std::move(vars)}),
         [&](surreal::rpc_result r) { reply.set_value(std::move(r)); });
  auto r = reply.get_future().get();
  c.stop();
  if (!r.ok())
    throw std::runtime_error(text + ": " + r.message());
  return r.value();
}

nlohmann::json surreal_query(const std::string& url, const std::string& ns, const std::string& db,
                             const std::string& text, nlohmann::json vars) {
  auto o = surreal::interpret(surreal_rpc_query(url, ns, db, text, std::move(vars)));
  if (!o.st)
    throw std::runtime_error(text + ": " + o.st.message());
  return o.results;
}

surreal_server::~surreal_server() {
  stop();
}

pid_t surreal_server::pid() const {
  return proc_ ? proc_->pid() : -1;
}

void surreal_server::launch(uint16_t port) {
  std::vector<std::string> argv{"node",
                                ORCH_SOURCE_DIR "/tests/surreal-server/server.mjs",
                                "--port",
                                std::to_string(port),
                                "--bind",
                                "127.0.0.1",
                                "--user",
                                "root",
                                "--pass",
                                password_,
                                "--store",
                                "rocksdb://" + store_dir_ + "/db",
                                "--exit-with-parent"};
  proc_ = std::make_unique<child>(argv, store_dir_ + "/server-" + std::to_string(runs_++));
  if (!proc_->wait_for_output("LISTENING ", std::chrono::seconds(60)))
    throw std::runtime_error("the SurrealDB test server did not start:\n" + proc_->err());
  std::smatch m;
  auto out = proc_->out();
  if (!std::regex_search(out, m, std::regex{"LISTENING [0-9.]+:([0-9]+)"}))
    throw std::runtime_error("no port in the test server's output: " + out);
  port_ = static_cast<uint16_t>(std::stoi(m[1]));
}

void surreal_server::stop() {
  if (proc_)
    proc_->terminate(std::chrono::seconds(30));
}

void surreal_server::kill9() {
  if (proc_)
    proc_->kill9();
}

void surreal_server::restart() {
  stop();
  launch(port_);
}

surreal_server::surreal_server(attach_tag, const std::string& url) {
  std::smatch m;
  if (!std::regex_match(url, m, std::regex{"ws://127\\.0\\.0\\.1:([0-9]+)"}))
    throw std::runtime_error("not a test server's URL: " + url);
  port_ = static_cast<uint16_t>(std::stoi(m[1]));
}

namespace {

/// The URL of the server CTest started for the run, or "".
std::string run_server_url() {
  const char* file = std::getenv("ORCH_SURREAL_SERVER_URL_FILE");
  std::string url;
  if (file)
    std::ifstream{file} >> url;
  return url;
}

} // namespace

surreal_server& surreal_server::shared() {
  static std::unique_ptr<surreal_server> server = [] {
    auto url = run_server_url();
    return url.empty() ? std::make_unique<surreal_server>()
                       : std::unique_ptr<surreal_server>(new surreal_server{attach_tag{}, url});
  }();
  return *server;
}

std::string unique_name(const std::string& prefix) {
  static std::mt19937_64 rng{std::random_device{}()};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return prefix + buf;
}

} // namespace orch::test
