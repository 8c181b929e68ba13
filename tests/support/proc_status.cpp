#include "tests/support/proc_status.hpp"

#include <fstream>

namespace orch::test {

long proc_status_kib(pid_t pid, const std::string& field) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  auto prefix = field + ":";
  for (std::string line; std::getline(in, line);)
    if (line.rfind(prefix, 0) == 0)
      return std::stol(line.substr(prefix.size()));
  return -1;
}

} // namespace orch::test
