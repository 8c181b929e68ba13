// Identifiers: random UUIDs (v4) for tasks, time-ordered UUIDs (v7) for
// append-only records (audit, metrics, events), and the validators that every
// client-supplied identifier passes before it reaches a path or a query.
#pragma once

#include <string>
#include <string_view>

#include "runtime/core/clock.hpp"

namespace orch {

std::string new_uuid_v4();

/// Time-ordered: strictly increasing within this process (ties broken by a
/// process-wide counter), so keys sort in creation order.
std::string new_uuid_v7(micros t);

/// Lower-case canonical 8-4-4-4-12 hex form only.
bool is_uuid(std::string_view s);

/// A UUID (version 8, RFC 9562) that is the same every time for the same
/// (t, name): the time's milliseconds first, as in version 7 (ids sort by
/// it), then bits of a hash of the name. What makes a schedule's firing at
/// `t` one task however many orchestrators try to create it.
std::string derived_uuid(micros t, std::string_view name);

/// 1-64 characters of [A-Za-z0-9._-], not starting with '.'.
bool is_valid_username(std::string_view s);

/// Namespace and database names: 1-64 characters of [A-Za-z0-9_-].
bool is_valid_ns_name(std::string_view name);

} // namespace orch
