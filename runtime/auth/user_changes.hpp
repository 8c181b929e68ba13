// Every change to a user as one write batch: the user record (revision
// checked, so a change made meanwhile on another instance is a conflict, not
// a lost update) and the audit record that describes it, committed together.
// Used by the gateway's routes and by `orchestrator user` offline alike.
#pragma once

#include <string>

#include "runtime/core/records.hpp"

namespace orch::auth {

/// Who makes a change, and when.
struct change_context {
  std::string principal;                     // "user:alice", "cli:root", "bootstrap"
  micros now = 0;
};

/// The principal of a request without a valid token, in audit records:
/// "anonymous@<address>".
std::string anonymous_principal(const std::string& address);

/// Is this the principal of a request without a valid token?
bool is_anonymous(const std::string& principal);

/// An audit record of `action` on `target` with its outcome (ok, denied,
/// invalid, failed). Details never hold a password, hash or token.
audit_record audit_entry(const change_context& ctx, const std::string& action,
                         const std::string& target, const std::string& outcome,
                         const std::string& details = {});

/// A new user: the record must not exist yet.
write_batch create_user(user u, const change_context& ctx);

/// Stores `u` (revision bumped, updated_at set) if the stored revision is
/// still `u.revision`, with an audit record of `action`.
write_batch update_user(user& u, const std::string& action, const std::string& details,
                        const change_context& ctx);

/// Removes the user if unchanged since it was read.
write_batch remove_user(const user& u, const change_context& ctx);

/// Just the audit record (a refused request, a failed login).
write_batch audit_only(const audit_record& a);

} // namespace orch::auth
