#include "runtime/platform/process/host_name.hpp"

#include <unistd.h>

namespace orch {

std::string host_name(const std::string& fallback) {
  char host[256] = "";
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == 0)
    return fallback;
  return host;
}

} // namespace orch
