#include "runtime/core/query_params.hpp"

#include <cerrno>
#include <cstdlib>

#include "runtime/core/clock.hpp"

namespace orch {

status uint_param(const query_map& q, const char* name, uint64_t lo, uint64_t hi, uint64_t& out) {
  auto i = q.find(name);
  if (i == q.end() || i->second.empty())
    return {};
  auto& text = i->second;
  bool digits = text.find_first_not_of("0123456789") == std::string::npos;
  char* end = nullptr;
  errno = 0;
  auto v = digits ? std::strtoull(text.c_str(), &end, 10) : 0;
  if (!digits || errno != 0 || v < lo || v > hi)
    return {errc::invalid, std::string{"query parameter '"} + name
                             + "' must be a whole number between " + std::to_string(lo) + " and "
                             + std::to_string(hi) + ", got '" + text + "'"};
  out = v;
  return {};
}

status time_param(const query_map& q, const char* name, micros& out) {
  auto i = q.find(name);
  if (i == q.end() || i->second.empty())
    return {};
  if (!parse_rfc3339(i->second, out))
    return {errc::invalid, std::string{"query parameter '"} + name
                             + "' must be an RFC 3339 time such as 2026-01-02T03:04:05Z, got '"
                             + i->second + "'"};
  return {};
}

status paging_params(const query_map& params, record_query& q) {
  uint64_t limit = default_page, offset = 0;
  if (auto st = uint_param(params, "limit", 1, max_page, limit); !st)
    return st;
  if (auto st = uint_param(params, "offset", 0, uint64_t{1} << 53, offset); !st)
    return st;
  if (auto st = time_param(params, "since", q.since); !st)
    return st;
  if (auto st = time_param(params, "until", q.until); !st)
    return st;
  q.limit = static_cast<uint32_t>(limit);
  q.offset = offset;
  if (auto i = params.find("order"); i != params.end()) {
    // Either way it overrides the route's default (the audit log lists the
    // newest first unless asked otherwise).
    if (i->second == "desc" || i->second == "newest")
      q.newest_first = true;
    else if (i->second == "asc" || i->second == "oldest")
      q.newest_first = false;
    else if (!i->second.empty())
      return {errc::invalid,
              "query parameter 'order' must be 'asc' or 'desc', got '" + i->second + "'"};
  }
  return {};
}

std::string shown_value(std::string_view s) {
  return "'" + std::string{s.substr(0, 64)} + (s.size() > 64 ? "…" : "") + "'";
}

status status_param(std::string_view name, task_status& out) {
  if (parse_status(name, out))
    return {};
  return invalid_input("unknown status " + shown_value(name)
                       + " (expected Pending, Queued, Running, Completed, Failed or Cancelled)");
}

std::vector<std::string> split_nonempty(std::string_view text, char separator) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos < text.size()) {
    auto next = text.find(separator, pos);
    if (next == std::string_view::npos)
      next = text.size();
    if (next > pos)
      parts.emplace_back(text.substr(pos, next - pos));
    pos = next + 1;
  }
  return parts;
}

} // namespace orch
