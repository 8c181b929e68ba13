// `orchestrator worker --connect HOST:PORT --slots N [--labels k=v,...]
// [--name NAME]`: a process that offers its slots to an orchestrator
// (its --node-port) and runs the tasks placed on them.
#pragma once

#include <map>
#include <string>

#include "runtime/app/settings.hpp"

namespace CLI {
class App;
}

namespace orch {

/// Adds the subcommand and its options; returns it.
CLI::App* add_worker_command(CLI::App& app, worker_settings& w);

/// Checks what CLI11 cannot (addresses, labels) and fills in defaults;
/// an error message, or "".
std::string finish_worker_settings(worker_settings& w);


/// Runs until SIGINT/SIGTERM (0), or until the orchestrator refuses it (2).
int run_worker(const worker_settings& w);

} // namespace orch
