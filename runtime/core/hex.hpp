// Hexadecimal digits, as JSON escapes (\uXXXX) and URLs (%XX) write them.
#pragma once

namespace orch {

/// The value of a hex digit (either case), or -1 if `c` is not one.
constexpr int hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

} // namespace orch
