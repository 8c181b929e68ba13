#include "runtime/platform/files/posix_io.hpp"

#include <cerrno>

#include <unistd.h>

namespace orch::posix {

std::error_code write_all(int fd, std::string_view data, size_t& written) {
  written = 0;
  while (written < data.size()) {
    auto n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return {errno, std::generic_category()};
    }
    written += static_cast<size_t>(n);
  }
  return {};
}

} // namespace orch::posix
