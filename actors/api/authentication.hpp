// Authentication on the gateway: the bearer token of every route that needs
// one is checked against its user's record (a recent check cached, see
// gateway_config::token_recheck), and the principal it names must hold one
// of the route's roles; 401 or 403 otherwise. Also the state the sign-in
// routes share: throttling, and the count of password hashes in flight.
#pragma once

#include <map>
#include <string>

#include "actors/api/route.hpp"
#include "runtime/auth/stream_tickets.hpp"
#include "runtime/auth/throttle.hpp"

namespace orch::api {

/// A token the gateway checked recently, so a client's every request is not
/// also a storage read.
struct checked_token {
  principal who;
  micros checked = 0;
};

struct authentication {
  std::map<std::string, checked_token> tokens;  // by token text
  auth::sign_in_throttle throttle;           // keys "user:NAME" and "addr:IP"
  uint32_t hashing = 0;                      // credential checks in flight
  std::string dummy_hash;                    // checked for unknown users: same time as a wrong password
  auth::stream_tickets<principal> tickets;   // POST /auth/stream-ticket, spent by a stream
};

/// How long a stream ticket is good for.
inline constexpr micros stream_ticket_ttl = 60 * us_per_second;

/// The request without its `ticket` parameter (a stream's own parameters
/// refuse unknown ones).
http_request without_ticket(const http_request& req);

/// With authentication off, a request acts with every role, as its address.
principal anonymous(const http_request& req);

/// Who a request without a valid token is, in audit records.
std::string anonymous_name(const http_request& req);

/// Runs the route's handler with the request's principal when its bearer
/// token is valid and holds one of the allowed roles; answers 401 or 403
/// otherwise.
void authorize(const context& ctx, const http_request& req, const route& r, route_args args,
               reply rp);

/// Forgets the cached checks of the user's tokens (after a change to them).
void forget_tokens(authentication& a, const std::string& username);

/// 401 with WWW-Authenticate (error="invalid_token" when one was sent).
http_response unauthorized(const std::string& message, bool token_given);

/// The same 401 whatever is wrong with a token: it says nothing about
/// whether the user exists.
http_response bad_token();

} // namespace orch::api
