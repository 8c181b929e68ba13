// The maintenance commands: `orchestrator backup` and `orchestrator restore`.
#pragma once

#include <string>

#include "runtime/app/settings.hpp"

namespace orch {

int run_backup(const backup_settings& s);
int run_restore(const restore_settings& s);

} // namespace orch
