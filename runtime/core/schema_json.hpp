// JSON Schemas (2020-12, as OpenAPI 3.1 uses them) of the stored records,
// generated from the one field list per kind (schema.hpp), so the API's
// description (GET /openapi.json) cannot drift from what the codec writes.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "runtime/core/records.hpp"

namespace orch {

/// A record of `kind` as the API returns it: every field, its JSON type,
/// times as RFC 3339 strings or null; fields only the orchestrator sets
/// are readOnly.
nlohmann::json record_json_schema(record_kind kind);

/// What POST /tasks accepts: the task fields a client may set (unknown
/// fields and the orchestrator's own are refused).
nlohmann::json task_submission_schema();

} // namespace orch
