// What a handler holds to write a streamed answer (http_stream), and what
// the connection serving it calls back: the bounded queue between the two
// threads. Internal to runtime/platform/http/.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/core/http_types.hpp"

namespace orch::http_detail {

class stream_link final : public http_stream {
public:
  /// How the stream ends: after what is queued and `last`, or at once,
  /// dropping what waits (`cut`: the client is too slow). `why`: the
  /// reason, if any (a WebSocket's close frame carries it).
  struct ending {
    std::string last;
    std::string why;
    bool cut = false;
  };

  /// `wake`: asks the connection's thread to take() what was pushed (called
  /// once per batch: pushes that come before it has taken join the batch);
  /// `finish`: asks it to end as `ending` says.
  struct connection_side {
    std::function<void()> wake;
    std::function<void(ending)> finish;
  };

  stream_link(connection_side side, size_t limit, bool messages)
    : side_(std::move(side)), limit_(limit), messages_(messages) {}

  bool messages() const override { return messages_; }
  bool push(std::string bytes) override;
  size_t queued() override;
  void close(std::string last, std::string why) override;
  void on_ended(std::function<void(const std::string& why)> fn) override;

  /// What was pushed since the last take, in order (the connection's thread).
  std::vector<std::string> take();

  /// The connection wrote `n` of the queued bytes.
  void written(size_t n);

  /// The stream is over (the connection's thread, or the server stopping):
  /// tells the handler once, and drops the connection's callbacks.
  void ended(const std::string& why);
  bool over();

private:
  std::mutex m_;
  connection_side side_;
  size_t limit_;
  const bool messages_;
  size_t queued_ = 0;
  std::vector<std::string> pending_;         // pushed, not taken yet
  bool woken_ = false;                       // a wake is on its way
  bool closing_ = false;                     // close() or cut off: nothing more is taken
  bool over_ = false;                        // ended() ran
  std::string why_;
  std::function<void(const std::string&)> on_ended_;
};

/// The streams open on a server, for a stop to end them before the threads
/// that serve them are gone.
class stream_registry {
public:
  void add(const std::shared_ptr<stream_link>& link);
  /// Closes every open stream in good order, saying `why` (an event
  /// stream's last comment line; a WebSocket's close reason), and waits up to `timeout` for them to be written out: clients see a
  /// finished answer and reconnect (to another instance) at once.
  void close_all(const std::string& why, std::chrono::milliseconds timeout);
  /// Ends every open stream with `why` (what close_all left).
  void end_all(const std::string& why);

private:
  std::mutex m_;
  std::vector<std::weak_ptr<stream_link>> links_;
};

} // namespace orch::http_detail
