// Opening the configured backend: the only place that knows every backend.
#pragma once

#include "backends/engine/storage_settings.hpp"
#include "runtime/core/status.hpp"
#include "runtime/messages/storage_actor.hpp"

namespace orch {

/// Opens the backend and spawns its storage actor, or says why it cannot
/// (errc::invalid: the settings; locked: another process has it;
/// unavailable: a server that does not answer; io_error, corrupted).
result<storage_actor> open_storage(caf::actor_system& sys, const storage_settings& cfg);

} // namespace orch
