// The API gateway: turns REST requests into messages to the scheduler,
// storage, audit and metrics actors, and their replies into JSON responses
// with the envelope {"success": true, "data": ...} / {"success": false,
// "error": "..."} (envelope.hpp). Every client-supplied id is validated by
// the router before it reaches storage, and no request, however malformed,
// ends the gateway: what a handler throws is that request's 500.
//
// The folder: router.hpp (which route, 400/404/405), authentication.hpp
// (bearer tokens, the principal), reply.hpp (the answer, and the audit
// record of a refusal), context.hpp (what a handler may use), and one
// routes_*.cpp per route group, each adding its rows to the table.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "caf/typed_actor.hpp"

#include "runtime/messages/interfaces.hpp"
#include "runtime/messages/storage_actor.hpp"

namespace orch {

struct gateway_config {
  std::string version;
  std::chrono::seconds storage_timeout{30};    // reads and backups' start
  std::chrono::seconds scheduler_timeout{60};  // submissions, cancels, retries
  std::chrono::seconds backup_timeout{1800};   // a whole backup
  std::chrono::seconds health_timeout{5};      // /health and /metrics: quick or 503
  /// Fault injection for tests (--fault-injection): POST /debug/fail/{name}
  /// makes the named component fail as in a crash. False if it knows no such
  /// component. Empty: the route does not exist.
  std::function<bool(const std::string&)> fail_component;

  /// Bearer tokens on every route but /health and /auth/login
  /// (--auth required, or auto on a non-loopback address).
  bool auth_required = false;
  std::chrono::seconds token_ttl{12 * 3600};  // a sign-in lasts this long (--token-ttl)
  /// A token checked this recently is not read again: a revocation made on
  /// another instance that shares the storage takes effect within this time
  /// (on this instance, at once).
  std::chrono::milliseconds token_recheck{1000};
  /// Checks the tokens of running tasks (runtime/auth/task_tokens.hpp).
  std::string task_token_key;
  std::string backup_dir;                      // POST /admin/backup writes only here
  std::string workflow_templates;              // --workflow-templates; "" none
  uint32_t max_hashing = 8;                    // password checks at once; more get 503
  /// GET /events writes a comment this often when nothing else comes.
  std::chrono::milliseconds stream_keepalive{15000};

  /// The longest any request inside the gateway may take: what its callers
  /// wait for before they give up on it.
  std::chrono::seconds longest_timeout() const {
    return std::max({storage_timeout, scheduler_timeout, backup_timeout, health_timeout});
  }
};

/// The actors a gateway sends to.
struct gateway_peers {
  storage_actor storage;
  scheduler_actor scheduler;
  metrics_actor metrics;
  audit_actor audit;                           // the records of refusals and backups; GET /audit
  events_actor events;                         // GET /events subscribes its streams here
  schedules_actor schedules;                   // told of each change to a schedule
};

gateway_actor spawn_gateway(caf::actor_system& sys, gateway_peers peers, gateway_config cfg);

/// The routes the gateway serves, as "METHOD /path/{param}" (for the 404
/// message, and for tests that compare with the README).
std::vector<std::string> gateway_routes();

} // namespace orch
