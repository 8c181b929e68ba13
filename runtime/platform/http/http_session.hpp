// One connection of the HTTP server (http_server.cpp accepts, this serves):
// reads requests with the server's limits, hands each to the handler, writes
// the answers, and closes without losing the last one. Internal to
// runtime/platform/http/.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include "runtime/platform/http/http_server.hpp"
#include "runtime/platform/http/stream_link.hpp"

namespace orch::http_detail {

/// Requests handed to the handler whose response is not written yet: what a
/// stop waits for, so that no answer already decided is cut off.
class in_flight {
public:
  void begin();
  void end();
  void wait_idle(std::chrono::milliseconds timeout);

private:
  std::mutex m_;
  std::condition_variable cv_;
  int n_ = 0;
};

/// What the server and its sessions share. Sessions hold it, so it outlives
/// the last of them whatever order the server is torn down in.
struct shared_state {
  http_server_config cfg;
  request_handler handler;
  std::atomic<bool> accepting{true};
  std::atomic<size_t> connections{0};        // sessions alive, refused ones included
  in_flight requests;
  stream_registry streams;                   // streamed answers still open

  /// The TLS context new connections use; null: plain HTTP.
  std::shared_ptr<boost::asio::ssl::context> tls_context();
  void set_tls_context(std::shared_ptr<boost::asio::ssl::context> c);

private:
  std::mutex tls_mutex;
  std::shared_ptr<boost::asio::ssl::context> tls;
};

/// Serves a connection. `refuse`: the connection cap is reached; it answers
/// 503 once, whatever comes, and closes.
void start_session(boost::asio::ip::tcp::socket socket, std::shared_ptr<shared_state> shared,
                   bool refuse);

/// The JSON envelope of an error the server answers itself.
std::string error_body(const std::string& message);

} // namespace orch::http_detail
