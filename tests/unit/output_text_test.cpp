#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "runtime/core/output_text.hpp"

using namespace orch;

TEST_CASE("output text: a piece is cut before a UTF-8 character it does not hold whole",
          "[unit][output]") {
  CHECK(utf8_whole_prefix("") == 0);
  CHECK(utf8_whole_prefix("abc") == 3);
  CHECK(utf8_whole_prefix("caf\xc3") == 3);             // é's lead byte alone
  CHECK(utf8_whole_prefix("caf\xc3\xa9") == 5);         // é whole
  CHECK(utf8_whole_prefix("\xe2\x82") == 0);            // € without its last byte
  CHECK(utf8_whole_prefix("x\xf0\x9f\x98") == 1);       // 😀 short of one byte
  CHECK(utf8_whole_prefix("x\xf0\x9f\x98\x80") == 5);
  CHECK(utf8_whole_prefix("\xff") == 1);                // not UTF-8: nothing is held back
}

TEST_CASE("output text: Range headers over the stored text", "[unit][output]") {
  auto range = [](const std::string& h, uint64_t size) {
    auto r = parse_byte_range(h, size);
    REQUIRE(r);
    REQUIRE(*r);
    return std::make_pair((*r)->first, (*r)->last);
  };
  CHECK_FALSE(*parse_byte_range("", 10));
  CHECK(range("bytes=0-4", 10) == std::make_pair(uint64_t{0}, uint64_t{4}));
  CHECK(range("bytes=3-", 10) == std::make_pair(uint64_t{3}, uint64_t{9}));
  CHECK(range("bytes=5-100", 10) == std::make_pair(uint64_t{5}, uint64_t{9}));
  CHECK(range("bytes=-4", 10) == std::make_pair(uint64_t{6}, uint64_t{9}));
  CHECK(range("bytes=-40", 10) == std::make_pair(uint64_t{0}, uint64_t{9}));
  auto refused = [](const std::string& h, uint64_t size, const std::string& says) {
    auto r = parse_byte_range(h, size);
    REQUIRE_FALSE(r);
    INFO(r.message());
    CHECK(r.message().find(says) != std::string::npos);
  };
  refused("lines=0-4", 10, "only bytes ranges");
  refused("bytes=0-1,4-5", 10, "one range at a time");
  refused("bytes=10-", 10, "past the end (10 bytes)");
  refused("bytes=5-2", 10, "LAST is before FIRST");
  refused("bytes=a-b", 10, "must be numbers");
  refused("bytes=-0", 10, "positive");
  refused("bytes=0-", 0, "past the end");
}

TEST_CASE("output text: a follower's messages are JSON objects named by their type",
          "[unit][output]") {
  auto piece = nlohmann::json::parse(output_piece_message(output_stream::err, "a\nb \"c\""));
  CHECK(piece == nlohmann::json{{"type", "output"}, {"stream", "stderr"}, {"text", "a\nb \"c\""}});
  auto attempt = nlohmann::json::parse(attempt_message(2, "w1", true));
  CHECK(attempt == nlohmann::json{{"type", "attempt"}, {"attempt", 2}, {"node", "w1"}, {"live", true}});
  task t;
  t.status = task_status::failed;
  t.attempts = 2;
  auto end = nlohmann::json::parse(end_message(t));
  CHECK(end["exit_code"].is_null());  // it never exited (e.g. a start failure)
  CHECK(end["status"] == "Failed");
  CHECK(sse_message("end", "{}") == "event: end\ndata: {}\n\n");
}
