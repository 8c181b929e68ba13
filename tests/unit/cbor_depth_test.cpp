// The depth check in front of nlohmann's recursive CBOR reader.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "backends/surrealdb/cbor_depth.hpp"
#include "backends/surrealdb/surreal_frame.hpp"

using namespace orch::surreal;

namespace {

std::vector<uint8_t> nested_arrays(size_t levels) {
  std::vector<uint8_t> d(levels, 0x81);  // array of one item, again and again
  d.push_back(0x00);
  return d;
}

} // namespace

TEST_CASE("cbor depth: nesting is measured without recursion", "[cbor]") {
  CHECK(cbor_depth_within(nested_arrays(10), 10));
  CHECK_FALSE(cbor_depth_within(nested_arrays(11), 10));
  CHECK(cbor_depth_within(nlohmann::json::to_cbor(nlohmann::json{{"a", {1, 2, {{"b", "c"}}}}}), 3));
  CHECK_FALSE(cbor_depth_within({0x82, 0x01}, 10));                    // cut short
  CHECK(cbor_depth_within({0x9f, 0x01, 0x9f, 0xff, 0xff}, 2));          // indefinite arrays
  CHECK(cbor_depth_within({0xc1, 0x1a, 0x5f, 0x00, 0x00, 0x00}, 1));    // a tagged date
  CHECK(cbor_depth_within({0x7f, 0x61, 0x61, 0x61, 0x62, 0xff}, 1));    // chunked text
}

TEST_CASE("cbor depth: a frame nested a million levels deep is refused, not a stack overflow",
          "[cbor]") {
  auto f = decode_frame(nested_arrays(1000000));
  CHECK(f.what == server_frame::kind::unreadable);
  CHECK(f.problem.find("nests deeper than") != std::string::npos);
}

TEST_CASE("cbor depth: every frame the SurrealDB test server sent reads as a reply", "[cbor]") {
  int frames = 0;
  for (auto& e : std::filesystem::directory_iterator(ORCH_SOURCE_DIR "/tests/fuzz/corpus/surreal_rpc")) {
    if (e.path().filename().string().rfind("frame-", 0) != 0)
      continue;
    std::ifstream in{e.path(), std::ios::binary};
    std::vector<uint8_t> d{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
    INFO(e.path());
    CHECK(cbor_depth_within(d, 256));
    CHECK(decode_frame(d).what != server_frame::kind::unreadable);
    ++frames;
  }
  CHECK(frames > 20);
}
