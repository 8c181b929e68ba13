// The HTTP/1.1 server (Boost.Beast, asynchronous, keep-alive) in front of the
// API gateway. It knows nothing about CAF: each parsed request goes to a
// request_handler, whose callback may run on any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "runtime/core/http_types.hpp"
#include "runtime/core/status.hpp"

namespace orch {

using http_reply_fn = std::function<void(http_response)>;
using request_handler = std::function<void(http_request, http_reply_fn)>;

struct http_server_config {
  std::string bind = "127.0.0.1";
  uint16_t port = 8080;                      // 0: any free port
  uint64_t max_body_bytes = 1 << 20;         // larger bodies get 413
  unsigned threads = 2;
  std::chrono::seconds idle_timeout{60};     // keep-alive connections idle longer are closed
  /// From a request's first byte to its last (slow clients get 408), and
  /// for writing an answer to a client that does not read it.
  std::chrono::seconds request_timeout{30};
  /// Open connections at most; one more is answered 503 and closed.
  size_t max_connections = 10000;
  /// The longest the request handler may take to answer; then the client
  /// gets a 503 and a later answer is dropped (0: no limit).
  std::chrono::seconds answer_timeout{0};
  /// A stream's bytes waiting for a client that reads slower than they
  /// come, at most; beyond it the stream is closed (http_stream::push).
  size_t stream_buffer_bytes = 1 << 20;
  /// HTTPS (TLS 1.2 and later) with this PEM certificate chain and key;
  /// both empty: plain HTTP.
  std::string tls_cert;
  std::string tls_key;
};

class http_server {
public:
  http_server(http_server_config cfg, request_handler handler);
  ~http_server();

  /// Binds and starts serving; returns the bound port, or why binding failed
  /// (port in use, not an address, ...).
  result<uint16_t> start();

  /// Reads --tls-cert and --tls-key again (SIGHUP): new connections use
  /// them, open ones keep theirs. On a failure the old ones stay in use.
  status reload_tls();

  /// Stops accepting new connections; requests in progress complete.
  void stop_accepting();

  /// Stops everything and joins the I/O threads.
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Splits a request target into its decoded path and query parameters
/// (`req.path`, `req.query`); false if its percent-encoding is malformed.
bool parse_request_target(const std::string& target, http_request& req);

/// Percent-decodes `in`; false on a malformed escape.
bool percent_decode(const std::string& in, std::string& out, bool plus_is_space);

} // namespace orch
