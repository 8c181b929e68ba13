// Wall-clock time as the orchestrator stores it: microseconds since the Unix
// epoch, rendered as RFC 3339 UTC strings in JSON. Zero means "not set".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace orch {

using micros = int64_t;

constexpr micros us_per_second = 1'000'000;
constexpr micros us_per_ms = 1'000;

/// Current wall-clock time.
micros now_us();

/// "2026-11-26T02:02:31.123456Z" (always six fractional digits, always UTC).
std::string format_rfc3339(micros t);

/// Accepts RFC 3339 with or without fraction and with `Z` or a numeric offset.
/// Returns false on anything else.
bool parse_rfc3339(std::string_view text, micros& out);

} // namespace orch
