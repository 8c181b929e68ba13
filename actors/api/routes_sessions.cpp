// Sign-in and out: POST /auth/login (Argon2id off the gateway's thread,
// throttled per user and address), POST /auth/logout, GET /auth/me.
#include <nlohmann/json.hpp>

#include "caf/all.hpp"

#include "actors/api/authentication.hpp"
#include "actors/api/envelope.hpp"
#include "actors/api/route.hpp"
#include "actors/api/user_store.hpp"
#include "actors/credentials.hpp"
#include "runtime/auth/passwords.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/messages/guarded.hpp"

namespace orch::api {

namespace {

using nlohmann::json;

/// A sign-in whose password matched: a new session in the user's record,
/// made only if the record is still the one whose hash was checked.
void start_session(const context& ctx, const std::string& username, const std::string& phc,
                   reply rp) {
  auto t = auth::new_token(username);
  auto at = now_us();
  auto ttl = std::chrono::duration_cast<std::chrono::microseconds>(ctx.cfg->token_ttl).count();
  auth::session_entry e{at, at + ttl, auth::sha256_hex(t.secret), {}};
  modify_user(
    ctx, username,
    [=](user& u) -> std::optional<http_response> {
      // A password changed (or the user removed and made again, or
      // disabled) while the hash was checked must not let the old one in.
      if (u.password_hash != phc || u.disabled)
        return unauthorized("wrong username or password", false);
      auth::add_session(u, t.session_id, e, at);
      return std::nullopt;
    },
    {"auth.login", "session " + t.session_id, username}, rp,
    [=](const user& u) mutable { rp.deliver(session_json(u, t, e, 200)); });
}

void login(const context& ctx, const http_request& req, const route_args&, reply rp) {
  auto body = body_object(req.body);
  auto username = text_field(body, "username");
  auto password = text_field(body, "password");
  if (!username || !password)
    return rp.deliver(json_error(400, "send {\"username\": \"...\", \"password\": \"...\"}"));
  if (!is_valid_username(*username) || password->size() > auth::max_password_bytes)
    return rp.deliver(unauthorized("wrong username or password", false));
  rp.audit_as(anonymous_name(req), "auth.login", "user:" + *username);
  std::vector<std::string> keys{"user:" + *username, "addr:" + req.remote};
  if (auto wait = ctx.auth->throttle.blocked_for(keys, now_us()); wait > 0) {
    auto seconds = std::to_string(auth::retry_after_seconds(wait));
    auto r = json_error(429, "too many failed sign-ins for this user or from this address: try "
                             "again in " + seconds + " s");
    r.headers["Retry-After"] = seconds;
    return rp.deliver(std::move(r));
  }
  read_user(ctx, *username, [=](result<user> found) mutable {
    if (!found && found.code() != errc::not_found)
      return rp.deliver(json_error(503, "cannot sign in now: " + found.message()));
    // Unknown users are checked against a hash of the same cost: a wrong
    // name takes as long as a wrong password.
    auto phc = found ? found->password_hash : ctx.auth->dummy_hash;
    if (!start_hashing(ctx, rp))
      return;
    ctx.self->request(spawn_credentials(ctx.self), caf::infinite, verify_atom_v, phc, *password)
      .then(
        [=](bool matches) mutable {
          --ctx.auth->hashing;
          guarded_call(rp, [&] {
            if (!matches || !found || found->disabled) {
              ctx.auth->throttle.count_failure(keys, now_us());
              return rp.deliver(unauthorized("wrong username or password", false));
            }
            // Only the user's count: a sign-in to one's own account must not
            // wipe the address's record of guesses at others.
            ctx.auth->throttle.forget(keys[0]);
            start_session(ctx, *username, phc, rp);
          });
        },
        [=](caf::error& err) mutable {
          --ctx.auth->hashing;
          rp.deliver(internal_error("checking a password failed: " + error_text(err)));
        });
  });
}

void logout(const context& ctx, const http_request&, const route_args& args, reply rp) {
  if (args.who.session_id.empty())
    return rp.deliver(json_error(400, "authentication is disabled on this server (--auth): there "
                                      "is no session to end"));
  auto sid = args.who.session_id;
  modify_user(
    ctx, args.who.name,
    [=](user& u) -> std::optional<http_response> {
      if (!auth::end_session(u, sid))
        return bad_token();
      return std::nullopt;
    },
    {"auth.logout", "session " + sid, args.who.name}, rp,
    [=](const user&) mutable { rp.deliver(json_ok(200, "{\"signed_out\":true}")); });
}

void me(const context& ctx, const http_request&, const route_args& args, reply rp) {
  json data{{"username", args.who.session_id.empty() ? json(nullptr) : json(args.who.name)},
            {"principal", args.who.name},
            {"roles", auth::role_names(args.who.roles)},
            {"auth", ctx.cfg->auth_required ? "required" : "disabled"},
            {"expires_at", args.who.expires ? json(format_rfc3339(args.who.expires)) : json(nullptr)}};
  if (!args.who.token_name.empty())
    data["token"] = args.who.token_name;
  rp.deliver(json_ok(200, canonical(data)));
}


/// POST /auth/stream-ticket: a one-time ticket that opens one stream
/// (GET /events, GET /tasks/{id}/output?follow=1) as the caller, for
/// clients that cannot send Authorization there (EventSource, WebSocket).
void stream_ticket(const context& ctx, const http_request&, const route_args& args, reply rp) {
  auto ticket = ctx.auth->tickets.issue(args.who, now_us(), stream_ticket_ttl);
  if (!ticket)
    return rp.deliver(json_error(429, "too many unused stream tickets: use or let expire the "
                                      "ones issued (each is good for 60 s)"));
  json body{{"ticket", *ticket},
            {"expires_in", stream_ticket_ttl / us_per_second},
            {"use", "add ?ticket=<ticket> to GET /events or GET /tasks/{id}/output?follow=1; "
                    "it opens one stream, once"}};
  rp.deliver(json_ok(200, canonical(body)));
}

} // namespace

std::vector<route> session_routes() {
  return {
    {"POST", {"auth", "login"}, login, public_route},
    {"POST", {"auth", "logout"}, logout, anyone, "auth.logout"},
    {"GET", {"auth", "me"}, me, anyone},
    {"POST", {"auth", "stream-ticket"}, stream_ticket, readers},
  };
}

} // namespace orch::api
