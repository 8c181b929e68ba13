// The query parameters of the REST API's listings, parsed and checked:
// paging (limit, offset), order and time ranges. Pure functions over the
// decoded parameters, so every bad value gets a message saying what is wrong.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/records.hpp"
#include "runtime/core/status.hpp"

namespace orch {

using query_map = std::map<std::string, std::string>;

/// An unsigned whole number in [lo, hi]; absent or empty leaves `out` alone.
status uint_param(const query_map& q, const char* name, uint64_t lo, uint64_t hi, uint64_t& out);

/// An RFC 3339 time; absent or empty leaves `out` alone.
status time_param(const query_map& q, const char* name, micros& out);

inline constexpr uint32_t default_page = 100;
inline constexpr uint32_t max_page = 1000;

/// The non-empty pieces of `text` between `separator`s: "a,,b," -> {a, b}
/// (comma lists in queries, a path's segments).
std::vector<std::string> split_nonempty(std::string_view text, char separator);

/// A value as a refusal quotes it: 'value', cut after 64 characters.
std::string shown_value(std::string_view s);

/// A status by name, any case; refused with the names there are.
status status_param(std::string_view name, task_status& out);

/// limit (1..1000, default 100), offset, order (asc|desc, also oldest|newest),
/// since and until, into `q`.
status paging_params(const query_map& params, record_query& q);

} // namespace orch
