// A WebSocket client (Boost.Beast) for the event stream's tests: the
// handshake with optional headers, then one message at a time as it comes,
// and how the server closed.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace orch::test {

class ws_client {
public:
  /// Connects to 127.0.0.1:port and asks for a WebSocket at `target`
  /// with `headers`. Throws if it cannot connect; a refused handshake is
  /// not an exception (status() says what the server answered).
  ws_client(uint16_t port, const std::string& target,
            const std::map<std::string, std::string>& headers = {});
  ~ws_client();

  /// 101 once the handshake succeeded; the server's status if it refused
  /// (its body in refusal()); 0 if nothing came.
  int status() const { return status_; }
  const std::string& refusal() const { return refusal_; }

  /// The next message; nothing if none came in time or the stream ended.
  std::optional<std::string> next(std::chrono::milliseconds timeout = std::chrono::seconds(30));

  /// After the server closed: its close code (1000 normal, 1001 going
  /// away, 1008 policy) and reason; 0 if it did not send a close frame.
  int close_code() const { return close_code_; }
  const std::string& close_reason() const { return close_reason_; }
  bool closed() const { return closed_; }

  /// Drops the connection without a close frame.
  void close();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
  int status_ = 0;
  std::string refusal_;
  int close_code_ = 0;
  std::string close_reason_;
  bool closed_ = false;
};

} // namespace orch::test
