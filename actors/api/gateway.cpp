// The gateway actor: one route table made of the route groups, the
// cross-site guard when authentication is off, the router, authorization,
// and the handler; whatever a handler throws is its request's 500.
#include "actors/api/gateway.hpp"

#include <exception>

#include "caf/all.hpp"

#include "actors/api/authentication.hpp"
#include "actors/api/envelope.hpp"
#include "actors/api/route.hpp"
#include "actors/api/router.hpp"
#include "runtime/auth/passwords.hpp"
#include "runtime/auth/tokens.hpp"
#include "runtime/platform/http/cross_site_guard.hpp"

namespace orch {

namespace api {

const std::vector<route>& route_table() {
  static const std::vector<route> table = [] {
    std::vector<route> all;
    for (auto group : {dashboard_routes, system_routes, openapi_routes, node_routes, event_routes,
                       session_routes, token_routes, task_routes, output_routes, user_routes,
                       schedule_routes, workflow_routes})
      for (auto& r : group())
        all.push_back(r);
    return all;
  }();
  return table;
}

namespace {

struct gateway_state {
  // Not an aggregate: CAF constructs a state from the self pointer when it
  // can, and C++20 would let it initialise the first member with it.
  gateway_state() = default;
  gateway_peers peers;
  gateway_config cfg;
  authentication auth;
  static inline const char* name = "gateway";
};

using pointer = gateway_actor::stateful_pointer<gateway_state>;

const std::string& known_routes() {
  static const std::string text = [] {
    std::string out;
    for (auto& r : gateway_routes())
      out += (out.empty() ? "" : ", ") + r;
    return out;
  }();
  return text;
}

void dispatch(const context& ctx, const http_request& req, reply rp) {
  if (!ctx.cfg->auth_required)
    if (auto problem = cross_site_problem(req); !problem.empty())
      return rp.deliver(json_error(403, problem));
  bool faults = static_cast<bool>(ctx.cfg->fail_component);
  auto found = find_route(
    route_table(), req, [&](const route& r) { return faults || !r.fault_injection; }, known_routes());
  if (!found.route)
    return rp.deliver(std::move(found.refusal));
  auto& r = *static_cast<const route*>(found.route);
  route_args args;
  static_cast<path_args&>(args) = std::move(found.args);
  bool open = !ctx.cfg->auth_required || r.allowed == public_route;
  if (open)
    args.who = anonymous(req);
  // A refusal is audited as the address until a valid token names the user.
  if (r.action)
    rp.audit_as(open ? args.who.name : anonymous_name(req), r.action, audit_target(r, args));
  if (open)
    return r.stream_ticket ? r.handle(ctx, without_ticket(req), args, rp)
                           : r.handle(ctx, req, args, rp);
  authorize(ctx, req, r, std::move(args), rp);
}

gateway_actor::behavior_type gateway_fn(pointer self, gateway_peers peers, gateway_config cfg) {
  auto& st = self->state;
  st.peers = std::move(peers);
  st.cfg = std::move(cfg);
  // What an unknown user's sign-in is checked against, so that it takes as
  // long as a wrong password: made once per process (~60 ms), so a gateway
  // restarted by its supervisor is back at once.
  static const std::string dummy_hash = auth::hash_password(auth::to_hex(auth::random_bytes(16)));
  st.auth.dummy_hash = dummy_hash;
  context ctx{self, &st.peers, &st.cfg, &st.auth};
  return {
    [=](http_atom, const http_request& req, http_answer& answer) {
      reply rp{ctx, std::move(answer)};
      // Whatever a handler throws is this request's answer, never the
      // gateway's end; the client gets a request id, the log the detail.
      try {
        dispatch(ctx, req, rp);
      } catch (const std::exception& e) {
        if (rp.pending())
          rp.deliver(internal_error(req.method + " " + req.path.substr(0, 200) + ": " + e.what()));
      }
    },
  };
}

} // namespace

std::string audit_target(const route& r, const route_args& args) {
  if (!args.id.empty())
    return (r.pattern.front() == "workflows" ? "workflow:" : "task:") + args.id;
  if (!args.user.empty())
    return "user:" + args.user + (args.token.empty() ? "" : "/token:" + args.token);
  if (!args.name.empty())
    return "component:" + args.name;
  if (!args.schedule.empty())
    return "schedule:" + args.schedule;
  return path_text(r.pattern);
}

} // namespace api

std::vector<std::string> gateway_routes() {
  std::vector<std::string> out;
  for (auto& r : api::route_table())
    if (!r.fault_injection)
      out.push_back(std::string{r.method} + " " + api::path_text(r.pattern));
  return out;
}

gateway_actor spawn_gateway(caf::actor_system& sys, gateway_peers peers, gateway_config cfg) {
  return sys.spawn([=](api::pointer self) { return api::gateway_fn(self, peers, cfg); });
}

} // namespace orch
