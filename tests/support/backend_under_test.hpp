// The storage backend a suite runs against, chosen with --backend (see
// catch_main.cpp), and a fresh instance of it per test: a temp directory
// for the local backends, a fresh namespace/database on the SurrealDB test
// server for surrealdb-server.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "runtime/messages/actor_env.hpp"
#include "runtime/app/settings.hpp"
#include "backends/storage_client.hpp"
#include "tests/support/temp_dir.hpp"

namespace orch::test {

void select_backend(const std::string& name);
const std::string& selected_backend();

/// surrealdb-server only: sign in as a database-level user with the least
/// role the orchestrator needs (`--surreal-user editor`: DEFINE USER ... ON
/// DATABASE ... ROLES EDITOR, one per fresh database) instead of root.
void select_surreal_user(const std::string& kind);
bool surreal_least_privilege();

/// Storage settings for a fresh, empty instance of the selected backend
/// (data in `dir`, or a new namespace/database on the shared test server).
storage_settings fresh_storage(const temp_dir& dir);

/// Orchestrator command-line options for the same.
std::vector<std::string> storage_args(const storage_settings& s);

/// An open storage actor on a fresh instance of the selected backend.
class backend_under_test {
public:
  backend_under_test();
  ~backend_under_test();

  storage_client& db() { return *client_; }
  caf::actor_system& sys() { return env_.sys(); }
  const storage_settings& settings() const { return settings_; }
  const temp_dir& dir() const { return dir_; }

  /// Closes and opens the same instance again.
  void reopen();
  void close();
  void open();

private:
  temp_dir dir_{"orch-backend"};
  actor_env env_;
  storage_settings settings_;
  std::unique_ptr<storage_client> client_;
};

} // namespace orch::test
