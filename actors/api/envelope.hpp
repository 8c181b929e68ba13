// The API's JSON envelope: {"success": true, "data": ...} and
// {"success": false, "error": "..."}, and the status of each kind of error.
// A 500 never carries an exception's or a component's text to the client:
// the log gets the detail under a request id, the client gets the id.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "caf/fwd.hpp"

#include "runtime/core/http_types.hpp"

namespace orch::api {

/// {"success": true, "data": data_json} with the status.
http_response json_ok(int status, const std::string& data_json);

/// {"success": false, "error": message} with the status.
http_response json_error(int status, const std::string& message);

/// A 500 whose detail goes to the log under a new request id; the client
/// gets the id, to quote when it reports the problem.
http_response internal_error(const std::string& detail);

/// The answer for an error from another actor: its status (404, 409, 400,
/// 503, 507) and message, or an internal_error() for anything unexpected.
http_response from_error(const caf::error& e);

/// A streamed answer: Server-Sent Events (or a WebSocket, when the request
/// asked for one), written by what `open` starts once the header is out.
http_response event_stream_answer(std::function<void(std::shared_ptr<http_stream>)> open);

} // namespace orch::api
