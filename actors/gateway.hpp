// The API gateway: turns REST requests into messages to the scheduler,
// storage and metrics actors, and their replies into JSON responses with the
// envelope {"success": true, "data": ...} / {"success": false, "error": "..."}.
// Every client-supplied id is validated here, before it reaches storage.
#pragma once

#include <string>

#include "runtime/messages/interfaces.hpp"
#include "runtime/messages/storage_actor.hpp"

namespace orch {

struct gateway_config {
  std::string version;
};

gateway_actor spawn_gateway(caf::actor_system& sys, storage_actor storage,
                            scheduler_actor scheduler, metrics_actor metrics, gateway_config cfg);

/// Response helpers shared with the HTTP layer.
http_response json_error(int status, const std::string& message);

} // namespace orch
