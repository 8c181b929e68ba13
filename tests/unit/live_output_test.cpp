// live_output: what a running attempt wrote, in order, to each follower;
// append_at takes pieces relayed from a worker node, sent again after a
// reconnect, without doubling or skipping any.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "runtime/core/live_output.hpp"

using namespace orch;

namespace {

struct recorder {
  std::string out, err;
  int ended = 0;
  bool follow(live_output& live) {
    return live.follow(
      [this](output_stream s, std::string_view piece) {
        (s == output_stream::out ? out : err).append(piece);
        return true;
      },
      [this] { ++ended; });
  }
};

} // namespace

TEST_CASE("live output: a follower gets what was written before it came, then each piece",
          "[live_output]") {
  live_output live{1024};
  live.append(output_stream::out, "ab", 2);
  recorder r;
  REQUIRE(r.follow(live));
  live.append(output_stream::err, "e", 1);
  live.append(output_stream::out, "c", 1);
  live.finish();
  CHECK(r.out == "abc");
  CHECK(r.err == "e");
  CHECK(r.ended == 1);
  recorder late;
  CHECK_FALSE(late.follow(live));  // complete: read the stored output instead
}

TEST_CASE("live output: relayed pieces sent again from the start add only what is new, and a "
          "piece past a gap waits for the gap to be filled", "[live_output]") {
  live_output live{1024};
  recorder r;
  REQUIRE(r.follow(live));
  CHECK(live.append_at(output_stream::out, 0, "one\n"));
  CHECK(live.append_at(output_stream::out, 4, "two\n"));
  // "three\n" (offset 8) was lost while cut off; "four\n" comes first.
  CHECK_FALSE(live.append_at(output_stream::out, 14, "four\n"));
  CHECK(r.out == "one\ntwo\n");
  // After the reconnect: everything so far, from offset 0.
  CHECK(live.append_at(output_stream::out, 0, "one\ntwo\nthree\nfour\n"));
  CHECK(live.append_at(output_stream::out, 14, "four\n"));  // a copy still on its way
  CHECK(r.out == "one\ntwo\nthree\nfour\n");
  CHECK(live.text(output_stream::out) == "one\ntwo\nthree\nfour\n");
  CHECK(live.text(output_stream::err).empty());
}

TEST_CASE("live output: nothing past the limit per stream is kept or followed", "[live_output]") {
  live_output live{5};
  recorder r;
  REQUIRE(r.follow(live));
  live.append(output_stream::out, "0123456789", 10);
  CHECK(live.append_at(output_stream::err, 0, "abcdefgh"));
  CHECK(r.out == "01234");
  CHECK(r.err == "abcde");
  CHECK(live.text(output_stream::out) == "01234");
}
