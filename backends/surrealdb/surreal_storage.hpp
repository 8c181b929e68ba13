// The surrealdb-server backend: a remote SurrealDB (3.x) over its own RPC
// protocol (backends/surrealdb/surreal_client.hpp), shared by several
// orchestrator processes. Every write batch is one BEGIN … COMMIT with its
// preconditions checked inside; claims are atomic in the database and carry
// a lease; task events written by any process arrive through a live query.
#pragma once

#include <string>

#include "runtime/core/status.hpp"
#include "runtime/messages/storage_actor.hpp"

namespace orch::surreal {

/// Where the database is and who signs in.
struct options {
  std::string url;                           // ws://host:port or wss://host:port
  std::string ns = "orchestrator";
  std::string db = "main";
  std::string username = "root";
  std::string password;
  std::string ca_file;                       // private CA for wss://
  /// Define nothing, create nothing, refuse writes (a migration's source,
  /// a dry run's target).
  bool read_only = false;
};

} // namespace orch::surreal

namespace orch {

/// Connects (signin, namespace/database, schema) and spawns the storage
/// actor, or says why the first connection could not be made (naming the
/// URL, never the password). Blocks until then: not on a CAF thread.
result<storage_actor> spawn_surreal_storage(caf::actor_system& sys, const surreal::options& o);

} // namespace orch
