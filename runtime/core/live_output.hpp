// What a running attempt has written so far, and who follows it as it
// comes (GET /tasks/{id}/output?follow=1). The thread that reads the
// process's pipes appends; each follower gets every piece once, in order,
// first what was written before it came. Bounded like the stored output:
// past the limit per stream nothing more is kept or followed (the stored
// output then says how much was dropped).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace orch {

enum class output_stream : uint8_t { out, err };

const char* to_string(output_stream s);  // "stdout", "stderr"

class live_output {
public:
  /// Gets each piece; returns false when it wants no more (its client went
  /// away). Called with the output's lock held, from the reading thread:
  /// it must not block (hand the piece on, e.g. to an actor).
  using follower = std::function<bool(output_stream, std::string_view)>;

  explicit live_output(uint64_t limit_per_stream) : limit_(limit_per_stream) {}

  void append(output_stream s, const char* data, size_t n);

  /// Appends a piece that began `offset` bytes into `s` (output relayed
  /// from a worker node, where a reconnect sends again what was written so
  /// far): only what is beyond what is here is taken. False when the piece
  /// begins past the end (one before it was lost): nothing is taken until
  /// the gap is filled by a piece from an earlier offset.
  bool append_at(output_stream s, uint64_t offset, std::string_view piece);

  /// Adds a follower: what was written so far now, then each new piece, and
  /// `ended` once the output is complete. False, and nothing called, if it
  /// is complete already: the caller reads the stored output instead.
  bool follow(follower fn, std::function<void()> ended);

  /// The pipes are closed: followers are told, and let go.
  void finish();

  /// What was written to `s` so far.
  std::string text(output_stream s);

private:
  void append_locked(output_stream s, const char* data, size_t n);
  std::string& kept(output_stream s) { return s == output_stream::out ? out_ : err_; }

  std::mutex m_;
  uint64_t limit_;
  std::string out_, err_;
  bool finished_ = false;
  std::vector<std::pair<follower, std::function<void()>>> followers_;
};

/// A running attempt's live output as a message (the scheduler's answer to
/// `output`): null when the task does not run here (queued, finished, or
/// on a worker node). Local only: it never crosses to another node.
struct output_tap {
  std::shared_ptr<live_output> live;
};

} // namespace orch
