// The surrealdb-server backend: a remote SurrealDB (3.x) over its own RPC
// protocol (backends/surrealdb/surreal_client.hpp), shared by several
// orchestrator processes. Every write batch is one BEGIN … COMMIT with its
// preconditions checked inside; claims are atomic in the database and carry
// a lease; task events written by any process arrive through a live query.
#pragma once

#include "runtime/messages/storage_actor.hpp"
#include "backends/engine/storage_settings.hpp"

namespace orch {

/// Connects (signin, namespace/database, schema) and spawns the storage
/// actor. Throws storage_failure with a message naming the URL (never the
/// password) if the first connection cannot be made.
storage_actor spawn_surreal_storage(caf::actor_system& sys, const storage_settings& s);

} // namespace orch
