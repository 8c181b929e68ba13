// Times and identifiers.
#include <catch2/catch.hpp>

#include <set>

#include "runtime/core/clock.hpp"
#include "runtime/core/ids.hpp"

using namespace orch;

TEST_CASE("RFC 3339 times round-trip at microsecond precision", "[clock]") {
  micros t = 1'764'122'551'123'456;
  auto text = format_rfc3339(t);
  CHECK(text == "2025-11-26T02:02:31.123456Z");
  micros back = 0;
  REQUIRE(parse_rfc3339(text, back));
  CHECK(back == t);
}

TEST_CASE("RFC 3339 parsing accepts offsets and short fractions - rejects junk", "[clock]") {
  micros t = 0;
  REQUIRE(parse_rfc3339("2026-01-02T03:04:05Z", t));
  CHECK(format_rfc3339(t) == "2026-01-02T03:04:05.000000Z");
  REQUIRE(parse_rfc3339("2026-01-02T05:04:05.5+02:00", t));
  CHECK(format_rfc3339(t) == "2026-01-02T03:04:05.500000Z");
  CHECK_FALSE(parse_rfc3339("2026-01-02", t));
  CHECK_FALSE(parse_rfc3339("2026-13-02T03:04:05Z", t));
  CHECK_FALSE(parse_rfc3339("2026-01-02T03:04:05", t));
  CHECK_FALSE(parse_rfc3339("yesterday", t));
}

TEST_CASE("task ids are canonical UUIDs - path tricks are not", "[ids]") {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto id = new_uuid_v4();
    REQUIRE(is_uuid(id));
    REQUIRE(id[14] == '4');
    REQUIRE(seen.insert(id).second);
  }
  CHECK_FALSE(is_uuid("../../etc/passwd"));
  CHECK_FALSE(is_uuid("6F1C2C5E-0D4F-4B8A-9A3E-2B1C0D9E8F7A"));
  CHECK_FALSE(is_uuid("6f1c2c5e-0d4f-4b8a-9a3e-2b1c0d9e8f7a/.."));
  CHECK_FALSE(is_valid_username("../root"));
  CHECK_FALSE(is_valid_username(".hidden"));
  CHECK(is_valid_username("orchestrator-service"));
}

TEST_CASE("time-ordered ids sort in creation order - even within one millisecond", "[ids]") {
  std::string prev;
  auto t = now_us();
  for (int i = 0; i < 5000; ++i) {
    auto id = new_uuid_v7(t);
    REQUIRE(is_uuid(id));
    REQUIRE(id > prev);
    prev = id;
  }
}
