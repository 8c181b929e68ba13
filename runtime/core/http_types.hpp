// A parsed HTTP request and the response to it, as they travel between the
// Beast server (no CAF) and the API gateway actor (no Beast).
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>

namespace orch {

struct http_request {
  std::string method;                        // GET, POST, ...
  std::string path;                          // percent-decoded path, no query
  std::map<std::string, std::string> query;  // percent-decoded query parameters
  std::string body;
  std::string remote;                        // peer address, for audit
  std::string authorization;                 // the Authorization header, as sent
  std::string host;                          // the Host header
  std::string origin;                        // the Origin header (sent by browsers)
  std::string last_event_id;                 // Last-Event-ID (an event stream resumed)
  std::string range;                         // the Range header (bytes=FIRST-LAST)
};

/// An answer that goes on after its header (Server-Sent Events, a
/// followed output, a WebSocket): what the handler holds to write it.
/// Thread-safe.
class http_stream {
public:
  virtual ~http_stream() = default;

  /// True for a WebSocket (the request asked for `Upgrade: websocket`):
  /// each push is one text message. False: each push is more bytes of one
  /// answer (chunked).
  virtual bool messages() const = 0;

  /// Queues `bytes` for the client. False once the stream is closed, or when
  /// the client does not read fast enough: more than the server's stream
  /// buffer would be waiting, and the stream is closed (`ended` says why).
  virtual bool push(std::string bytes) = 0;

  /// Bytes pushed and not yet written: a producer with much to send (a
  /// replay) waits while this is high rather than be cut off.
  virtual size_t queued() = 0;

  /// Writes what is queued and `last` (a WebSocket: one more message, if
  /// not empty), then ends the answer. `why`, if the stream ends for a
  /// reason the client should know, is a WebSocket's close reason.
  virtual void close(std::string last = {}, std::string why = {}) = 0;

  /// Called once, from the server's thread, when the stream has ended for
  /// any reason: closed, the client went away, too slow, server stopping.
  /// Set it before the first push.
  virtual void on_ended(std::function<void(const std::string& why)> fn) = 0;
};

struct http_response {
  // A constructor, not an aggregate: `{status, type, body}` keeps working
  // without naming the headers.
  http_response(int s = 200, std::string type = "application/json", std::string text = {})
    : status(s), content_type(std::move(type)), body(std::move(text)) {}

  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;  // more header fields (WWW-Authenticate, Retry-After)
  /// Set: the answer is a stream. The header goes out (chunked, no body;
  /// or the WebSocket handshake's 101 when the request asked for one), then
  /// this is called with what writes the rest.
  std::function<void(std::shared_ptr<http_stream>)> open_stream;
};

/// Where the one answer to a request goes, from whichever thread decides it.
/// Copies share it: the first answer is sent, later ones are ignored. When
/// the last copy goes without an answer (a handler dropped the request, the
/// actor holding it stopped), `unanswered` is sent instead, so a client
/// never waits on an answer that cannot come.
class http_answer {
public:
  http_answer() = default;
  http_answer(std::function<void(http_response)> send, http_response unanswered)
    : once_(std::make_shared<once>(std::move(send), std::move(unanswered))) {}

  void operator()(http_response r) const {
    if (once_ && !once_->answered.exchange(true))
      once_->send(std::move(r));
  }

  bool pending() const { return once_ && !once_->answered.load(); }

private:
  struct once {
    once(std::function<void(http_response)> s, http_response u)
      : send(std::move(s)), unanswered(std::move(u)) {}
    once(const once&) = delete;
    once& operator=(const once&) = delete;
    ~once() {
      if (!answered.load())
        send(std::move(unanswered));
    }
    std::function<void(http_response)> send;
    http_response unanswered;
    std::atomic<bool> answered{false};
  };
  std::shared_ptr<once> once_;
};

} // namespace orch
