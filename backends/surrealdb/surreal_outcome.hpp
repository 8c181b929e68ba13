// What a SurrealDB `query` reply comes to (one result per statement, or why
// it failed), read without trusting its shape: this is what the server
// sends, and a reply the orchestrator cannot read is a clear error, never a
// crash. Internal to backends/surrealdb/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backends/surrealdb/surreal_client.hpp"
#include "runtime/core/clock.hpp"
#include "runtime/core/status.hpp"

namespace orch::surreal {

struct query_outcome {
  status st;                                 // failed: code and message
  int precondition = -1;                     // a failed precondition's number, if that was it
  bool retryable = false;                    // a transaction conflict: run it again
  std::vector<nlohmann::json> results;       // each statement's result, on success
};

/// Reads a `query` reply: any statement with status ERR makes it fail. A
/// thrown precondition wins over everything (the other entries only say
/// "not executed"); a transaction conflict is retryable.
query_outcome interpret(const rpc_result& reply);

/// The `count` of a `SELECT count() ... GROUP ALL` result (0 if absent).
uint64_t count_of(const nlohmann::json& result);

/// An RFC 3339 string as microseconds (0 if it is not one).
micros time_of(const nlohmann::json& v);

} // namespace orch::surreal
