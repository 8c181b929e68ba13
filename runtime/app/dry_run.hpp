// `orchestrator --dry-run`: checks the configuration and the storage, prints
// what would be used, and starts nothing.
#pragma once

#include <string>

#include "runtime/app/settings.hpp"
#include "runtime/messages/storage_actor.hpp"

namespace orch {

/// Prints the check's findings; returns the exit code (0: usable).
int report_dry_run(caf::actor_system& sys, storage_actor storage, const server_settings& s,
                   const std::string& nu_path);

} // namespace orch
