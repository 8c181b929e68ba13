// A plain TCP connection to a loopback port, for tests that misbehave on
// purpose: connect and say nothing, trickle a request, never read.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace orch::test {

class raw_socket {
public:
  /// Connects to 127.0.0.1:port; throws std::runtime_error if it cannot.
  /// `receive_buffer`: a small SO_RCVBUF (set before connecting), for a
  /// client whose unread answers back up at once. `from`: another loopback
  /// address to connect from ("127.0.0.7"), so the server sees a client of
  /// its own (per-address limits).
  explicit raw_socket(uint16_t port, int receive_buffer = 0, const std::string& from = {});
  ~raw_socket();
  raw_socket(const raw_socket&) = delete;
  raw_socket& operator=(const raw_socket&) = delete;

  /// Sends all of `bytes`; false if the peer closed or reset.
  bool send_all(const std::string& bytes);

  /// What the peer sends until it closes (or `timeout` passes).
  struct received {
    std::string bytes;
    bool closed = false;                     // orderly end of stream
    bool reset = false;                      // ECONNRESET: what was in flight may be lost
  };
  received read_until_close(std::chrono::milliseconds timeout = std::chrono::seconds(30));

  /// Sends `bytes` while reading, then half-closes and reads to the end: a
  /// client that sends more than the server takes still gets its answer.
  received exchange(const std::string& bytes,
                    std::chrono::milliseconds timeout = std::chrono::seconds(30));

  void close();
  int fd() const { return fd_; }

private:
  int fd_ = -1;
};

/// The status code of the first HTTP response in `bytes` (0 if none).
int status_of(const std::string& bytes);

} // namespace orch::test
