// The four roles of the API and the sets of them a route allows or a user
// holds. Anchored on Temporal's reader/writer/worker/admin and Airflow's
// Admin/Op/Viewer: admin does everything, operator submits and steers tasks,
// viewer reads, worker does what a worker node needs and nothing else.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace orch::auth {

enum class role : uint8_t { admin = 1, operator_ = 2, viewer = 4, worker = 8 };

/// A set of roles as bits.
using role_set = uint8_t;

constexpr role_set bit(role r) {
  return static_cast<role_set>(r);
}

constexpr role_set any_role = bit(role::admin) | bit(role::operator_) | bit(role::viewer)
                              | bit(role::worker);

/// admin, operator, viewer, worker.
const char* role_name(role r);

/// False for anything but the four names.
bool parse_role(std::string_view text, role& out);

/// "admin, operator" (in that fixed order); "none" for an empty set.
std::string describe(role_set roles);

/// The roles a user record names; unknown names are left out (a record
/// written by a newer version keeps working with the roles this one knows).
role_set roles_of(const std::vector<std::string>& names);

/// Every name a role; "" if so, else what is wrong with which name.
std::string check_role_names(const std::vector<std::string>& names);

/// The names, deduplicated and in the fixed order.
std::vector<std::string> role_names(role_set roles);

} // namespace orch::auth
