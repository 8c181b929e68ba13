// JSON for every record kind, driven by the field lists of schema.hpp: one
// canonical text (sorted keys, no whitespace, nlohmann's escapes), shared by
// the REST API and every backend, so that migration is lossless. Decoders
// say what is wrong in words a user can act on ("field 'priority' must be an
// integer, got string").
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "runtime/core/records.hpp"
#include "runtime/core/status.hpp"
#include "runtime/core/task.hpp"

namespace orch {

using json = nlohmann::json;

/// The canonical JSON text of a record, written directly (no JSON tree):
/// byte for byte what nlohmann's dump() writes for the same value.
template <class T>
std::string encode(const T& x);

/// The record as stored: its kind, its key (task id, queue entry's task id,
/// username, event/audit/metric id) and encode(x).
template <class T>
record to_record(const T& x);

/// Decodes a stored record's JSON: every known field is checked for its
/// type, unknown fields are ignored, null and missing fields keep their
/// defaults (records written by older versions still load), and the key
/// must be valid. errc::invalid with the field and the reason otherwise.
template <class T>
status decode(std::string_view text, T& out);

template <class T>
result<T> decode(std::string_view text) {
  T out;
  if (auto st = decode(text, out); !st)
    return st;
  return out;
}

/// Canonical text of any JSON value (sorted keys, no whitespace).
std::string canonical(const json& j);

} // namespace orch
