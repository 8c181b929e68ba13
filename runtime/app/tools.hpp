// The maintenance commands: `orchestrator backup` and `orchestrator restore`.
#pragma once

#include <string>

#include "runtime/app/settings.hpp"

namespace orch {

int run_backup(const backup_settings& s);
int run_restore(const restore_settings& s);

/// Where a running orchestrator writes the address of its REST API, so that
/// tools can find it (the backup of a locked backend asks it).
std::string admin_url_file(const storage_settings& s);

} // namespace orch
