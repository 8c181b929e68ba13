// A TCP relay on a loopback port to another, for tests that cut a
// connection without stopping either end: `cut()` closes every connection
// it carries and turns new ones away (accepted, then closed at once) until
// `restore()`. Its own thread forwards the bytes.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace orch::test {

class tcp_relay {
public:
  /// Listens on a port the kernel picks and relays to 127.0.0.1:`target`.
  explicit tcp_relay(uint16_t target);
  ~tcp_relay();
  tcp_relay(const tcp_relay&) = delete;
  tcp_relay& operator=(const tcp_relay&) = delete;

  uint16_t port() const { return port_; }

  /// Closes what it carries now; new connections are closed as they come.
  void cut();
  /// Relays new connections again.
  void restore();
  /// Connections accepted and relayed so far.
  int relayed() const { return relayed_; }

private:
  struct pair {
    int client = -1;
    int server = -1;
  };
  void run();
  void close_all();

  uint16_t target_;
  uint16_t port_ = 0;
  int listener_ = -1;
  int wake_[2] = {-1, -1};                   // a pipe: tells the thread to look again
  std::atomic<bool> refusing_{false};
  std::atomic<bool> cut_now_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<int> relayed_{0};
  std::vector<pair> pairs_;                  // the thread's own
  std::thread thread_;
};

} // namespace orch::test
