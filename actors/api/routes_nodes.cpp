// Where tasks run: GET /nodes lists this orchestrator's own slots and every
// worker node registered with it (orchestrator worker), as the scheduler
// sees them now.
#include <nlohmann/json.hpp>

#include "caf/all.hpp"

#include "actors/api/envelope.hpp"
#include "actors/api/route.hpp"
#include "runtime/core/clock.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/messages/guarded.hpp"

namespace orch::api {

namespace {

using nlohmann::json;

json node_json(const node_status& n) {
  return {{"name", n.name},
          {"registration", n.registration},
          {"address", n.address},
          {"version", n.version},
          {"caf_version", n.caf_version},
          {"labels", n.labels},
          {"slots", n.slots},
          {"running", n.running},
          {"completed", n.completed},
          {"joined_at", format_rfc3339(n.joined_at)},
          // This orchestrator's own slots have no heartbeat: null.
          {"last_heartbeat", n.last_heartbeat == 0 ? json(nullptr)
                                                   : json(format_rfc3339(n.last_heartbeat))},
          {"local", n.local}};
}

void nodes(const context& ctx, const http_request&, const route_args&, reply rp) {
  ctx.self->request(ctx.peers->scheduler, ctx.cfg->health_timeout, nodes_atom_v)
    .then(guarded("gateway",
                  [=](const std::vector<node_status>& found) mutable {
                    json list = json::array();
                    uint32_t slots = 0, running = 0;
                    for (auto& n : found) {
                      list.push_back(node_json(n));
                      slots += n.slots;
                      running += n.running;
                    }
                    rp.deliver(json_ok(200, canonical(json{{"nodes", list},
                                                           {"slots", slots},
                                                           {"running", running}})));
                  }),
          [=](caf::error& e) mutable { rp.deliver(from_error(e)); });
}

} // namespace

std::vector<route> node_routes() {
  return {
    {"GET", {"nodes"}, nodes, readers},
  };
}

} // namespace orch::api
