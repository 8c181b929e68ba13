// Undoing a migration from its journal: every key it wrote is removed again,
// and every record it replaced gets its earlier version back, in batches.
// While the target is unreachable the rollback keeps retrying, up to a limit.
#pragma once

#include <chrono>
#include <string>

#include "runtime/messages/storage_actor.hpp"
#include "runtime/core/status.hpp"
#include "runtime/migrate/journal.hpp"

namespace orch::migration {

/// Success once the target is back to its state before the migration, else
/// why not.
status rollback(caf::actor_system& sys, storage_actor target, const journal_state& journal,
                uint32_t batch_size, std::chrono::seconds timeout);

} // namespace orch::migration
