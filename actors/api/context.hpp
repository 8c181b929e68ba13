// What a route's handler gets: the request's validated path parameters and
// principal (route_args), and a narrow context: the actor it runs on (to
// ask other actors; their replies arrive on it), the actors it may ask, the
// settings, and the sign-in state for the routes that manage it. Handlers
// never see the gateway's whole state.
#pragma once

#include <string>
#include <utility>

#include "caf/typed_event_based_actor.hpp"

#include "actors/api/gateway.hpp"
#include "actors/api/router.hpp"
#include "runtime/auth/roles.hpp"
#include "runtime/core/clock.hpp"

namespace orch::api {

struct authentication;  // authentication.hpp

/// Who sent a request: a signed-in user (or a named token's user), or, with
/// authentication disabled, the client's address.
struct principal {
  std::string name;                          // "alice", or "api:127.0.0.1"
  auth::role_set roles = 0;
  std::string session_id;                    // "" when authentication is disabled
  micros expires = 0;                        // the session's end; 0: none
  std::string token_name;                    // a named API token's name, or ""
  /// A running task's own token (ORCHESTRATOR_TOKEN): the task. It may call
  /// only the routes marked `task_tokens`, for its own child tasks.
  std::string task_id;
};

/// The path's parameters and who asks.
struct route_args : path_args {
  principal who;
};

struct context {
  gateway_actor::pointer self;
  const gateway_peers* peers;
  const gateway_config* cfg;
  authentication* auth;

  /// A request to storage with the storage timeout; .then() it.
  template <class... Ts>
  auto ask_storage(Ts&&... xs) const {
    return self->request(peers->storage, cfg->storage_timeout, std::forward<Ts>(xs)...);
  }

  /// A request to the scheduler with the scheduler's timeout; .then() it.
  template <class... Ts>
  auto ask_scheduler(Ts&&... xs) const {
    return self->request(peers->scheduler, cfg->scheduler_timeout, std::forward<Ts>(xs)...);
  }
};

/// The audit principal of a request.
inline const std::string& principal_of(const route_args& args) {
  return args.who.name;
}

} // namespace orch::api
