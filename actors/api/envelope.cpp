#include "actors/api/envelope.hpp"

#include <nlohmann/json.hpp>

#include "caf/error.hpp"

#include "runtime/auth/tokens.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/log.hpp"
#include "runtime/messages/types.hpp"

namespace orch::api {

namespace {

/// The status for an error the client can act on; 0 for the unexpected.
int status_for(errc code) {
  switch (code) {
    case errc::not_found: return 404;
    case errc::conflict: return 409;
    case errc::invalid: return 400;
    case errc::unavailable:
    case errc::locked:
    // Storage could not write (permissions, a folder gone, a device error):
    // nothing was written, and the same request succeeds once it is fixed.
    case errc::io_error: return 503;
    case errc::no_space: return 507;  // Insufficient Storage
    default: return 0;
  }
}

} // namespace

http_response json_ok(int status, const std::string& data_json) {
  return {status, "application/json", "{\"success\":true,\"data\":" + data_json + "}"};
}

http_response json_error(int status, const std::string& message) {
  nlohmann::json body{{"success", false}, {"error", message}};
  return {status, "application/json", canonical(body)};
}

http_response internal_error(const std::string& detail) {
  auto id = auth::to_hex(auth::random_bytes(8));
  log_error("gateway", "request " + id + " failed: " + detail);
  nlohmann::json body{{"success", false},
                      {"error", "internal error: the server's log says what happened under "
                                "request id " + id},
                      {"request_id", id}};
  return {500, "application/json", canonical(body)};
}

http_response from_error(const caf::error& e) {
  if (auto status = status_for(error_code(e)); status != 0)
    return json_error(status, error_text(e));
  return internal_error(error_text(e));
}

http_response event_stream_answer(std::function<void(std::shared_ptr<http_stream>)> open) {
  http_response resp{200, "text/event-stream"};
  // Buffering proxies (nginx) pass the events on at once.
  resp.headers["X-Accel-Buffering"] = "no";
  resp.open_stream = std::move(open);
  return resp;
}

} // namespace orch::api
