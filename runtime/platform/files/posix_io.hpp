// POSIX file primitives every layer that writes files shares: whole writes
// despite short writes and signals.
#pragma once

#include <cstddef>
#include <string_view>
#include <system_error>

namespace orch::posix {

/// Writes all of `data` to `fd`, retrying short writes and EINTR. On failure
/// returns the error, with `written` telling how much went out before it.
std::error_code write_all(int fd, std::string_view data, size_t& written);

inline std::error_code write_all(int fd, std::string_view data) {
  size_t written = 0;
  return write_all(fd, data, written);
}

} // namespace orch::posix
