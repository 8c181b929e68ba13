// Reading and changing user records for the sessions, users and tokens
// routes. A user and its sessions are one record; every change to it is
// committed with its audit record, revision-checked, and tried again when
// another instance changed it first. Password hashes run on a thread of
// their own (actors/credentials.hpp), a bounded number at once.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "actors/api/context.hpp"
#include "actors/api/reply.hpp"
#include "runtime/auth/sessions.hpp"
#include "runtime/auth/tokens.hpp"
#include "runtime/core/records.hpp"
#include "runtime/core/status.hpp"
#include "runtime/core/task.hpp"

namespace orch::api {

using user_fn = std::function<void(result<user>)>;

/// The user, or not_found / what storage said.
void read_user(const context& ctx, const std::string& username, user_fn then);

/// 404 naming the user.
http_response no_such_user(const std::string& username);

/// An edit of a user record: nullopt to store it, or the answer that refuses it.
using user_edit = std::function<std::optional<http_response>(user&)>;

/// What a user change is, for its audit record.
struct user_change {
  std::string action;                        // user.disable, auth.login, ...
  std::string details;
  std::string by;                            // the principal
};

/// Reads the user, edits it, commits it with its audit record if nobody
/// changed it meanwhile (else reads it again, a few times), then `done`.
/// `also`: preconditions on other records (see keep_an_admin); a conflict
/// on one of them is a 409.
void modify_user(const context& ctx, std::string username, user_edit edit, user_change change,
                 reply rp, std::function<void(const user&)> done,
                 std::vector<precondition> also = {}, int attempt = 0);

/// Calls `go` with a precondition that another enabled user keeps the admin
/// role unchanged until the change commits (so no change, nor two at once,
/// locks every admin out); 409 otherwise.
void keep_an_admin(const context& ctx, const std::string& username, reply rp,
                   std::function<void(precondition)> go);

bool is_admin(const user& u);

/// Counts a password hash or check in flight; false (and 503 answered) when
/// too many are already: a flood of sign-ins must not take every core.
bool start_hashing(const context& ctx, reply& rp);

/// Hashes `password` off this thread, then `go(phc)`.
void hash_then(const context& ctx, std::string password, reply rp,
               std::function<void(std::string)> go);

/// Runs `f`; what it throws is this request's 500, not the gateway's end.
void guarded_call(reply& rp, const std::function<void()>& f);

// -- request bodies -----------------------------------------------------------------------

/// The body as an object; {} when it is not one.
nlohmann::json body_object(const std::string& text);

/// A string field of an object body, or nullopt (missing or not a string).
std::optional<std::string> text_field(const nlohmann::json& body, const char* name);

/// {"roles": [...]}, each name once; nullopt when missing or not strings.
std::optional<std::vector<std::string>> roles_field(const nlohmann::json& body);

/// {token, username, roles, expires_at[, name]}: a new sign-in or named token.
http_response session_json(const user& u, const auth::token_parts& t,
                           const auth::session_entry& e, int status);

} // namespace orch::api
