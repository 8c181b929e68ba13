// A WebSocket on a connection of the HTTP server: a request that asked for
// `Upgrade: websocket` and was answered with a stream (http_response::
// open_stream) is handed over here. Each push of the handler's http_stream
// is one text message; what the client sends is read and dropped (its close
// frame ends the stream); the server pings a quiet client and closes one
// that stops answering. Ends like an event stream: in good order with a
// close frame and its reason, or at once when the client reads too slowly.
// Internal to runtime/platform/http/.
#pragma once

#include <memory>

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "runtime/platform/http/http_session.hpp"

namespace orch::http_detail {

inline constexpr const char* server_name = "orchestrator";

using plain_stream = boost::beast::tcp_stream;
using tls_stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;
using upgrade_request = boost::beast::http::request<boost::beast::http::string_body>;

/// Completes the handshake `req` asked for, then gives `resp.open_stream`
/// the stream's handler side.
void start_websocket(plain_stream&& stream, upgrade_request req,
                     std::shared_ptr<shared_state> shared, http_response resp);
void start_websocket(tls_stream&& stream, std::shared_ptr<boost::asio::ssl::context> context,
                     upgrade_request req, std::shared_ptr<shared_state> shared,
                     http_response resp);

} // namespace orch::http_detail
