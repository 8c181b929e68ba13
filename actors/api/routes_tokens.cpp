// Named API tokens (admin): POST /auth/tokens makes one, shown once and
// stored hashed in its user's record; DELETE /users/{user}/tokens/{token}
// revokes it. They outlive sign-outs and password changes and act with the
// user's roles of the moment.
#include <nlohmann/json.hpp>

#include "actors/api/envelope.hpp"
#include "actors/api/route.hpp"
#include "actors/api/user_store.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"

namespace orch::api {

namespace {

using nlohmann::json;

constexpr int64_t longest_ttl_s = int64_t{100} * 365 * 86400;

/// Refuses the new token `name` of `u`, or nullopt to add it.
std::optional<http_response> refuse_new_token(const user& u, const std::string& name) {
  if (u.disabled)
    return json_error(409, "'" + u.username + "' is disabled; enable it first");
  if (!auth::named_token_id(u, name).empty())
    return json_error(409, "'" + u.username + "' has a token called '" + name
                             + "' already; revoke it first or choose another name");
  size_t named = 0;
  for (auto& [id, text] : u.sessions) {
    auth::session_entry old;
    named += auth::read_entry(text, old) && old.named();
  }
  if (named >= auth::max_named_tokens)
    return json_error(409, "'" + u.username + "' has " + std::to_string(named)
                             + " tokens, the most a user may have; revoke one first");
  return std::nullopt;
}

/// POST /auth/tokens {"name": "ci", "user": "worker-1", "ttl_s": 0}: a
/// long-lived token acting as that user (default: the caller), shown once.
void create_token(const context& ctx, const http_request& req, const route_args& args, reply rp) {
  auto body = body_object(req.body);
  auto name = text_field(body, "name");
  auto username = body.contains("user") ? text_field(body, "user")
                                        : std::optional<std::string>{args.who.session_id.empty()
                                                                       ? std::string{}
                                                                       : args.who.name};
  int64_t ttl_s = 0;
  if (body.contains("ttl_s")) {
    if (!body["ttl_s"].is_number_integer() || body["ttl_s"].get<int64_t>() < 0
        || body["ttl_s"].get<int64_t>() > longest_ttl_s)
      return rp.deliver(json_error(400, "'ttl_s' must be a whole number of seconds (0: no end)"));
    ttl_s = body["ttl_s"].get<int64_t>();
  }
  if (!name || !is_valid_username(*name))
    return rp.deliver(json_error(400, "send {\"name\": \"a-name\", \"user\": \"who it acts as\", "
                                      "\"ttl_s\": seconds or 0}; names use letters, digits, '.', "
                                      "'_' and '-'"));
  if (!username || username->empty())
    return rp.deliver(json_error(400, "say which user the token acts as: {\"user\": \"...\"}"));
  if (!is_valid_username(*username))
    return rp.deliver(json_error(400, "'user' must be a username (letters, digits, '.', '_' and "
                                      "'-'), got '" + *username + "'"));
  auto t = auth::new_token(*username);
  auto at = now_us();
  auth::session_entry e{at, ttl_s ? at + ttl_s * us_per_second : 0, auth::sha256_hex(t.secret),
                        *name};
  rp.audit_as(principal_of(args), "token.create", "user:" + *username + "/token:" + *name);
  modify_user(
    ctx, *username,
    [=](user& u) -> std::optional<http_response> {
      if (auto refused = refuse_new_token(u, *name))
        return refused;
      auth::add_session(u, t.session_id, e, at);
      return std::nullopt;
    },
    {"token.create", "name=" + *name, principal_of(args)}, rp,
    [=](const user& u) mutable { rp.deliver(session_json(u, t, e, 201)); });
}

void revoke_token(const context& ctx, const http_request&, const route_args& args, reply rp) {
  auto name = args.token;
  modify_user(
    ctx, args.user,
    [=](user& u) -> std::optional<http_response> {
      auto id = auth::named_token_id(u, name);
      if (id.empty())
        return json_error(404, "'" + u.username + "' has no token called '" + name + "'");
      auth::end_session(u, id);
      return std::nullopt;
    },
    {"token.revoke", "name=" + name, principal_of(args)}, rp, [=](const user& u) mutable {
      rp.deliver(json_ok(200, canonical(json{{"revoked", name}, {"user", u.username}})));
    });
}

} // namespace

std::vector<route> token_routes() {
  return {
    {"POST", {"auth", "tokens"}, create_token, admins, "token.create"},
    {"DELETE", {"users", "{user}", "tokens", "{token}"}, revoke_token, admins, "token.revoke"},
  };
}

} // namespace orch::api
