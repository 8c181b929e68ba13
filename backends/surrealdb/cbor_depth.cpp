#include "backends/surrealdb/cbor_depth.hpp"

namespace orch::surreal {

namespace {

/// Reads an item's argument (RFC 8949 section 3): false if cut short or
/// reserved. `indefinite` for additional information 31.
bool argument(const std::vector<uint8_t>& d, size_t& pos, uint8_t info, uint64_t& value,
              bool& indefinite) {
  indefinite = info == 31;
  if (info < 24 || indefinite) {
    value = info;
    return true;
  }
  if (info > 27)
    return false;
  size_t bytes = size_t{1} << (info - 24);
  if (d.size() - pos < bytes)
    return false;
  value = 0;
  for (size_t i = 0; i < bytes; ++i)
    value = (value << 8) | d[pos++];
  return true;
}

} // namespace

bool cbor_depth_within(const std::vector<uint8_t>& d, size_t max_depth) {
  // Each open container: items still to come (~0 for indefinite lengths).
  constexpr uint64_t until_break = ~uint64_t{0};
  std::vector<uint64_t> open;
  size_t pos = 0;
  do {
    if (pos >= d.size())
      return false;
    uint8_t head = d[pos++];
    uint8_t major = head >> 5, info = head & 31;
    if (head == 0xff) {  // break: ends the innermost indefinite container
      if (open.empty() || open.back() != until_break)
        return false;
      open.pop_back();
    } else {
      uint64_t value = 0;
      bool indefinite = false;
      if (!argument(d, pos, info, value, indefinite))
        return false;
      bool container = major == 4 || major == 5 || major == 6;
      if ((major == 2 || major == 3) && !indefinite) {
        if (d.size() - pos < value)
          return false;
        pos += static_cast<size_t>(value);
      } else if ((major == 2 || major == 3) && indefinite) {
        open.push_back(until_break);  // chunks until a break: no deeper than one level
      } else if (major == 7 && indefinite) {
        return false;  // a break byte is 0xff, handled above
      } else if (container) {
        if (indefinite && major == 6)
          return false;
        uint64_t items = indefinite ? until_break : major == 5 ? 2 * value : major == 6 ? 1 : value;
        if (major == 5 && !indefinite && value > (until_break - 1) / 2)
          return false;
        if (items != 0)
          open.push_back(items);
        if (open.size() > max_depth)
          return false;
        if (items != 0)
          continue;  // its items come next
      }
    }
    // One item finished: count it against the containers it closes.
    while (!open.empty() && open.back() != until_break && --open.back() == 0)
      open.pop_back();
  } while (!open.empty());
  return true;
}

} // namespace orch::surreal
