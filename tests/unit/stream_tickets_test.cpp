#include <catch2/catch.hpp>

#include <set>

#include "runtime/auth/stream_tickets.hpp"

using namespace orch;
using namespace orch::auth;

TEST_CASE("stream tickets: good once, within their lifetime, for whom they were issued",
          "[unit][auth]") {
  stream_tickets<std::string> book;
  micros now = 1'000'000;
  auto t = book.issue("alice", now, 60 * us_per_second);
  REQUIRE(t);
  CHECK(t->size() == 64);                    // 256 random bits
  CHECK(book.redeem(*t, now + 1) == std::optional<std::string>{"alice"});
  CHECK_FALSE(book.redeem(*t, now + 2));     // spent
  CHECK_FALSE(book.redeem("not-a-ticket", now));
  auto late = book.issue("bob", now, 60 * us_per_second);
  CHECK_FALSE(book.redeem(*late, now + 60 * us_per_second));  // expired
  CHECK(book.outstanding() == 0);            // an expired one is gone once tried
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i)
    seen.insert(*book.issue("x", now, us_per_second));
  CHECK(seen.size() == 100);
}

TEST_CASE("stream tickets: the unspent are bounded, expired ones make room", "[unit][auth]") {
  stream_tickets<int> book{3};
  micros now = 0;
  for (int i = 0; i < 3; ++i)
    REQUIRE(book.issue(i, now, 10));
  CHECK_FALSE(book.issue(4, now + 5, 10));   // three unspent, unexpired
  CHECK(book.issue(4, now + 10, 10));        // the first three expired: room again
  CHECK(book.outstanding() == 1);
}
