// The pieces of GET /tasks/{id}/output, pure and tested on their own: the
// messages a follower gets (one JSON object each, as a WebSocket message or
// an SSE event named by its type), where a piece of output may be cut
// without splitting a UTF-8 character, and the Range header.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/core/live_output.hpp"
#include "runtime/core/status.hpp"
#include "runtime/core/task.hpp"

namespace orch {

/// {"type":"output","stream":"stdout","text":"..."}
std::string output_piece_message(output_stream s, std::string_view text);
/// {"type":"attempt","attempt":2,"node":"w1","live":true}: an attempt
/// began; `live` false when its output comes only once it ends (it runs on
/// a worker node, or began before this stream could follow it).
std::string attempt_message(uint32_t attempt, const std::string& node, bool live);
/// {"type":"end","status":"Completed","exit_code":0,"attempts":1}
std::string end_message(const task& t);
/// The message as a Server-Sent Event: `event:` its type, `data:` it.
std::string sse_message(const std::string& type, const std::string& json);

/// How much of `s` ends on a whole UTF-8 character: a piece read from a
/// pipe may end inside one, whose rest comes with the next piece.
size_t utf8_whole_prefix(std::string_view s);

/// A `Range: bytes=…` header over `size` bytes: one range, first..last
/// inclusive. Nothing for an empty header; refused (416) with the reason
/// for several ranges, another unit, or one that starts past the end.
struct byte_range {
  uint64_t first = 0;
  uint64_t last = 0;
};
result<std::optional<byte_range>> parse_byte_range(const std::string& header, uint64_t size);

} // namespace orch
