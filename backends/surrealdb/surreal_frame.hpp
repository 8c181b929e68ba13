// One frame the SurrealDB server sends, decoded without trusting it: CBOR
// that may be malformed, truncated, tagged (tags are ignored) or of any
// shape. Pure, so that the RPC response handling can be fuzzed on its own
// (tests/fuzz/surreal_rpc.cpp). Internal to backends/surrealdb/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backends/surrealdb/surreal_client.hpp"

namespace orch::surreal {

struct server_frame {
  enum class kind {
    unreadable,                              // not CBOR, or not an object: `problem` says why
    notification,                            // no id: a live-query notification in `notification`
    reply,                                   // an answer to the call with `id`, in `outcome`
    ignored,                                 // no id and nothing we listen for
  };
  kind what = kind::ignored;
  std::string problem;
  uint64_t id = 0;
  rpc_result outcome = nlohmann::json{};
  nlohmann::json notification;
};

/// The message of an RPC error object (its `message`, else the whole of it).
std::string rpc_error_message(const nlohmann::json& error);

server_frame decode_frame(const std::vector<uint8_t>& data);

} // namespace orch::surreal
