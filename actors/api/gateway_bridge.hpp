// Connects the HTTP server (Asio threads) to the API gateway actor: each
// request is handed to a short-lived actor that asks the gateway and passes
// the reply back to the connection. Also counts requests and their latency
// (in the metric registry, directly: no message per request).
#pragma once

#include <chrono>
#include <memory>

#include "runtime/messages/interfaces.hpp"
#include "runtime/platform/http/http_server.hpp"

namespace orch {

class metric_registry;  // actors/metric_registry.hpp

/// `gateway_longest`: the longest a request may take inside the gateway
/// (gateway_config::longest_timeout()).
request_handler make_gateway_handler(caf::actor_system& sys, gateway_actor gateway,
                                     std::shared_ptr<metric_registry> metrics,
                                     std::chrono::seconds gateway_longest);

} // namespace orch
