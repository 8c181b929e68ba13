// How deeply a CBOR item nests, found without recursion. nlohmann's CBOR
// reader recurses once per array, map and tag level, so a frame nested a
// few thousand levels deep (4 KB of 0x81 bytes) overflows the stack: frames
// from the server are measured first. Internal to backends/surrealdb/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace orch::surreal {

/// True if `data` starts with one CBOR item whose arrays, maps and tags nest
/// at most `max_depth` levels. False if deeper, or if the structure is
/// malformed or cut short before the depth could be known (nlohmann would
/// refuse it too).
bool cbor_depth_within(const std::vector<uint8_t>& data, size_t max_depth);

} // namespace orch::surreal
