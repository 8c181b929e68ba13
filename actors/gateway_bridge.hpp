// Connects the HTTP server (Asio threads) to the API gateway actor: each
// request is handed to a short-lived actor that asks the gateway and passes
// the reply back to the connection. Also counts requests and their latency.
#pragma once

#include "runtime/messages/interfaces.hpp"
#include "runtime/platform/http/http_server.hpp"

namespace orch {

request_handler make_gateway_handler(caf::actor_system& sys, gateway_actor gateway,
                                     metrics_actor metrics);

} // namespace orch
