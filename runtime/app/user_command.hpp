// `orchestrator user add|list|disable|enable|passwd|roles|remove`: on the
// storage itself when nothing holds it, else through the running
// orchestrator's API (as `backup` does), with a token when it requires one.
#pragma once

#include "runtime/app/settings.hpp"

namespace orch {

int run_user(const user_settings& s);

} // namespace orch
