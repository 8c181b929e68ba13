#include "actors/api/authentication.hpp"

#include <algorithm>
#include <cctype>

#include "caf/all.hpp"

#include "actors/api/envelope.hpp"
#include "actors/api/user_store.hpp"
#include "runtime/auth/sessions.hpp"
#include "runtime/auth/task_tokens.hpp"
#include "runtime/auth/tokens.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/messages/guarded.hpp"
#include "runtime/auth/user_changes.hpp"

namespace orch::api {

namespace {

constexpr size_t max_cached_tokens = 10000;

const char* const sign_in_hint = "sign in with POST /auth/login and send 'Authorization: Bearer <token>'";

std::string bearer_of(const std::string& header) {
  if (header.size() < 7)
    return {};
  auto scheme = header.substr(0, 7);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (scheme != "bearer ")
    return {};
  auto token = header.substr(7);
  auto b = token.find_first_not_of(' ');
  auto e = token.find_last_not_of(' ');
  return b == std::string::npos ? std::string{} : token.substr(b, e - b + 1);
}

void remember(authentication& a, const std::string& token, const principal& who) {
  if (a.tokens.size() >= max_cached_tokens)
    a.tokens.clear();
  a.tokens[token] = {who, now_us()};
}

} // namespace

principal anonymous(const http_request& req) {
  return {"api:" + req.remote, auth::any_role, {}, 0, {}, {}};
}

std::string anonymous_name(const http_request& req) {
  return auth::anonymous_principal(req.remote);
}

http_response unauthorized(const std::string& message, bool token_given) {
  auto r = json_error(401, message);
  r.headers["WWW-Authenticate"] = token_given ? "Bearer realm=\"orchestrator\", error=\"invalid_token\""
                                              : "Bearer realm=\"orchestrator\"";
  return r;
}

http_response bad_token() {
  return unauthorized(std::string{"the bearer token is invalid, expired or revoked: "}
                        + sign_in_hint,
                      true);
}

void forget_tokens(authentication& a, const std::string& username) {
  for (auto i = a.tokens.begin(); i != a.tokens.end();)
    i = i->second.who.name == username ? a.tokens.erase(i) : std::next(i);
}

http_request without_ticket(const http_request& req) {
  auto copy = req;
  copy.query.erase("ticket");
  return copy;
}

namespace {

/// The route's handler as `who`, if `who` holds one of its roles; 403 otherwise.
void run_as(const context& ctx, const http_request& req, const route& r, route_args args,
            reply rp, principal who) {
  args.who = std::move(who);
  rp.audit_by(args.who.name);
  if (!args.who.task_id.empty()) {
    if (!r.task_tokens)
      return rp.deliver(json_error(
        403, "a running task's token (ORCHESTRATOR_TOKEN) may only submit, read, wait for "
             "and cancel the task's own children; this needs a user's token with the role "
               + auth::describe(r.allowed)));
    return r.handle(ctx, req, args, rp);
  }
  if (!(args.who.roles & r.allowed))
    return rp.deliver(json_error(403, "this needs the role " + auth::describe(r.allowed)
                                        + " (you have " + auth::describe(args.who.roles) + ")"));
  r.handle(ctx, req, args, rp);
}

/// A running task's token: signed by this deployment's key for an attempt
/// that is still the task's running one.
void authorize_task(const context& ctx, const std::string& text, const auth::task_token& t,
                    reply rp, std::function<void(principal)> proceed) {
  if (!auth::task_token_signed(ctx.cfg->task_token_key, t))
    return rp.deliver(unauthorized(
      "the task token was not signed by this orchestrator (instances behind one address "
      "share --task-token-key-file; a restart without it makes a new key)",
      true));
  auto ended = [=](const std::string& why) mutable {
    rp.deliver(unauthorized("the task token of " + t.task_id + " attempt "
                              + std::to_string(t.attempt) + " is no longer valid: " + why
                              + " (a task's ORCHESTRATOR_TOKEN lasts as long as its attempt)",
                            true));
  };
  ctx.ask_storage(caf::get_atom_v, record_kind::task, t.task_id)
    .then(guarded("gateway",
                  [=](const record& r) mutable {
                    task found;
                    if (auto st = decode(r.json, found); !st)
                      return rp.deliver(json_error(500, "task " + t.task_id
                                                          + " cannot be read: " + st.message()));
                    if (found.status != task_status::running)
                      return ended(std::string{"the task is "} + to_string(found.status));
                    if (found.attempts != t.attempt)
                      return ended("the task is on attempt " + std::to_string(found.attempts));
                    principal who{auth::task_principal(t.task_id), 0, {}, 0, {}, t.task_id};
                    remember(*ctx.auth, text, who);
                    proceed(std::move(who));
                  }),
          [=](caf::error& e) mutable {
            if (error_code(e) == errc::not_found)
              return ended("the task does not exist");
            rp.deliver(json_error(503, "cannot check the task token now: " + error_text(e)));
          });
}

} // namespace

void authorize(const context& ctx, const http_request& req, const route& r, route_args args,
               reply rp) {
  if (auto t = req.query.find("ticket");
      r.stream_ticket && req.authorization.empty() && t != req.query.end()) {
    auto who = ctx.auth->tickets.redeem(t->second, now_us());
    if (!who)
      return rp.deliver(unauthorized(
        "the stream ticket is unknown, already used or expired (a ticket opens one stream "
        "within 60 s): get a new one with POST /auth/stream-ticket",
        true));
    return run_as(ctx, without_ticket(req), r, std::move(args), rp, std::move(*who));
  }
  auto proceed = [=](principal who) { run_as(ctx, req, r, args, rp, std::move(who)); };
  auto text = bearer_of(req.authorization);
  auto now = now_us();
  auto recheck = std::chrono::duration_cast<std::chrono::microseconds>(ctx.cfg->token_recheck).count();
  auto& cache = ctx.auth->tokens;
  if (auto i = cache.find(text); i != cache.end()) {
    auto& c = i->second;
    if (now - c.checked < recheck && (c.who.expires == 0 || c.who.expires > now))
      return proceed(c.who);
    cache.erase(i);
  }
  if (auth::task_token tt; auth::parse_task_token(text, tt))
    return authorize_task(ctx, text, tt, rp, proceed);
  auth::token_parts t;
  if (text.empty() || !auth::parse_token(text, t))
    return rp.deliver(text.empty() ? unauthorized(std::string{"this endpoint needs a bearer token: "}
                                                    + sign_in_hint,
                                                  !req.authorization.empty())
                                   : bad_token());
  read_user(ctx, t.username, [=](result<user> u) mutable {
    if (!u && u.code() != errc::not_found)
      return rp.deliver(json_error(503, "cannot check the token now: " + u.message()));
    auth::session_entry e;
    if (!u || !auth::check_token(*u, t, now_us(), &e).empty())
      return rp.deliver(bad_token());
    principal who{u->username, auth::roles_of(u->roles), t.session_id, e.expires, e.name, {}};
    remember(*ctx.auth, text, who);
    proceed(std::move(who));
  });
}

} // namespace orch::api
