#include "actors/gateway.hpp"

#include <algorithm>
#include <cctype>
#include <exception>

#include <nlohmann/json.hpp>

#include "caf/all.hpp"

#include "actors/gateway_routes.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/core/log.hpp"
#include "runtime/auth/passwords.hpp"
#include "runtime/auth/tokens.hpp"

namespace orch {

namespace gateway {

namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos < path.size()) {
    auto next = path.find('/', pos);
    if (next == std::string::npos)
      next = path.size();
    if (next > pos)
      parts.push_back(path.substr(pos, next - pos));
    pos = next + 1;
  }
  return parts;
}

/// "" if the id is acceptable, else the message for a 400.
std::string check_task_id(const std::string& id) {
  if (is_uuid(id))
    return {};
  auto shown = id.size() > 80 ? id.substr(0, 80) + "..." : id;
  return "invalid task id '" + shown
         + "': task ids are lower-case UUIDs such as 3f2b8c1e-9d4a-4f6b-8e2a-1c3d5e7f9a0b";
}

enum class fit { no, yes, bad_id };

/// Does the path fit the route's pattern? A segment where the pattern has
/// {id} must be a task id: one that is not makes the request a 400 whatever
/// follows (no path trick reaches storage).
fit match(const route& r, const std::vector<std::string>& parts, route_args& args,
          std::string& problem) {
  for (size_t i = 0; i < r.pattern.size(); ++i) {
    if (i >= parts.size())
      return fit::no;
    if (r.pattern[i] == "{user}" || r.pattern[i] == "{token}") {
      if (!is_valid_username(parts[i]))
        return fit::no;
      (r.pattern[i] == "{user}" ? args.user : args.token) = parts[i];
    } else if (r.pattern[i] == "{name}") {
      if (parts[i].empty() || parts[i].size() > 64
          || parts[i].find_first_not_of("abcdefghijklmnopqrstuvwxyz_") != std::string::npos)
        return fit::no;
      args.name = parts[i];
    } else if (r.pattern[i] == "{id}") {
      if (auto err = check_task_id(parts[i]); !err.empty()) {
        problem = err;
        return fit::bad_id;
      }
      args.id = parts[i];
    } else if (r.pattern[i] != parts[i]) {
      return fit::no;
    }
  }
  return parts.size() == r.pattern.size() ? fit::yes : fit::no;
}

std::string path_of(const route& r) {
  std::string out;
  for (auto& p : r.pattern)
    out += "/" + std::string{p};
  return out;
}

/// "localhost", "127.0.0.1", "[::1]" (a port after them allowed)?
bool loopback_host(std::string host) {
  if (host.rfind("[::1]", 0) == 0)
    return host.size() == 5 || host[5] == ':';
  if (auto colon = host.find(':'); colon != std::string::npos)
    host.resize(colon);
  return host == "localhost" || (host.rfind("127.", 0) == 0
                                 && host.find_first_not_of("0123456789.") == std::string::npos);
}

/// With authentication off, anyone who can reach the loopback port may do
/// everything: a web page in a local browser too, unless a request a
/// browser sends for another site is refused. Such a request names that
/// site in Origin (cross-site forgery) or, through DNS rebinding, in Host.
/// A Host that DNS rebinding can put there: a domain name (a page's
/// hostname re-pointed at 127.0.0.1). IP literals and single-label names
/// cannot be an attacker's site, and localhost is this machine.
bool rebindable_host(std::string host) {
  if (host.empty() || host[0] == '[')
    return false;
  if (auto colon = host.find(':'); colon != std::string::npos)
    host.resize(colon);
  std::transform(host.begin(), host.end(), host.begin(), ::tolower);
  if (host == "localhost" || (host.size() > 10 && host.substr(host.size() - 10) == ".localhost"))
    return false;
  if (host.find_first_not_of("0123456789.") == std::string::npos)
    return false;
  return host.find('.') != std::string::npos;
}

std::string cross_site_problem(const http_request& req) {
  if (rebindable_host(req.host))
    return "with authentication disabled this server answers requests for localhost or an IP "
           "address only (Host: " + req.host.substr(0, 80) + "); enable --auth to serve a name";
  if (!req.origin.empty()) {
    auto rest = req.origin.substr(req.origin.find("://") == std::string::npos
                                    ? 0 : req.origin.find("://") + 3);
    if (!loopback_host(rest))
      return "a request from the web page at " + req.origin.substr(0, 80)
             + " is refused: with authentication disabled only local clients may call this API";
  }
  return {};
}

/// With authentication off, a request acts with every role, as its address.
principal anonymous(const http_request& req) {
  return {"api:" + req.remote, auth::any_role, {}, 0, {}};
}

void dispatch(pointer self, const http_request& req, reply rp) {
  if (!self->state.cfg.auth_required)
    if (auto problem = cross_site_problem(req); !problem.empty())
      return void(rp.deliver(json_error(403, problem)));
  auto parts = split_path(req.path);
  std::string allowed, id_problem;
  for (auto& r : routes()) {
    if (r.fault_injection && !self->state.cfg.fail_component)
      continue;
    route_args args;
    std::string problem;
    auto f = match(r, parts, args, problem);
    if (f == fit::bad_id && id_problem.empty())
      id_problem = problem;
    if (f != fit::yes)
      continue;
    if (req.method == r.method) {
      if (!self->state.cfg.auth_required || r.allowed == public_route) {
        args.who = anonymous(req);
        if (r.action)
          rp.audit_as(args.who.name, r.action, audit_target(r, args));
        return r.handle(self, req, args, rp);
      }
      return authorize(self, req, r, std::move(args), rp);
    }
    allowed += (allowed.empty() ? "" : ", ") + std::string{r.method};
  }
  if (!allowed.empty())
    return void(rp.deliver(json_error(405, "method " + req.method + " is not allowed on "
                                             + req.path + " (allowed: " + allowed + ")")));
  if (!id_problem.empty())
    return void(rp.deliver(json_error(400, id_problem)));
  std::string known;
  for (auto& r : gateway_routes())
    known += (known.empty() ? "" : ", ") + r;
  rp.deliver(json_error(404, "no such endpoint: " + req.method + " " + req.path + " (see "
                               + known + ")"));
}

gateway_actor::behavior_type gateway_fn(pointer self, storage_actor storage,
                                        scheduler_actor scheduler, metrics_actor metrics,
                                        gateway_config cfg) {
  self->state.storage = std::move(storage);
  self->state.scheduler = std::move(scheduler);
  self->state.metrics = std::move(metrics);
  self->state.cfg = std::move(cfg);
  // What an unknown user's sign-in is checked against, so that it takes as
  // long as a wrong password (made once, off the hot path).
  self->state.dummy_hash = auth::hash_password(auth::to_hex(auth::random_bytes(16)));
  return {
    [=](http_atom, const http_request& req) -> caf::result<http_response> {
      auto promise = self->make_response_promise<http_response>();
      reply rp{self, promise};
      // Whatever a handler throws is this request's answer, never the
      // gateway's end.
      try {
        dispatch(self, req, rp);
      } catch (const std::exception& e) {
        log_error("gateway", req.method + " " + req.path + " failed: " + e.what());
        if (rp.pending())
          rp.deliver(json_error(500, std::string{"internal error: "} + e.what()));
      }
      return promise;
    },
  };
}

} // namespace

} // namespace gateway

http_response json_error(int status, const std::string& message) {
  json body{{"success", false}, {"error", message}};
  return {status, "application/json", canonical(body)};
}

std::vector<std::string> gateway_routes() {
  std::vector<std::string> out;
  for (auto& r : gateway::routes())
    if (!r.fault_injection)
      out.push_back(std::string{r.method} + " " + gateway::path_of(r));
  return out;
}

gateway_actor spawn_gateway(caf::actor_system& sys, storage_actor storage,
                            scheduler_actor scheduler, metrics_actor metrics, gateway_config cfg) {
  return sys.spawn([=](gateway::pointer self) {
    return gateway::gateway_fn(self, storage, scheduler, metrics, cfg);
  });
}

} // namespace orch
