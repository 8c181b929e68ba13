// Users (admin): list, read, create and remove them, and the four changes
// POST /users/{user}/disable, enable, password and roles, each audited as
// itself. The last enabled admin cannot be disabled, demoted or removed.
#include <nlohmann/json.hpp>

#include "caf/all.hpp"

#include "actors/api/authentication.hpp"
#include "actors/api/envelope.hpp"
#include "actors/api/listing.hpp"
#include "actors/api/route.hpp"
#include "actors/api/user_store.hpp"
#include "runtime/auth/passwords.hpp"
#include "runtime/auth/user_changes.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/core/query_params.hpp"
#include "runtime/messages/guarded.hpp"

namespace orch::api {

namespace {

using nlohmann::json;

const char* const roles_shape = "[\"admin\"|\"operator\"|\"viewer\"|\"worker\", ...]";

void list_users(const context& ctx, const http_request& req, const route_args&, reply rp) {
  record_query q;
  q.kind = record_kind::user;
  if (auto st = paging_params(req.query, q); !st)
    return rp.deliver(json_error(400, st.message()));
  list_shown(ctx, rp, q, "users", [now = now_us()](const record& r) {
    auto u = decode<user>(r.json);
    return u ? auth::public_json(*u, now) : std::string{};
  });
}

void get_user(const context& ctx, const http_request&, const route_args& args, reply rp) {
  read_user(ctx, args.user, [=](result<user> u) mutable {
    if (!u)
      return rp.deliver(u.code() == errc::not_found ? no_such_user(args.user)
                                                    : json_error(503, u.message()));
    rp.deliver(json_ok(200, auth::public_json(*u, now_us())));
  });
}

void create_user(const context& ctx, const http_request& req, const route_args& args, reply rp) {
  auto body = body_object(req.body);
  auto username = text_field(body, "username");
  auto password = text_field(body, "password");
  auto roles = roles_field(body);
  if (!username || !password || !roles)
    return rp.deliver(json_error(400, std::string{"send {\"username\": \"...\", \"password\": "
                                                  "\"...\", \"roles\": "} + roles_shape + "}"));
  if (!is_valid_username(*username))
    return rp.deliver(json_error(400, "invalid username: use up to 64 letters, digits, '.', '_' "
                                      "and '-', not starting with '.'"));
  if (auto p = auth::password_problem(*password); !p.empty())
    return rp.deliver(json_error(400, p));
  if (auto p = auth::check_role_names(*roles); !p.empty())
    return rp.deliver(json_error(400, p));
  rp.audit_as(principal_of(args), "user.create", "user:" + *username);
  hash_then(ctx, *password, rp, [=](std::string phc) mutable {
    user u;
    u.username = *username;
    u.password_hash = std::move(phc);
    u.roles = *roles;
    auto at = now_us();
    ctx.ask_storage(commit_atom_v, auth::create_user(u, {principal_of(args), at}))
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

/// A change of the user named in the path, answered with the user as it is
/// after it.
void change(const context& ctx, const route_args& args, reply rp, user_edit edit,
            std::string action, std::string details, std::vector<precondition> also = {}) {
  modify_user(
    ctx, args.user, std::move(edit), {std::move(action), std::move(details), principal_of(args)},
    rp, [=](const user& u) mutable { rp.deliver(json_ok(200, auth::public_json(u, now_us()))); },
    std::move(also));
}

void enable_user(const context& ctx, const http_request&, const route_args& args, reply rp) {
  change(ctx, args, rp,
         [](user& u) -> std::optional<http_response> {
           u.disabled = false;
           return std::nullopt;
         },
         "user.enable", "");
}

void disable_user(const context& ctx, const http_request&, const route_args& args, reply rp) {
  keep_an_admin(ctx, args.user, rp, [=](precondition other) mutable {
    change(ctx, args, rp,
           [](user& u) -> std::optional<http_response> {
             u.disabled = true;
             auth::end_logins(u);
             return std::nullopt;
           },
           "user.disable", "signed out everywhere", {other});
  });
}

void set_password(const context& ctx, const http_request& req, const route_args& args, reply rp) {
  auto password = text_field(body_object(req.body), "password");
  if (!password)
    return rp.deliver(json_error(400, "send {\"password\": \"...\"}"));
  if (auto p = auth::password_problem(*password); !p.empty())
    return rp.deliver(json_error(400, p));
  hash_then(ctx, *password, rp, [=](std::string phc) mutable {
    change(ctx, args, rp,
           [phc](user& u) -> std::optional<http_response> {
             u.password_hash = phc;
             auth::end_logins(u);
             return std::nullopt;
           },
           "user.password", "signed out everywhere");
  });
}

void set_roles(const context& ctx, const http_request& req, const route_args& args, reply rp) {
  auto roles = roles_field(body_object(req.body));
  if (!roles)
    return rp.deliver(json_error(400, std::string{"send {\"roles\": "} + roles_shape + "}"));
  if (auto p = auth::check_role_names(*roles); !p.empty())
    return rp.deliver(json_error(400, p));
  std::string list;
  for (auto& r : *roles)
    list += (list.empty() ? "" : ",") + r;
  auto apply = [=](std::vector<precondition> also) mutable {
    change(ctx, args, rp,
           [roles = *roles](user& u) -> std::optional<http_response> {
             u.roles = roles;
             auth::end_logins(u);
             return std::nullopt;
           },
           "user.roles", "roles=" + list + "; signed out everywhere", std::move(also));
  };
  if (auth::roles_of(*roles) & auth::bit(auth::role::admin))
    return apply({});
  keep_an_admin(ctx, args.user, rp, [=](precondition other) mutable { apply({std::move(other)}); });
}

void remove_user(const context& ctx, const http_request&, const route_args& args, reply rp) {
  auto by = principal_of(args);
  auto name = args.user;
  read_user(ctx, name, [=](result<user> u) mutable {
    if (!u)
      return rp.deliver(u.code() == errc::not_found ? no_such_user(name)
                                                    : json_error(503, u.message()));
    auto go = [=](std::vector<precondition> also) mutable {
      auto batch = auth::remove_user(*u, {by, now_us()});
      batch.expect.insert(batch.expect.end(), also.begin(), also.end());
      ctx.ask_storage(commit_atom_v, batch)
        .then(guarded("gateway",
                      [=](uint64_t) mutable {
                        forget_tokens(*ctx.auth, name);
                        rp.deliver(json_ok(200, canonical(json{{"removed", name}})));
                      }),
              [=](caf::error& e) mutable {
                rp.deliver(error_code(e) == errc::conflict
                             ? json_error(409, "'" + name + "' changed meanwhile; try again")
                             : from_error(e));
              });
    };
    if (is_admin(*u))
      return keep_an_admin(ctx, name, rp, [=](precondition other) mutable { go({other}); });
    go({});
  });
}

} // namespace

std::vector<route> user_routes() {
  return {
    {"GET", {"users"}, list_users, admins},
    {"POST", {"users"}, create_user, admins, "user.create"},
    {"GET", {"users", "{user}"}, get_user, admins},
    {"DELETE", {"users", "{user}"}, remove_user, admins, "user.remove"},
    {"POST", {"users", "{user}", "disable"}, disable_user, admins, "user.disable"},
    {"POST", {"users", "{user}", "enable"}, enable_user, admins, "user.enable"},
    {"POST", {"users", "{user}", "password"}, set_password, admins, "user.password"},
    {"POST", {"users", "{user}", "roles"}, set_roles, admins, "user.roles"},
  };
}

} // namespace orch::api
