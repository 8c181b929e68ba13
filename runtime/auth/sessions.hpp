// A user's sessions (from POST /auth/login) and named API tokens (from
// POST /auth/tokens), kept in the user's own record (`user::sessions`):
// session id -> "<created_us> <expires_us> <sha256 of the secret> [<name>]".
// Keeping them in the user record means a token is checked with one read by
// key on any instance, and revoking one is a change of that record, seen by
// every instance that shares the storage.
#pragma once

#include <string>
#include <vector>

#include "runtime/core/clock.hpp"
#include "runtime/core/task.hpp"
#include "runtime/auth/tokens.hpp"

namespace orch::auth {

struct session_entry {
  micros created = 0;
  micros expires = 0;                        // 0: a named token without an end
  std::string secret_hash;                   // sha256_hex(secret)
  std::string name;                          // "": a login session; else the API token's name

  bool named() const { return !name.empty(); }
};

/// Sign-ins kept per user; a new one beyond this ends the oldest.
constexpr size_t max_login_sessions = 32;
constexpr size_t max_named_tokens = 64;

bool read_entry(const std::string& text, session_entry& out);
std::string entry_text(const session_entry& e);

/// Adds the session, drops the expired ones and, past max_login_sessions,
/// the oldest sign-ins.
void add_session(user& u, const std::string& session_id, const session_entry& e, micros now);

/// Why the token does not let its bearer in ("" when it does): the user is
/// disabled, the session is unknown (ended, revoked, or never was), the
/// secret differs, or it expired. The caller answers the same 401 for all.
std::string check_token(const user& u, const token_parts& t, micros now,
                        session_entry* found = nullptr);

/// Ends every sign-in of the user (a password or role change, a disable);
/// named tokens stay, and act with the user's roles of the moment.
void end_logins(user& u);

/// Ends one session or token; false if the user has no such one.
bool end_session(user& u, const std::string& session_id);

/// The id of the named token `name`, or "".
std::string named_token_id(const user& u, const std::string& name);

/// How the API shows a user: name, roles, state, times, how many sign-ins,
/// the names of its tokens; never a hash.
std::string public_json(const user& u, micros now);

} // namespace orch::auth
