// The SurrealDB test server (tests/surreal-server/server.mjs: the real
// SurrealDB engine behind a WebSocket front), started by a test on a free
// loopback port with a RocksDB store, and stopped when the object goes away
// (and by --exit-with-parent if the test process dies).
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/support/child.hpp"
#include "tests/support/temp_dir.hpp"

namespace orch::test {

class surreal_server {
public:
  /// Starts a server with root credentials root/`password`, storing its data
  /// in `store_dir` (a new temp dir if empty). Throws if it does not start.
  explicit surreal_server(std::string store_dir = {}, std::string password = "root");
  ~surreal_server();

  std::string url() const { return "ws://127.0.0.1:" + std::to_string(port_); }
  uint16_t port() const { return port_; }
  /// The server process (for its CPU and memory in benchmarks).
  pid_t pid() const;
  const std::string& store_dir() const { return store_dir_; }

  /// SIGTERM and wait (data in the store survives).
  void stop();
  /// SIGKILL.
  void kill9();
  /// Starts it again on the same store and port.
  void restart();

  /// A server shared by all tests of this process: the one CTest started
  /// for the whole run (the surreal_shared fixture, whose URL is in the
  /// file $ORCH_SURREAL_SERVER_URL_FILE names), or else one started here
  /// on first use. Each test takes a database of its own on it.
  static surreal_server& shared();

private:
  struct attach_tag {};
  /// Uses the server at `url`, started by someone else: not stopped here.
  surreal_server(attach_tag, const std::string& url);
  void launch(uint16_t port);

  std::unique_ptr<temp_dir> own_dir_;
  std::string store_dir_;
  std::string password_;
  uint16_t port_ = 0;
  int runs_ = 0;
  std::unique_ptr<child> proc_;
};

/// Runs SurrealQL as root on `url` (in namespace/database `ns`/`db`, or none
/// if empty) through the project's own RPC client, outside any orchestrator:
/// the reply as sent, one {status, result, time} per statement. Throws if
/// there is no reply.
nlohmann::json surreal_rpc_query(const std::string& url, const std::string& ns,
                                 const std::string& db, const std::string& text,
                                 nlohmann::json vars = nlohmann::json::object());

/// The same, read as the backend reads replies (surreal_outcome.hpp): the
/// statements' results, or a throw with SurrealDB's message if one failed.
nlohmann::json surreal_query(const std::string& url, const std::string& ns, const std::string& db,
                             const std::string& text, nlohmann::json vars = nlohmann::json::object());

/// A namespace/database name nobody else uses.
std::string unique_name(const std::string& prefix);

} // namespace orch::test
