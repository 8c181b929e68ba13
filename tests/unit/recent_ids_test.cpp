#include <catch2/catch.hpp>

#include "runtime/core/recent_ids.hpp"

using orch::recent_ids;

TEST_CASE("recent ids: each id is new once, and the oldest are forgotten first", "[unit]") {
  recent_ids seen{3};
  CHECK(seen.insert("a"));
  CHECK_FALSE(seen.insert("a"));
  CHECK(seen.insert("b"));
  CHECK(seen.insert("c"));
  CHECK(seen.insert("d"));  // "a" is forgotten
  CHECK(seen.size() == 3);
  CHECK_FALSE(seen.contains("a"));
  CHECK(seen.contains("b"));
  CHECK(seen.insert("a"));  // new again
  CHECK_FALSE(seen.contains("b"));
}

TEST_CASE("recent ids: a smaller capacity keeps only the newest", "[unit]") {
  recent_ids seen{10};
  for (auto id : {"a", "b", "c", "d"})
    seen.insert(id);
  seen.set_capacity(2);
  CHECK(seen.size() == 2);
  CHECK_FALSE(seen.contains("b"));
  CHECK(seen.contains("c"));
  CHECK(seen.contains("d"));
}
