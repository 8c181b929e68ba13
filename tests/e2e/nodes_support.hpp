// What the worker-node tests share: starting `orchestrator worker`
// processes against an orchestrator's --node-port, and reading GET /nodes.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/child.hpp"
#include "tests/support/orchestrator_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace orch::test {

/// `orchestrator worker --connect 127.0.0.1:PORT --slots N --name NAME
/// [--labels L] [extra...]`, logging under `d`.
std::unique_ptr<child> start_worker(const temp_dir& d, uint16_t port, const std::string& name,
                                    int slots, const std::string& labels = "",
                                    const std::vector<std::string>& extra = {});

/// GET /nodes data.
nlohmann::json nodes(orchestrator_process& o);

/// Waits until GET /nodes lists the worker called `name`; says why not.
bool joined(orchestrator_process& o, const std::string& name, child& worker);

/// Serves with no slots here and worker nodes on a port the kernel picks;
/// a worker unheard of for 3 s is lost.
std::vector<std::string> coordinator_args(const std::string& node_port = "0");

} // namespace orch::test
