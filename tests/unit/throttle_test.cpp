// Sign-in throttling (runtime/auth/throttle.hpp), on a clock the test sets.
#include <catch2/catch.hpp>

#include "runtime/auth/throttle.hpp"

using namespace orch;
using namespace orch::auth;

namespace {

const std::vector<std::string> alice_from_a{"user:alice", "addr:10.0.0.1"};
constexpr micros t0 = 1'000'000'000'000;

} // namespace

TEST_CASE("throttle: the first failures are free, then each one doubles the block", "[auth][throttle]") {
  sign_in_throttle th;
  micros now = t0;
  for (int i = 0; i < 3; ++i) {
    th.count_failure(alice_from_a, now);
    CHECK(th.blocked_for(alice_from_a, now) == 0);
  }
  // 4th: 1 s, 5th: 2 s, 6th: 4 s, ... (each counted when the last block ended)
  micros expected = us_per_second;
  for (int i = 0; i < 6; ++i) {
    th.count_failure(alice_from_a, now);
    CHECK(th.blocked_for(alice_from_a, now) == expected);
    CHECK(th.blocked_for(alice_from_a, now + expected) == 0);
    now += expected;
    expected *= 2;
  }
}

TEST_CASE("throttle: the block stops at its ceiling", "[auth][throttle]") {
  sign_in_throttle th{{3, us_per_second, 60 * us_per_second, 900 * us_per_second, 1000}};
  for (int i = 0; i < 40; ++i)
    th.count_failure(alice_from_a, t0);
  CHECK(th.blocked_for(alice_from_a, t0) == 60 * us_per_second);
}

TEST_CASE("throttle: an address is blocked alone, for every user it tries", "[auth][throttle]") {
  sign_in_throttle th;
  // Guesses at many users from one address: no user reaches the limit,
  // the address does.
  for (int i = 0; i < 5; ++i)
    th.count_failure({"user:u" + std::to_string(i), "addr:10.0.0.9"}, t0);
  CHECK(th.blocked_for({"user:u0"}, t0) == 0);
  CHECK(th.blocked_for({"addr:10.0.0.9"}, t0) == 2 * us_per_second);
  CHECK(th.blocked_for({"user:someone-else", "addr:10.0.0.9"}, t0) == 2 * us_per_second);
  // The same user from another address is not blocked.
  CHECK(th.blocked_for({"user:u0", "addr:10.0.0.10"}, t0) == 0);
}

TEST_CASE("throttle: a success forgets the user's failures only, quiet keys start over",
          "[auth][throttle]") {
  sign_in_throttle th;
  for (int i = 0; i < 5; ++i)
    th.count_failure(alice_from_a, t0);
  th.forget("user:alice");
  CHECK(th.blocked_for({"user:alice"}, t0) == 0);
  CHECK(th.blocked_for({"addr:10.0.0.1"}, t0) == 2 * us_per_second);
  // A quarter of an hour later the address starts over: 3 free failures again.
  auto later = t0 + 901 * us_per_second;
  th.count_failure({"addr:10.0.0.1"}, later);
  CHECK(th.blocked_for({"addr:10.0.0.1"}, later) == 0);
}

TEST_CASE("throttle: a spray of names does not grow the table without end", "[auth][throttle]") {
  sign_in_throttle th{{3, us_per_second, 300 * us_per_second, 900 * us_per_second, 100}};
  for (int i = 0; i < 1000; ++i)
    th.count_failure({"user:n" + std::to_string(i)}, t0);
  CHECK(th.keys() <= 101);
}

TEST_CASE("throttle: Retry-After rounds the wait up to whole seconds", "[auth][throttle]") {
  CHECK(retry_after_seconds(0) == 0);
  CHECK(retry_after_seconds(-5) == 0);
  CHECK(retry_after_seconds(1) == 1);
  CHECK(retry_after_seconds(us_per_second) == 1);
  CHECK(retry_after_seconds(us_per_second + 1) == 2);
}
