// A Server-Sent Events client over a plain socket, for the event stream's
// tests: sends GET with optional headers, reads the chunked answer as it
// comes, and hands out one event at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "tests/support/raw_socket.hpp"

namespace orch::test {

struct sse_message {
  std::string id;
  std::string event;                         // its event: line; "" for a plain message
  std::string data;
};

class sse_client {
public:
  /// Connects to 127.0.0.1:port and asks for `target` with `headers`
  /// (Authorization, Last-Event-ID, ...). Throws if it cannot connect.
  sse_client(uint16_t port, const std::string& target,
             const std::map<std::string, std::string>& headers = {});

  /// The answer's status (waits for the header); 0 if none came in time.
  int status(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// A header of the answer, lower-case name; "" if absent.
  std::string header(const std::string& name) const;
  /// The body of a non-stream answer (an error's JSON), once it ended.
  std::string body(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  /// The next event with data (comments skipped); nothing if none came in
  /// time or the stream ended.
  std::optional<sse_message> next(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  /// Comment lines seen so far (": keepalive", the reason of a cut-off).
  const std::string& comments() const { return comments_; }
  /// True once the server ended the stream.
  bool ended() const { return ended_; }
  /// True if it ended with the last chunk: a whole answer, not a cut.
  bool ended_whole() const { return whole_; }

private:
  bool fill(std::chrono::steady_clock::time_point deadline);  // false: timed out or ended
  bool parse_header();
  void dechunk();

  raw_socket socket_;
  std::string raw_;                          // bytes as read, before the header is parsed
  std::string text_;                         // the body, de-chunked
  bool header_done_ = false;
  bool chunked_ = false;
  int status_ = 0;
  std::map<std::string, std::string> headers_;
  std::string comments_;
  bool ended_ = false;
  bool whole_ = false;
};

} // namespace orch::test
