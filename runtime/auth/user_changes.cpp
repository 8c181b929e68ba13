#include "runtime/auth/user_changes.hpp"

#include <string_view>

#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"

namespace orch::auth {

namespace {

precondition expect_revision(const user& u) {
  return expect_revision(record_kind::user, u.username, u.revision);
}

constexpr std::string_view anonymous_prefix = "anonymous@";

} // namespace

std::string anonymous_principal(const std::string& address) {
  return std::string{anonymous_prefix} + address;
}

bool is_anonymous(const std::string& principal) {
  return principal.starts_with(anonymous_prefix);
}

audit_record audit_entry(const change_context& ctx, const std::string& action,
                         const std::string& target, const std::string& outcome,
                         const std::string& details) {
  audit_record a;
  a.id = new_uuid_v7(ctx.now);
  a.time = ctx.now;
  a.principal = ctx.principal;
  a.action = action;
  a.target = target;
  a.outcome = outcome;
  a.details = details;
  return a;
}

write_batch create_user(user u, const change_context& ctx) {
  write_batch b;
  u.created_at = ctx.now;
  u.updated_at = 0;
  u.revision = 1;
  b.expect.push_back({precondition::absent, record_kind::user, u.username, {}, {}});
  std::string roles;
  for (auto& r : u.roles)
    roles += (roles.empty() ? "" : ",") + r;
  put(b, to_record(u));
  put(b, to_record(audit_entry(ctx, "user.create", "user:" + u.username, "ok", "roles=" + roles)));
  return b;
}

write_batch update_user(user& u, const std::string& action, const std::string& details,
                        const change_context& ctx) {
  write_batch b;
  b.expect.push_back(expect_revision(u));
  ++u.revision;
  u.updated_at = ctx.now;
  put(b, to_record(u));
  put(b, to_record(audit_entry(ctx, action, "user:" + u.username, "ok", details)));
  return b;
}

write_batch remove_user(const user& u, const change_context& ctx) {
  write_batch b;
  b.expect.push_back(expect_revision(u));
  b.ops.push_back({record_op::remove, {record_kind::user, u.username, {}}});
  put(b, to_record(audit_entry(ctx, "user.remove", "user:" + u.username, "ok")));
  return b;
}

write_batch audit_only(const audit_record& a) {
  write_batch b;
  put(b, to_record(a));
  return b;
}

} // namespace orch::auth
