// Whether a stored record matches a listing's filter (record_query), read
// straight from its canonical JSON text: the backends that filter in memory
// (filesystem, RocksDB) run it on every candidate record.
#pragma once

#include <string_view>

#include "runtime/core/records.hpp"
#include "runtime/core/task_search.hpp"

namespace orch {

/// The time a time range selects on (see record_query), in microseconds; 0
/// if unset or unreadable.
micros record_time(record_kind kind, std::string_view text);

/// Does the record match the query's field/value filter and time range? A
/// field equals the value (numbers and booleans as printed, statuses without
/// regard to case) or, for an array, contains it.
bool matches(const record_query& q, std::string_view text);

/// A query's whole filter on a record's text: matches(), and its search if
/// it has one (parsed once, by apply_search, for every candidate).
class record_filter {
public:
  record_filter(const record_query& q, const task_search& search) : q_(q), search_(search) {}
  bool operator()(std::string_view text) const {
    return matches(q_, text) && (q_.search.empty() || search_matches_json(search_, text));
  }

private:
  const record_query& q_;
  const task_search& search_;
};

} // namespace orch
