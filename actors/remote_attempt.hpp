// An attempt that runs on a worker node, as the scheduler sees it: an
// executor like the local one (cancel it; it reports one exec_result to its
// listener, then ends), whose process runs on the node. It watches the
// node: when the node is lost, the attempt ends with an error naming it.
#pragma once

#include <string>

#include "runtime/messages/interfaces.hpp"
#include "runtime/messages/node_types.hpp"

namespace orch {

executor_actor spawn_remote_attempt(caf::actor_system& sys, node_worker_actor node,
                                    std::string node_name, node_attempt attempt,
                                    exec_listener_actor listener);

/// The result of an attempt whose node was lost while it ran.
exec_result lost_on_node(const exec_spec& spec, const std::string& node_name,
                         const std::string& why);

} // namespace orch
