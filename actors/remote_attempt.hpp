// An attempt that runs on a worker node, as the scheduler sees it: an
// executor like the local one (cancel it; it reports one exec_result to its
// listener, then ends), whose process runs on the node. It places the
// attempt through the node's session (node_session.hpp), which tells it the
// result, or that the attempt was lost with the node. The node relays the
// attempt's output as it is written into `live`, which is finished when the
// attempt is reported; an attempt lost with its node keeps what came.
#pragma once

#include <memory>
#include <string>

#include "runtime/messages/interfaces.hpp"
#include "runtime/messages/node_types.hpp"

namespace orch {

executor_actor spawn_remote_attempt(caf::actor_system& sys, node_session_actor session,
                                    std::string node_name, node_attempt attempt,
                                    exec_listener_actor listener,
                                    std::shared_ptr<live_output> live);

/// The result of an attempt lost with its node, with the output relayed
/// before it was lost (`live`, if any).
exec_result lost_on_node(const std::string& task_id, uint32_t attempt,
                         const std::string& node_name, const std::string& why,
                         live_output* live);

} // namespace orch
