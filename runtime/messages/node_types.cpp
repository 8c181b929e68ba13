#include "runtime/messages/node_types.hpp"

#include "caf/config.hpp"

namespace orch {

std::vector<std::string> node_app_identifiers(uint32_t protocol) {
  return {"orchestrator-nodes-v" + std::to_string(protocol), "orchestrator-nodes"};
}

std::string caf_version_text() {
  return std::to_string(CAF_MAJOR_VERSION) + "." + std::to_string(CAF_MINOR_VERSION) + "."
         + std::to_string(CAF_PATCH_VERSION);
}

} // namespace orch
