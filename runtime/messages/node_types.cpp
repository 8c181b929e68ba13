#include "runtime/messages/node_types.hpp"

#include "caf/config.hpp"

namespace orch {

std::string node_app_identifier(uint32_t protocol) {
  return "orchestrator-nodes-v" + std::to_string(protocol);
}

std::string caf_version_text() {
  return std::to_string(CAF_MAJOR_VERSION) + "." + std::to_string(CAF_MINOR_VERSION) + "."
         + std::to_string(CAF_PATCH_VERSION);
}

} // namespace orch
