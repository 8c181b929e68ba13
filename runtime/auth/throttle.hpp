// Throttling of failed sign-ins, per user and per address: the first few
// failures of a key are free (typos), each one after that doubles how long
// the key is blocked (1 s, 2 s, 4 s, ... up to a ceiling), and a key quiet
// for long enough is forgotten. Pure: the caller passes the time, so tests
// need no clock.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "runtime/core/clock.hpp"

namespace orch::auth {

struct throttle_policy {
  uint32_t free_failures = 3;                // failures before the first block
  micros first_block = us_per_second;        // the first block; doubled by each failure after it
  micros max_block = 300 * us_per_second;    // the ceiling
  micros forget_after = 900 * us_per_second; // a key quiet this long starts over
  size_t max_keys = 100000;                  // a spray of names must not grow the table without end
};

class sign_in_throttle {
public:
  explicit sign_in_throttle(throttle_policy p = {}) : policy_(p) {}

  /// Microseconds until a sign-in that concerns all of `keys` (for example
  /// "user:alice" and "addr:10.0.0.7") may be tried; 0: now. The longest
  /// block of any key counts.
  micros blocked_for(const std::vector<std::string>& keys, micros now) const;

  /// A failed sign-in concerning `keys`.
  void count_failure(const std::vector<std::string>& keys, micros now);

  /// A successful sign-in: the key (its user's) starts over.
  void forget(const std::string& key) { failures_.erase(key); }

  size_t keys() const { return failures_.size(); }

private:
  struct failures {
    uint32_t count = 0;
    micros last = 0;
    micros blocked_until = 0;
  };
  throttle_policy policy_;
  std::map<std::string, failures> failures_;
};

/// Whole seconds to announce in Retry-After for a block of `wait`
/// microseconds (rounded up: a client that waits that long gets in).
int64_t retry_after_seconds(micros wait);

} // namespace orch::auth
