#include "runtime/auth/roles.hpp"

#include <array>

namespace orch::auth {

namespace {

constexpr std::array<role, 4> all_roles{role::admin, role::operator_, role::viewer, role::worker};

} // namespace

const char* role_name(role r) {
  switch (r) {
    case role::admin: return "admin";
    case role::operator_: return "operator";
    case role::viewer: return "viewer";
    case role::worker: return "worker";
  }
  return "unknown";
}

bool parse_role(std::string_view text, role& out) {
  for (auto r : all_roles)
    if (text == role_name(r)) {
      out = r;
      return true;
    }
  return false;
}

std::vector<std::string> role_names(role_set roles) {
  std::vector<std::string> out;
  for (auto r : all_roles)
    if (roles & bit(r))
      out.emplace_back(role_name(r));
  return out;
}

std::string describe(role_set roles) {
  std::string out;
  for (auto& n : role_names(roles))
    out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "none" : out;
}

role_set roles_of(const std::vector<std::string>& names) {
  role_set out = 0;
  role r;
  for (auto& n : names)
    if (parse_role(n, r))
      out |= bit(r);
  return out;
}

std::string check_role_names(const std::vector<std::string>& names) {
  if (names.empty())
    return "give at least one role (admin, operator, viewer, worker)";
  role r;
  for (auto& n : names)
    if (!parse_role(n, r))
      return "unknown role '" + n.substr(0, 40) + "' (expected admin, operator, viewer or worker)";
  return {};
}

} // namespace orch::auth
