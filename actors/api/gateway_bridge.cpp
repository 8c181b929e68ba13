#include "actors/api/gateway_bridge.hpp"

#include "caf/all.hpp"

#include "actors/api/envelope.hpp"
#include "actors/metric_registry.hpp"

namespace orch {

request_handler make_gateway_handler(gateway_actor gateway,
                                     std::shared_ptr<metric_registry> metrics) {
  return [gateway, metrics](http_request req, http_reply_fn reply) {
    auto started = now_us();
    http_answer answer{
      [metrics, started, reply = std::move(reply)](http_response r) {
        metrics->count("orchestrator_http_requests_total",
                       "code=\"" + std::to_string(r.status) + "\"");
        metrics->observe("orchestrator_http_request_duration_seconds", {},
                         static_cast<double>(now_us() - started) / us_per_second);
        reply(std::move(r));
      },
      // The request was dropped unanswered: the gateway stopped (it is
      // restarted) or lost it.
      api::json_error(503, "the API gateway stopped before it answered; try again")};
    caf::anon_send(gateway, http_atom_v, std::move(req), std::move(answer));
  };
}

} // namespace orch
