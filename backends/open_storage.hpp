// Opening the configured backend: the only place that knows every backend.
#pragma once

#include "runtime/messages/storage_actor.hpp"
#include "backends/engine/storage_settings.hpp"

namespace orch {

/// Opens the backend and spawns its storage actor. Throws storage_failure
/// (backends/storage_engine.hpp) with a message for the user.
storage_actor open_storage(caf::actor_system& sys, const storage_settings& cfg);

} // namespace orch
