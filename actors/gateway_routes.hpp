// The gateway's route table and the handlers behind it (gateway.cpp routes,
// gateway_routes.cpp handles tasks and admin, gateway_auth.cpp signs in,
// checks tokens and manages users). Internal to actors/.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "caf/typed_event_based_actor.hpp"
#include "caf/typed_response_promise.hpp"

#include "actors/gateway.hpp"
#include "runtime/auth/roles.hpp"

namespace orch::gateway {

/// Who sent a request: a signed-in user (or a named token's user), or, with
/// authentication disabled, the client's address.
struct principal {
  std::string name;                          // "alice", or "api:127.0.0.1"
  auth::role_set roles = 0;
  std::string session_id;                    // "" when authentication is disabled
  micros expires = 0;                        // the session's end; 0: none
  std::string token_name;                    // a named API token's name, or ""
};

/// A token the gateway checked recently, so a client's every request is not
/// also a storage read; see gateway_config::token_recheck.
struct checked_token {
  principal who;
  micros checked = 0;
};

/// Failed sign-ins of one user or one address, for throttling.
struct login_failures {
  uint32_t count = 0;
  micros last = 0;
  micros blocked_until = 0;
};

struct state {
  // Not an aggregate: CAF constructs a state from the self pointer when it
  // can, and C++20 would let it initialise the first handle member with it.
  state() = default;
  storage_actor storage;
  scheduler_actor scheduler;
  metrics_actor metrics;
  gateway_config cfg;
  std::map<std::string, checked_token> tokens;   // by token text
  std::map<std::string, login_failures> failures;  // "user:NAME" and "addr:IP"
  uint32_t hashing = 0;                      // credential checks in flight
  /// Refusals of requests without a valid token stored per address and
  /// minute: a flood of them must not grow the audit log without end.
  std::map<std::string, std::pair<micros, uint32_t>> anonymous_audits;
  std::string dummy_hash;                    // checked for unknown users: same time as a wrong password
  static inline const char* name = "gateway";
};

using pointer = gateway_actor::stateful_pointer<state>;

/// What a mutating request was, for its audit record when it is refused.
struct audit_note {
  std::string principal;
  std::string action;                        // task.submit, user.create, ...
  std::string target;
};

/// The promise of a request's answer. A refused mutating request (any 4xx or
/// 5xx answer to a route with an action) leaves an audit record with its
/// outcome: denied (401, 403, 429), invalid (other 4xx), failed (5xx). What
/// succeeds is audited by the change itself, in the same commit.
class reply {
public:
  reply(pointer self, caf::typed_response_promise<http_response> rp)
    : self_(self), rp_(std::move(rp)) {}

  void deliver(http_response r);
  bool pending() const { return rp_.pending(); }

  /// From now on a refusal is audited as this action on this target.
  void audit_as(std::string principal, std::string action, std::string target);

private:
  pointer self_;
  caf::typed_response_promise<http_response> rp_;
  std::shared_ptr<audit_note> note_;
};

/// The path's parameters, already validated: {id} a task id, {name} a
/// lower-case word, {user} a username, {token} a token name; and who asks.
struct route_args {
  std::string id;
  std::string name;
  std::string user;
  std::string token;
  principal who;
};

using handler = void (*)(pointer self, const http_request& req, const route_args& args, reply rp);

/// Every route but these needs a token when authentication is on.
constexpr auth::role_set public_route = 0;

struct route {
  const char* method;
  std::vector<std::string_view> pattern;     // path segments; "{id}" is a task id
  handler handle;
  auth::role_set allowed = public_route;     // roles that may call it
  const char* action = nullptr;              // audited when refused; nullptr: a read
  bool fault_injection = false;              // served only with --fault-injection
};

const std::vector<route>& routes();

http_response json_ok(int status, const std::string& data_json);
http_response from_error(const caf::error& e);

/// The target named in a refused request's audit record.
std::string audit_target(const route& r, const route_args& args);

/// Calls `go` with the request's principal when its bearer token is valid
/// and holds one of the allowed roles; answers 401 or 403 otherwise.
void authorize(pointer self, const http_request& req, const route& r, route_args args, reply rp);

// The routes of gateway_auth.cpp.
void login(pointer self, const http_request& req, const route_args& args, reply rp);
void logout(pointer self, const http_request& req, const route_args& args, reply rp);
void me(pointer self, const http_request& req, const route_args& args, reply rp);
void list_users(pointer self, const http_request& req, const route_args& args, reply rp);
void get_user(pointer self, const http_request& req, const route_args& args, reply rp);
void create_user(pointer self, const http_request& req, const route_args& args, reply rp);
void change_user(pointer self, const http_request& req, const route_args& args, reply rp);
void remove_user(pointer self, const http_request& req, const route_args& args, reply rp);
void create_token(pointer self, const http_request& req, const route_args& args, reply rp);
void revoke_token(pointer self, const http_request& req, const route_args& args, reply rp);

/// Forgets the cached checks of the user's tokens (after a change to them).
void forget_tokens(pointer self, const std::string& username);

/// The audit principal of a request.
inline const std::string& principal_of(const route_args& args) {
  return args.who.name;
}

} // namespace orch::gateway
