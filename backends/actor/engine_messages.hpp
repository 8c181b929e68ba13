// What the two actors behind an engine's storage handle say to each other
// (engine_actor.cpp, storage_front.cpp) and what the syncer thread reports.
// Internal to backends/actor/.
#pragma once

#include <memory>

#include "caf/allowed_unsafe_message_type.hpp"
#include "caf/typed_actor.hpp"

#include "backends/engine/group_plan.hpp"
#include "runtime/messages/storage_actor.hpp"

namespace orch {

using prepared_batch_ptr = std::shared_ptr<prepared_batch>;

} // namespace orch

// Only ever sent between the local actors of one storage backend.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(orch::prepared_batch_ptr)

namespace orch {

/// The engine actor: the storage interface, plus a batch the front has
/// prepared already, a round that is due (its own), and rounds up to N that
/// are durable or whose sync failed (from the syncer thread).
using engine_actor = storage_actor::extend<
  caf::replies_to<commit_atom, prepared_batch_ptr>::with<uint64_t>,
  caf::reacts_to<caf::flush_atom>,
  caf::reacts_to<synced_atom, uint64_t, std::string>>;

/// Spawns the detached actor that owns `engine` (engine_actor.cpp).
engine_actor spawn_engine_core(caf::actor_system& sys, std::unique_ptr<storage_engine> engine);

} // namespace orch
