// The standalone runtime: one actor system with storage, events, metrics,
// scheduler (with its queue) and API gateway; the HTTP server in front; a
// graceful stop on SIGINT/SIGTERM.
#pragma once

#include "runtime/app/settings.hpp"

namespace orch {

/// Runs until SIGINT/SIGTERM; returns the process exit code.
int run_server(const server_settings& s);

/// `nu` as the orchestrator will run it: --nu-path, else `nu` on PATH, else
/// the copy the project's set-up installed. "" if none was found.
std::string resolve_nu_path(const std::string& configured);

} // namespace orch
