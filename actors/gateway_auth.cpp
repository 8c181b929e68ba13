// Authentication and users on the gateway: bearer tokens checked on every
// route that needs one (a recent check cached, see gateway_config), sign-in
// with Argon2id (on a thread of its own) and throttling, sign-out, and the
// admin's routes for users and named API tokens. A user and its sessions
// are one record; every change to it is committed with its audit record,
// revision-checked, and tried again when another instance changed it first.
#include <algorithm>
#include <functional>
#include <optional>

#include <nlohmann/json.hpp>

#include "caf/all.hpp"

#include "actors/credentials.hpp"
#include "actors/gateway_routes.hpp"
#include "runtime/auth/passwords.hpp"
#include "runtime/auth/sessions.hpp"
#include "runtime/auth/tokens.hpp"
#include "runtime/auth/user_changes.hpp"
#include "runtime/core/clock.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/core/query_params.hpp"
#include "runtime/messages/guarded.hpp"

namespace orch::gateway {

namespace {

constexpr int max_change_attempts = 5;
constexpr size_t max_cached_tokens = 10000;
// Throttling: the first few failures are free (typos); each one after that
// doubles the wait, up to max_block; a quiet quarter of an hour forgets them.
constexpr uint32_t free_failures = 3;
constexpr micros max_block = 300 * us_per_second;
constexpr micros forget_failures_after = 900 * us_per_second;

const char* const sign_in_hint = "sign in with POST /auth/login and send 'Authorization: Bearer <token>'";

http_response unauthorized(const std::string& message, bool token_given) {
  auto r = json_error(401, message);
  r.headers["WWW-Authenticate"] = token_given ? "Bearer realm=\"orchestrator\", error=\"invalid_token\""
                                              : "Bearer realm=\"orchestrator\"";
  return r;
}

/// The same answer whatever is wrong with a token: it says nothing about
/// whether the user exists.
http_response bad_token() {
  return unauthorized(std::string{"the bearer token is invalid, expired or revoked: "}
                        + sign_in_hint,
                      true);
}

std::string bearer_of(const std::string& header) {
  if (header.size() < 7)
    return {};
  auto scheme = header.substr(0, 7);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), ::tolower);
  if (scheme != "bearer ")
    return {};
  auto token = header.substr(7);
  auto b = token.find_first_not_of(' ');
  auto e = token.find_last_not_of(' ');
  return b == std::string::npos ? std::string{} : token.substr(b, e - b + 1);
}

std::string anonymous_name(const http_request& req) {
  return "anonymous@" + req.remote;
}

json body_object(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  return j.is_object() ? j : json{};
}

/// A string field of an object body, or nullopt (missing or not a string).
std::optional<std::string> text_field(const json& body, const char* name) {
  if (!body.is_object() || !body.contains(name) || !body[name].is_string())
    return std::nullopt;
  return body[name].get<std::string>();
}

std::optional<std::vector<std::string>> roles_field(const json& body) {
  if (!body.is_object() || !body.contains("roles") || !body["roles"].is_array())
    return std::nullopt;
  std::vector<std::string> out;
  for (auto& r : body["roles"]) {
    if (!r.is_string())
      return std::nullopt;
    auto name = r.get<std::string>();
    if (std::find(out.begin(), out.end(), name) == out.end())
      out.push_back(name);
  }
  return out;
}

void remember(pointer self, const std::string& token, const principal& who) {
  auto& cache = self->state.tokens;
  if (cache.size() >= max_cached_tokens)
    cache.clear();
  cache[token] = {who, now_us()};
}

// -- reading and changing a user ------------------------------------------------------

using user_fn = std::function<void(result<user>)>;

/// The user, or not_found / what storage said.
void read_user(pointer self, const std::string& username, user_fn then) {
  self->request(self->state.storage, self->state.cfg.storage_timeout, caf::get_atom_v,
                record_kind::user, username)
    .then(guarded("gateway", [=](const record& r) { then(decode<user>(r.json)); }),
          [=](caf::error& e) { then(status{error_code(e), error_text(e)}); });
}

http_response no_such_user(const std::string& username) {
  return json_error(404, "no user '" + username + "'");
}

/// An edit of a user record: nullopt to store it, or the answer that refuses it.
using user_edit = std::function<std::optional<http_response>(user&)>;

/// Reads the user, edits it, commits it with its audit record if nobody
/// changed it meanwhile (else reads it again), then `done`.
void modify_user(pointer self, std::string username, user_edit edit, std::string action,
                 std::string details, std::string by, reply rp,
                 std::function<void(const user&)> done, std::vector<precondition> also = {},
                 int attempt = 0) {
  read_user(self, username, [=](result<user> found) mutable {
    if (!found)
      return rp.deliver(found.code() == errc::not_found
                          ? no_such_user(username)
                          : json_error(found.code() == errc::invalid ? 500 : 503, found.message()));
    auto u = std::move(*found);
    if (auto refused = edit(u))
      return rp.deliver(std::move(*refused));
    auto batch = auth::update_user(u, action, details, {by, now_us()});
    batch.expect.insert(batch.expect.end(), also.begin(), also.end());
    self->request(self->state.storage, self->state.cfg.storage_timeout, commit_atom_v, batch)
      .then(
        guarded("gateway",
                [=](uint64_t) {
                  forget_tokens(self, username);
                  done(u);
                }),
        [=](caf::error& e) mutable {
          // A conflict on the other admin (it changed too) is read again as well:
          // the caller's check runs again then.
          if (error_code(e) == errc::conflict && attempt + 1 < max_change_attempts && also.empty())
            return modify_user(self, username, edit, action, details, by, rp, done, also,
                               attempt + 1);
          if (error_code(e) == errc::conflict && !also.empty())
            return rp.deliver(json_error(409, "an admin changed meanwhile; try again"));
          rp.deliver(from_error(e));
        });
  });
}

/// Runs `f`; what it throws is this request's 500, not the gateway's end.
template <class F>
void guarded_call(reply& rp, F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    if (rp.pending())
      rp.deliver(json_error(500, std::string{"internal error: "} + e.what()));
  }
}

/// Hashes or checks a password off this thread; 503 when too many are in
/// flight already (a flood of sign-ins must not take every core).
bool start_hashing(pointer self, reply& rp) {
  if (self->state.hashing >= self->state.cfg.max_hashing) {
    rp.deliver(json_error(503, "too many sign-ins and password changes at once; try again in a "
                               "moment"));
    return false;
  }
  ++self->state.hashing;
  return true;
}

void hash_then(pointer self, std::string password, reply rp, std::function<void(std::string)> go) {
  if (!start_hashing(self, rp))
    return;
  // No timeout: the count of hashes in flight goes down only when the hash
  // is over (or its actor gone), so it really bounds the cores they take.
  self->request(spawn_credentials(self), caf::infinite, hash_atom_v, password)
    .then(
      [=](const std::string& phc) mutable {
        --self->state.hashing;
        guarded_call(rp, [&] { go(phc); });
      },
      [=](caf::error& e) mutable {
        --self->state.hashing;
        rp.deliver(json_error(500, "hashing the password failed: " + error_text(e)));
      });
}

/// Calls `go` with a precondition that another enabled user keeps the admin
/// role unchanged until the change commits (so no change, nor two at once,
/// locks every admin out); 409 otherwise.
void keep_an_admin(pointer self, const std::string& username, reply rp,
                   std::function<void(precondition)> go) {
  record_query q;
  q.kind = record_kind::user;
  q.field = "roles";
  q.value = "admin";
  q.limit = 1000;
  self->request(self->state.storage, self->state.cfg.storage_timeout, query_atom_v, q)
    .then(guarded("gateway",
                  [=](const record_page& page) mutable {
                    for (auto& r : page.items) {
                      auto u = decode<user>(r.json);
                      if (u && u->username != username && !u->disabled)
                        return go({precondition::field_in, record_kind::user, u->username,
                                   "revision", {std::to_string(u->revision)}});
                    }
                    rp.deliver(json_error(409, "'" + username + "' is the last enabled admin: "
                                                 "give another user the admin role first"));
                  }),
          [=](caf::error& e) mutable { rp.deliver(from_error(e)); });
}

bool is_admin(const user& u) {
  return (auth::roles_of(u.roles) & auth::bit(auth::role::admin)) && !u.disabled;
}

// -- throttling ---------------------------------------------------------------------------

/// Seconds to wait before the next sign-in of this user or from this
/// address; 0: go ahead.
micros blocked_for(pointer self, const std::vector<std::string>& keys, micros now) {
  micros wait = 0;
  for (auto& k : keys)
    if (auto i = self->state.failures.find(k); i != self->state.failures.end())
      wait = std::max(wait, i->second.blocked_until - now);
  return wait;
}

void count_failure(pointer self, const std::vector<std::string>& keys, micros now) {
  auto& all = self->state.failures;
  if (all.size() > 100000)
    all.clear();  // a spray of names must not grow this without end
  for (auto& k : keys) {
    auto& f = all[k];
    if (now - f.last > forget_failures_after)
      f = {};
    f.last = now;
    if (++f.count > free_failures)
      f.blocked_until = now + std::min<micros>(max_block, us_per_second << std::min<uint32_t>(
                                                                            f.count - free_failures - 1, 20));
  }
}

http_response session_json(const user& u, const auth::token_parts& t, const auth::session_entry& e,
                           int status) {
  json data{{"token", auth::token_text(t)},
            {"username", u.username},
            {"roles", u.roles},
            {"expires_at", e.expires ? json(format_rfc3339(e.expires)) : json(nullptr)}};
  if (e.named())
    data["name"] = e.name;
  return json_ok(status, canonical(data));
}

} // namespace

void forget_tokens(pointer self, const std::string& username) {
  auto& cache = self->state.tokens;
  for (auto i = cache.begin(); i != cache.end();)
    i = i->second.who.name == username ? cache.erase(i) : std::next(i);
}

void authorize(pointer self, const http_request& req, const route& r, route_args args, reply rp) {
  auto proceed = [=](principal who) mutable {
    args.who = std::move(who);
    if (r.action)
      rp.audit_as(args.who.name, r.action, audit_target(r, args));
    if (!(args.who.roles & r.allowed))
      return rp.deliver(json_error(403, "this needs the role " + auth::describe(r.allowed)
                                          + " (you have " + auth::describe(args.who.roles) + ")"));
    r.handle(self, req, args, rp);
  };
  auto text = bearer_of(req.authorization);
  auth::token_parts t;
  if (text.empty() || !auth::parse_token(text, t)) {
    if (r.action)
      rp.audit_as(anonymous_name(req), r.action, audit_target(r, args));
    return rp.deliver(text.empty() ? unauthorized(std::string{"this endpoint needs a bearer token: "}
                                                    + sign_in_hint,
                                                  !req.authorization.empty())
                                   : bad_token());
  }
  auto now = now_us();
  auto recheck = std::chrono::duration_cast<std::chrono::microseconds>(self->state.cfg.token_recheck)
                   .count();
  if (auto i = self->state.tokens.find(text); i != self->state.tokens.end()) {
    auto& c = i->second;
    if (now - c.checked < recheck && (c.who.expires == 0 || c.who.expires > now))
      return proceed(c.who);
    self->state.tokens.erase(i);
  }
  read_user(self, t.username, [=](result<user> u) mutable {
    if (!u && u.code() != errc::not_found)
      return rp.deliver(json_error(503, "cannot check the token now: " + u.message()));
    auth::session_entry e;
    if (!u || !auth::check_token(*u, t, now_us(), &e).empty()) {
      if (r.action)
        rp.audit_as(anonymous_name(req), r.action, audit_target(r, args));
      return rp.deliver(bad_token());
    }
    principal who{u->username, auth::roles_of(u->roles), t.session_id, e.expires, e.name};
    remember(self, text, who);
    proceed(std::move(who));
  });
}

// -- sign-in and out ----------------------------------------------------------------------

void login(pointer self, const http_request& req, const route_args&, reply rp) {
  auto body = body_object(req.body);
  auto username = text_field(body, "username");
  auto password = text_field(body, "password");
  if (!username || !password)
    return rp.deliver(json_error(400, "send {\"username\": \"...\", \"password\": \"...\"}"));
  if (!is_valid_username(*username) || password->size() > auth::max_password_bytes)
    return rp.deliver(unauthorized("wrong username or password", false));
  rp.audit_as(anonymous_name(req), "auth.login", "user:" + *username);
  auto now = now_us();
  std::vector<std::string> keys{"user:" + *username, "addr:" + req.remote};
  if (auto wait = blocked_for(self, keys, now); wait > 0) {
    auto seconds = std::to_string((wait + us_per_second - 1) / us_per_second);
    auto r = json_error(429, "too many failed sign-ins for this user or from this address: try "
                             "again in " + seconds + " s");
    r.headers["Retry-After"] = seconds;
    return rp.deliver(std::move(r));
  }
  read_user(self, *username, [=](result<user> found) mutable {
    if (!found && found.code() != errc::not_found)
      return rp.deliver(json_error(503, "cannot sign in now: " + found.message()));
    // Unknown users are checked against a hash of the same cost: a wrong
    // name takes as long as a wrong password.
    auto phc = found ? found->password_hash : self->state.dummy_hash;
    if (!start_hashing(self, rp))
      return;
    self->request(spawn_credentials(self), caf::infinite, verify_atom_v, phc, *password)
      .then(
        [=](bool matches) mutable {
          --self->state.hashing;
          guarded_call(rp, [&] {
            if (!matches || !found || found->disabled) {
              count_failure(self, keys, now_us());
              return rp.deliver(unauthorized("wrong username or password", false));
            }
            // Only the user's count: a sign-in to one's own account must not
            // wipe the address's record of guesses at others.
            self->state.failures.erase(keys[0]);
            auto t = auth::new_token(*username);
            auto at = now_us();
            auto ttl = std::chrono::duration_cast<std::chrono::microseconds>(self->state.cfg.token_ttl)
                         .count();
            auth::session_entry e{at, at + ttl, auth::sha256_hex(t.secret), {}};
            modify_user(
              self, *username,
              [=](user& u) -> std::optional<http_response> {
                // The record as it is now: a password changed (or the user
                // removed and made again, or disabled) while the hash was
                // checked must not let the old password in.
                if (u.password_hash != phc || u.disabled)
                  return unauthorized("wrong username or password", false);
                auth::add_session(u, t.session_id, e, at);
                return std::nullopt;
              },
              "auth.login", "session " + t.session_id, *username, rp,
              [=](const user& u) mutable { rp.deliver(session_json(u, t, e, 200)); });
          });
        },
        [=](caf::error& err) mutable {
          --self->state.hashing;
          rp.deliver(json_error(500, "checking the password failed: " + error_text(err)));
        });
  });
}

void logout(pointer self, const http_request&, const route_args& args, reply rp) {
  if (args.who.session_id.empty())
    return rp.deliver(json_error(400, "authentication is disabled on this server (--auth): there "
                                      "is no session to end"));
  auto sid = args.who.session_id;
  modify_user(
    self, args.who.name,
    [=](user& u) -> std::optional<http_response> {
      if (!auth::end_session(u, sid))
        return bad_token();
      return std::nullopt;
    },
    "auth.logout", "session " + sid, args.who.name, rp,
    [=](const user&) mutable { rp.deliver(json_ok(200, "{\"signed_out\":true}")); });
}

void me(pointer self, const http_request&, const route_args& args, reply rp) {
  json data{{"username", args.who.session_id.empty() ? json(nullptr) : json(args.who.name)},
            {"principal", args.who.name},
            {"roles", auth::role_names(args.who.roles)},
            {"auth", self->state.cfg.auth_required ? "required" : "disabled"},
            {"expires_at", args.who.expires ? json(format_rfc3339(args.who.expires)) : json(nullptr)}};
  if (!args.who.token_name.empty())
    data["token"] = args.who.token_name;
  rp.deliver(json_ok(200, canonical(data)));
}

// -- users (admin) ------------------------------------------------------------------------

void list_users(pointer self, const http_request& req, const route_args&, reply rp) {
  record_query q;
  q.kind = record_kind::user;
  if (auto st = paging_params(req.query, q); !st)
    return rp.deliver(json_error(400, st.message()));
  self->request(self->state.storage, self->state.cfg.storage_timeout, query_atom_v, q)
    .then(guarded("gateway",
                  [=](const record_page& page) mutable {
                    std::string items;
                    auto now = now_us();
                    for (auto& r : page.items)
                      if (auto u = decode<user>(r.json))
                        items += (items.empty() ? "" : ",") + auth::public_json(*u, now);
                    rp.deliver(json_ok(200, "{\"users\":[" + items + "],\"total\":"
                                              + std::to_string(page.total) + ",\"limit\":"
                                              + std::to_string(q.limit) + ",\"offset\":"
                                              + std::to_string(q.offset) + "}"));
                  }),
          [=](caf::error& e) mutable { rp.deliver(from_error(e)); });
}

void get_user(pointer self, const http_request&, const route_args& args, reply rp) {
  read_user(self, args.user, [=](result<user> u) mutable {
    if (!u)
      return rp.deliver(u.code() == errc::not_found ? no_such_user(args.user)
                                                    : json_error(503, u.message()));
    rp.deliver(json_ok(200, auth::public_json(*u, now_us())));
  });
}

void create_user(pointer self, const http_request& req, const route_args& args, reply rp) {
  auto body = body_object(req.body);
  auto username = text_field(body, "username");
  auto password = text_field(body, "password");
  auto roles = roles_field(body);
  if (!username || !password || !roles)
    return rp.deliver(json_error(400, "send {\"username\": \"...\", \"password\": \"...\", "
                                      "\"roles\": [\"admin\"|\"operator\"|\"viewer\"|\"worker\", "
                                      "...]}"));
  if (!is_valid_username(*username))
    return rp.deliver(json_error(400, "invalid username: use up to 64 letters, digits, '.', '_' "
                                      "and '-', not starting with '.'"));
  if (auto p = auth::password_problem(*password); !p.empty())
    return rp.deliver(json_error(400, p));
  if (auto p = auth::check_role_names(*roles); !p.empty())
    return rp.deliver(json_error(400, p));
  rp.audit_as(principal_of(args), "user.create", "user:" + *username);
  hash_then(self, *password, rp, [=](std::string phc) mutable {
    user u;
    u.username = *username;
    u.password_hash = std::move(phc);
    u.roles = *roles;
    auto at = now_us();
    auto batch = auth::create_user(u, {principal_of(args), at});
    self->request(self->state.storage, self->state.cfg.storage_timeout, commit_atom_v, batch)
      .then(guarded("gateway",
                    [=](uint64_t) mutable {
                      user shown = u;
                      shown.created_at = at;
                      rp.deliver(json_ok(201, auth::public_json(shown, at)));
                    }),
            [=](caf::error& e) mutable {
              rp.deliver(error_code(e) == errc::conflict
                           ? json_error(409, "a user '" + *username + "' exists already")
                           : from_error(e));
            });
  });
}

/// POST /users/{user}/{disable|enable|password|roles}.
void change_user(pointer self, const http_request& req, const route_args& args, reply rp) {
  auto body = body_object(req.body);
  auto by = principal_of(args);
  auto name = args.user;
  auto shown = [=](const user& u) mutable { rp.deliver(json_ok(200, auth::public_json(u, now_us()))); };
  auto apply = [=](user_edit edit, std::string action, std::string details,
                   std::vector<precondition> also = {}) mutable {
    modify_user(self, name, std::move(edit), std::move(action), std::move(details), by, rp, shown,
                std::move(also));
  };
  if (args.name == "enable")
    return apply(
      [](user& u) -> std::optional<http_response> {
        u.disabled = false;
        return std::nullopt;
      },
      "user.enable", "");
  if (args.name == "disable") {
    return keep_an_admin(self, name, rp, [=](precondition other) mutable {
      apply(
        [](user& u) -> std::optional<http_response> {
          u.disabled = true;
          auth::end_logins(u);
          return std::nullopt;
        },
        "user.disable", "signed out everywhere", {other});
    });
  }
  if (args.name == "password") {
    auto password = text_field(body, "password");
    if (!password)
      return rp.deliver(json_error(400, "send {\"password\": \"...\"}"));
    if (auto p = auth::password_problem(*password); !p.empty())
      return rp.deliver(json_error(400, p));
    return hash_then(self, *password, rp, [=](std::string phc) mutable {
      apply(
        [phc](user& u) -> std::optional<http_response> {
          u.password_hash = phc;
          auth::end_logins(u);
          return std::nullopt;
        },
        "user.password", "signed out everywhere");
    });
  }
  if (args.name == "roles") {
    auto roles = roles_field(body);
    if (!roles)
      return rp.deliver(json_error(400, "send {\"roles\": [\"admin\"|\"operator\"|\"viewer\"|"
                                        "\"worker\", ...]}"));
    if (auto p = auth::check_role_names(*roles); !p.empty())
      return rp.deliver(json_error(400, p));
    std::string list;
    for (auto& r : *roles)
      list += (list.empty() ? "" : ",") + r;
    auto set_roles = [=](std::vector<precondition> also) mutable {
      apply(
        [roles = *roles](user& u) -> std::optional<http_response> {
          u.roles = roles;
          auth::end_logins(u);
          return std::nullopt;
        },
        "user.roles", "roles=" + list + "; signed out everywhere", std::move(also));
    };
    if (auth::roles_of(*roles) & auth::bit(auth::role::admin))
      return set_roles({});
    return keep_an_admin(self, name, rp,
                         [=](precondition other) mutable { set_roles({std::move(other)}); });
  }
  rp.deliver(json_error(404, "no such change '" + args.name
                               + "' (POST /users/{user}/disable, enable, password or roles)"));
}

void remove_user(pointer self, const http_request&, const route_args& args, reply rp) {
  auto by = principal_of(args);
  auto name = args.user;
  read_user(self, name, [=](result<user> u) mutable {
    if (!u)
      return rp.deliver(u.code() == errc::not_found ? no_such_user(name)
                                                    : json_error(503, u.message()));
    auto go = [=](std::vector<precondition> also) mutable {
      auto batch = auth::remove_user(*u, {by, now_us()});
      batch.expect.insert(batch.expect.end(), also.begin(), also.end());
      self->request(self->state.storage, self->state.cfg.storage_timeout, commit_atom_v, batch)
        .then(guarded("gateway",
                      [=](uint64_t) mutable {
                        forget_tokens(self, name);
                        rp.deliver(json_ok(200, canonical(json{{"removed", name}})));
                      }),
              [=](caf::error& e) mutable {
                rp.deliver(error_code(e) == errc::conflict
                             ? json_error(409, "'" + name + "' changed meanwhile; try again")
                             : from_error(e));
              });
    };
    if (is_admin(*u))
      return keep_an_admin(self, name, rp, [=](precondition other) mutable { go({other}); });
    go({});
  });
}

// -- named API tokens (admin) -------------------------------------------------------------

/// POST /auth/tokens {"name": "ci", "user": "worker-1", "ttl_s": 0}: a
/// long-lived token acting as that user (default: the caller), shown once.
void create_token(pointer self, const http_request& req, const route_args& args, reply rp) {
  auto body = body_object(req.body);
  auto name = text_field(body, "name");
  auto username = body.contains("user") ? text_field(body, "user")
                                        : std::optional<std::string>{args.who.session_id.empty()
                                                                       ? std::string{}
                                                                       : args.who.name};
  int64_t ttl_s = 0;
  if (body.contains("ttl_s")) {
    if (!body["ttl_s"].is_number_integer() || body["ttl_s"].get<int64_t>() < 0
        || body["ttl_s"].get<int64_t>() > int64_t{100} * 365 * 86400)
      return rp.deliver(json_error(400, "'ttl_s' must be a whole number of seconds (0: no end)"));
    ttl_s = body["ttl_s"].get<int64_t>();
  }
  if (!name || !is_valid_username(*name))
    return rp.deliver(json_error(400, "send {\"name\": \"a-name\", \"user\": \"who it acts as\", "
                                      "\"ttl_s\": seconds or 0}; names use letters, digits, '.', "
                                      "'_' and '-'"));
  if (!username || username->empty())
    return rp.deliver(json_error(400, "say which user the token acts as: {\"user\": \"...\"}"));
  auto t = auth::new_token(*username);
  auto at = now_us();
  auth::session_entry e{at, ttl_s ? at + ttl_s * us_per_second : 0, auth::sha256_hex(t.secret),
                        *name};
  rp.audit_as(principal_of(args), "token.create", "user:" + *username + "/token:" + *name);
  modify_user(
    self, *username,
    [=](user& u) -> std::optional<http_response> {
      if (u.disabled)
        return json_error(409, "'" + u.username + "' is disabled; enable it first");
      if (!auth::named_token_id(u, *name).empty())
        return json_error(409, "'" + u.username + "' has a token called '" + *name
                                 + "' already; revoke it first or choose another name");
      size_t named = 0;
      for (auto& [id, text] : u.sessions) {
        auth::session_entry old;
        named += auth::read_entry(text, old) && old.named();
      }
      if (named >= auth::max_named_tokens)
        return json_error(409, "'" + u.username + "' has " + std::to_string(named)
                                 + " tokens, the most a user may have; revoke one first");
      auth::add_session(u, t.session_id, e, at);
      return std::nullopt;
    },
    "token.create", "name=" + *name, principal_of(args), rp,
    [=](const user& u) mutable { rp.deliver(session_json(u, t, e, 201)); });
}

void revoke_token(pointer self, const http_request&, const route_args& args, reply rp) {
  auto name = args.token;
  modify_user(
    self, args.user,
    [=](user& u) -> std::optional<http_response> {
      auto id = auth::named_token_id(u, name);
      if (id.empty())
        return json_error(404, "'" + u.username + "' has no token called '" + name + "'");
      auth::end_session(u, id);
      return std::nullopt;
    },
    "token.revoke", "name=" + name, principal_of(args), rp, [=](const user& u) mutable {
      rp.deliver(json_ok(200, canonical(json{{"revoked", name}, {"user", u.username}})));
    });
}

} // namespace orch::gateway
