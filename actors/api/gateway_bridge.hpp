// Connects the HTTP server (Asio threads) to the API gateway actor: each
// request is sent to the gateway with the http_answer that takes its answer
// straight back to the connection (no actor in between). Also counts
// requests and their latency (in the metric registry, directly: no message
// per request).
#pragma once

#include <memory>

#include "runtime/messages/interfaces.hpp"
#include "runtime/platform/http/http_server.hpp"

namespace orch {

class metric_registry;  // actors/metric_registry.hpp

request_handler make_gateway_handler(gateway_actor gateway,
                                     std::shared_ptr<metric_registry> metrics);

} // namespace orch
