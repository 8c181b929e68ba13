#include "runtime/messages/node_types.hpp"

namespace orch {

std::string node_app_identifier(uint32_t protocol) {
  return "orchestrator-nodes-v" + std::to_string(protocol);
}

} // namespace orch
