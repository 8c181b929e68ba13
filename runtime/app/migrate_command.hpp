// `orchestrator migrate`: moves every record between any two backends. Checks
// both ends first (reachable, credentials, target writable and empty unless
// --merge, enough disk), runs the streaming pipeline (runtime/migrate/pipeline.hpp)
// with progress on stderr, optionally verifies record by record, and returns
// the target to its state before the run if anything fails. Resumable and
// idempotent through a journal kept beside the target.
#pragma once

#include "runtime/app/settings.hpp"

namespace orch {

/// Exit code: 0 done, 1 failed (the target was rolled back where possible),
/// 2 the request or the ends are not usable as given.
int run_migrate(const migrate_settings& s);

} // namespace orch
