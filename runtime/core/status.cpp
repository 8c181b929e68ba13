#include "runtime/core/status.hpp"

namespace orch {

const char* to_string(errc x) {
  switch (x) {
    case errc::not_found: return "not_found";
    case errc::conflict: return "conflict";
    case errc::invalid: return "invalid";
    case errc::unavailable: return "unavailable";
    case errc::io_error: return "io_error";
    case errc::corrupted: return "corrupted";
    case errc::locked: return "locked";
    case errc::internal: return "internal";
    case errc::no_space: return "no_space";
  }
  return "unknown";
}

} // namespace orch
