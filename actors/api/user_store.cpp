#include "actors/api/user_store.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "caf/all.hpp"

#include "actors/api/authentication.hpp"
#include "actors/api/envelope.hpp"
#include "actors/credentials.hpp"
#include "runtime/auth/user_changes.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/messages/guarded.hpp"

namespace orch::api {

namespace {

constexpr int max_change_attempts = 5;

} // namespace

void read_user(const context& ctx, const std::string& username, user_fn then) {
  ctx.ask_storage(caf::get_atom_v, record_kind::user, username)
    .then(guarded("gateway", [=](const record& r) { then(decode<user>(r.json)); }),
          [=](caf::error& e) { then(status{error_code(e), error_text(e)}); });
}

http_response no_such_user(const std::string& username) {
  return json_error(404, "no user '" + username + "'");
}

void modify_user(const context& ctx, std::string username, user_edit edit, user_change change,
                 reply rp, std::function<void(const user&)> done, std::vector<precondition> also,
                 int attempt) {
  // A name no user can have (from a request body) is not worth a read;
  // storage would refuse it as a bad key, which is not the caller's 500.
  if (!is_valid_username(username))
    return rp.deliver(no_such_user(username));
  read_user(ctx, username, [=](result<user> found) mutable {
    if (!found)
      return rp.deliver(found.code() == errc::not_found ? no_such_user(username)
                        : found.code() == errc::invalid ? internal_error(found.message())
                                                        : json_error(503, found.message()));
    auto u = std::move(*found);
    if (auto refused = edit(u))
      return rp.deliver(std::move(*refused));
    auto batch = auth::update_user(u, change.action, change.details, {change.by, now_us()});
    batch.expect.insert(batch.expect.end(), also.begin(), also.end());
    ctx.ask_storage(commit_atom_v, batch)
      .then(guarded("gateway",
                    [=](uint64_t) {
                      forget_tokens(*ctx.auth, username);
                      done(u);
                    }),
            [=](caf::error& e) mutable {
              // The user changed meanwhile: read it again, and the caller's
              // check runs again on what it is now.
              if (error_code(e) == errc::conflict && attempt + 1 < max_change_attempts
                  && also.empty())
                return modify_user(ctx, username, edit, change, rp, done, also, attempt + 1);
              if (error_code(e) == errc::conflict && !also.empty())
                return rp.deliver(json_error(409, "an admin changed meanwhile; try again"));
              rp.deliver(from_error(e));
            });
  });
}

void keep_an_admin(const context& ctx, const std::string& username, reply rp,
                   std::function<void(precondition)> go) {
  record_query q;
  q.kind = record_kind::user;
  q.field = "roles";
  q.value = "admin";
  q.limit = 1000;
  ctx.ask_storage(query_atom_v, q)
    .then(guarded("gateway",
                  [=](const record_page& page) mutable {
                    for (auto& r : page.items) {
                      auto u = decode<user>(r.json);
                      if (u && u->username != username && !u->disabled)
                        return go(expect_revision(record_kind::user, u->username, u->revision));
                    }
                    rp.deliver(json_error(409, "'" + username + "' is the last enabled admin: "
                                                 "give another user the admin role first"));
                  }),
          [=](caf::error& e) mutable { rp.deliver(from_error(e)); });
}

bool is_admin(const user& u) {
  return (auth::roles_of(u.roles) & auth::bit(auth::role::admin)) && !u.disabled;
}

bool start_hashing(const context& ctx, reply& rp) {
  if (ctx.auth->hashing >= ctx.cfg->max_hashing) {
    rp.deliver(json_error(503, "too many sign-ins and password changes at once; try again in a "
                               "moment"));
    return false;
  }
  ++ctx.auth->hashing;
  return true;
}

void hash_then(const context& ctx, std::string password, reply rp,
               std::function<void(std::string)> go) {
  if (!start_hashing(ctx, rp))
    return;
  // No timeout: the count of hashes in flight goes down only when the hash
  // is over (or its actor gone), so it really bounds the cores they take.
  ctx.self->request(spawn_credentials(ctx.self), caf::infinite, hash_atom_v, password)
    .then(
      [=](const std::string& phc) mutable {
        --ctx.auth->hashing;
        guarded_call(rp, [&] { go(phc); });
      },
      [=](caf::error& e) mutable {
        --ctx.auth->hashing;
        rp.deliver(internal_error("hashing a password failed: " + error_text(e)));
      });
}

void guarded_call(reply& rp, const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    if (rp.pending())
      rp.deliver(internal_error(e.what()));
  }
}

nlohmann::json body_object(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  return j.is_object() ? j : nlohmann::json::object();
}

std::optional<std::string> text_field(const nlohmann::json& body, const char* name) {
  if (!body.is_object() || !body.contains(name) || !body[name].is_string())
    return std::nullopt;
  return body[name].get<std::string>();
}

std::optional<std::vector<std::string>> roles_field(const nlohmann::json& body) {
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

http_response session_json(const user& u, const auth::token_parts& t,
                           const auth::session_entry& e, int status) {
  nlohmann::json data{{"token", auth::token_text(t)},
                      {"username", u.username},
                      {"roles", u.roles},
                      {"expires_at", e.expires ? nlohmann::json(format_rfc3339(e.expires))
                                               : nlohmann::json(nullptr)}};
  if (e.named())
    data["name"] = e.name;
  return json_ok(status, canonical(data));
}

} // namespace orch::api
