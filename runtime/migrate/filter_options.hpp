// What a migration's filter options say, as given on the command line.
#pragma once

#include <string>
#include <vector>

namespace orch::migration {

struct filter_options {
  std::vector<std::string> statuses;         // tasks with these statuses only
  std::string since;                         // tasks created at or after (RFC 3339)
  std::string until;                         // tasks created before (RFC 3339)
  std::string kinds;                         // comma-separated record kinds; empty: all
};

} // namespace orch::migration
