#include "runtime/core/output_text.hpp"

#include <charconv>

#include "runtime/core/json_writer.hpp"

namespace orch {

std::string output_piece_message(output_stream s, std::string_view text) {
  json_writer w;
  w.begin_object().key("type").value("output").key("stream").value(to_string(s));
  w.key("text").value(text).end_object();
  return w.take();
}

std::string attempt_message(uint32_t attempt, const std::string& node, bool live) {
  json_writer w;
  w.begin_object().key("type").value("attempt").key("attempt").value(attempt);
  w.key("node").value(node).key("live").value(live).end_object();
  return w.take();
}

std::string end_message(const task& t) {
  json_writer w;
  w.begin_object().key("type").value("end").key("status").value(to_string(t.status));
  w.key("exit_code");
  if (t.has_exit_code)
    w.value(t.exit_code);
  else
    w.null();
  w.key("attempts").value(t.attempts).end_object();
  return w.take();
}

std::string sse_message(const std::string& type, const std::string& json) {
  // The JSON has no line breaks (they are escaped), so one data: line.
  return "event: " + type + "\ndata: " + json + "\n\n";
}

size_t utf8_whole_prefix(std::string_view s) {
  // Look back over at most 3 continuation bytes for the last lead byte.
  size_t n = s.size();
  for (size_t back = 1; back <= 4 && back <= n; ++back) {
    auto c = static_cast<unsigned char>(s[n - back]);
    if ((c & 0xC0) == 0x80)
      continue;  // a continuation byte: keep looking
    size_t need = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3
                               : (c & 0xF8) == 0xF0 ? 4 : 1;  // invalid: not held back
    return back < need ? n - back : n;
  }
  return n;  // only continuation bytes: invalid either way, nothing held back
}

namespace {

bool parse_number(std::string_view s, uint64_t& out) {
  if (s.empty())
    return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && end == s.data() + s.size();
}

} // namespace

result<std::optional<byte_range>> parse_byte_range(const std::string& header, uint64_t size) {
  if (header.empty())
    return std::optional<byte_range>{};
  constexpr std::string_view unit = "bytes=";
  if (header.compare(0, unit.size(), unit) != 0)
    return status{errc::invalid, "Range: only bytes ranges are served (bytes=FIRST-LAST)"};
  std::string_view spec{header};
  spec.remove_prefix(unit.size());
  if (spec.find(',') != std::string_view::npos)
    return status{errc::invalid, "Range: one range at a time"};
  auto dash = spec.find('-');
  if (dash == std::string_view::npos)
    return status{errc::invalid, "Range: expected bytes=FIRST-LAST, FIRST- or -LENGTH"};
  auto a = spec.substr(0, dash), b = spec.substr(dash + 1);
  uint64_t first = 0, last = 0;
  if (a.empty()) {  // the last `b` bytes
    uint64_t length = 0;
    if (!parse_number(b, length) || length == 0)
      return status{errc::invalid, "Range: a suffix length must be a positive number"};
    if (size == 0)
      return status{errc::invalid, "Range: the output is empty"};
    first = length >= size ? 0 : size - length;
    return std::optional<byte_range>{byte_range{first, size - 1}};
  }
  if (!parse_number(a, first) || (!b.empty() && !parse_number(b, last)))
    return status{errc::invalid, "Range: FIRST and LAST must be numbers"};
  if (b.empty() || last >= size)
    last = size == 0 ? 0 : size - 1;
  if (first >= size)
    return status{errc::invalid, "Range: it starts at byte " + std::to_string(first)
                                   + ", past the end (" + std::to_string(size) + " bytes)"};
  if (last < first)
    return status{errc::invalid, "Range: LAST is before FIRST"};
  return std::optional<byte_range>{byte_range{first, last}};
}

} // namespace orch
