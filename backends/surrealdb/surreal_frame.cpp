#include "backends/surrealdb/surreal_frame.hpp"

#include "backends/surrealdb/cbor_depth.hpp"

namespace orch::surreal {

using json = nlohmann::json;

namespace {

/// Replies hold records a few levels deep; far more is an attack or a bug.
constexpr size_t max_frame_depth = 256;

} // namespace

std::string rpc_error_message(const json& error) {
  if (error.is_object()) {
    auto msg = error.value("message", std::string{});
    if (!msg.empty())
      return msg;
  }
  return error.dump();
}

server_frame decode_frame(const std::vector<uint8_t>& data) {
  server_frame f;
  if (!cbor_depth_within(data, max_frame_depth)) {
    f.what = server_frame::kind::unreadable;
    f.problem = "a frame that is not CBOR, or nests deeper than "
                + std::to_string(max_frame_depth) + " levels";
    return f;
  }
  json msg;
  try {
    msg = json::from_cbor(data, true, true, json::cbor_tag_handler_t::ignore);
  } catch (const std::exception& e) {
    f.what = server_frame::kind::unreadable;
    f.problem = e.what();
    return f;
  }
  if (!msg.is_object()) {
    f.what = server_frame::kind::unreadable;
    f.problem = std::string{"a "} + msg.type_name() + " where an object was expected";
    return f;
  }
  auto id = msg.find("id");
  if (id == msg.end() || !id->is_number_integer()) {
    // No id: a live-query notification (or an error about a malformed frame).
    if (auto r = msg.find("result"); r != msg.end() && r->is_object()) {
      f.what = server_frame::kind::notification;
      f.notification = std::move(*r);
    }
    return f;
  }
  f.what = server_frame::kind::reply;
  f.id = id->get<uint64_t>();
  if (auto e = msg.find("error"); e != msg.end()) {
    auto text = rpc_error_message(*e);
    f.outcome = status{is_retryable_conflict(text) ? errc::conflict : errc::internal, text};
  } else if (auto r = msg.find("result"); r != msg.end()) {
    f.outcome = std::move(*r);
  }
  return f;
}

} // namespace orch::surreal
