// The storage actor of a synchronous engine (filesystem, RocksDB): a front on
// CAF's scheduler that validates write batches, and a detached engine actor
// that owns the engine and commits in rounds (group commit).
#pragma once

#include <memory>

#include "backends/engine/storage_engine.hpp"
#include "runtime/messages/storage_actor.hpp"

namespace orch {

/// Spawns the storage actor that owns `engine`.
storage_actor spawn_engine_actor(caf::actor_system& sys, std::unique_ptr<storage_engine> engine);

} // namespace orch
