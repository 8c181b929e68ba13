#include "actors/api/gateway_bridge.hpp"

#include "caf/all.hpp"

#include "actors/api/envelope.hpp"
#include "actors/api/gateway.hpp"
#include "actors/metric_registry.hpp"

namespace orch {

request_handler make_gateway_handler(caf::actor_system& sys, gateway_actor gateway,
                                     std::shared_ptr<metric_registry> metrics,
                                     std::chrono::seconds gateway_longest) {
  // Longer than any request inside the gateway, so the gateway always
  // answers first (with the error that says what timed out).
  auto gateway_timeout = gateway_longest + std::chrono::seconds(10);
  return [&sys, gateway, metrics, gateway_timeout](http_request req, http_reply_fn reply) {
    sys.spawn([=](caf::event_based_actor* self) {
      auto started = now_us();
      auto finish = [=](http_response r) {
        metrics->count("orchestrator_http_requests_total",
                       "code=\"" + std::to_string(r.status) + "\"");
        metrics->observe("orchestrator_http_request_duration_seconds", {},
                         static_cast<double>(now_us() - started) / us_per_second);
        reply(std::move(r));
      };
      self->request(gateway, gateway_timeout, http_atom_v, req)
        .then([=](http_response& r) { finish(std::move(r)); },
              [=](caf::error& e) {
                finish(error_code(e) == errc::unavailable
                         ? api::json_error(503, error_text(e))
                         : api::internal_error("the gateway did not answer: " + error_text(e)));
              });
    });
  };
}

} // namespace orch
