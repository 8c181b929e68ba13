// Canonical JSON straight from text: whenever it answers, the answer is what
// nlohmann's parse + dump() writes; it declines what it cannot prove.
#include <catch2/catch.hpp>

#include <random>

#include <nlohmann/json.hpp>

#include "runtime/core/canonical_text.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"

using namespace orch;
using json = nlohmann::json;

namespace {

std::string via_parse(const std::string& text) {
  return json::parse(text).dump();
}

/// A random value of the kinds records hold: objects, arrays, strings with
/// every kind of character (control, quote, backslash, UTF-8), integers.
json random_value(std::mt19937& rng, int depth) {
  auto pick = std::uniform_int_distribution<int>(0, depth > 2 ? 4 : 6)(rng);
  auto random_string = [&] {
    static const char* const pieces[] = {"a", "Z", " ",  "\"", "\\", "/", "\n",
                                         "\t", "\r", "\b", "\f", "\x01", "\x1f", "\x7f",
                                         "é", "日本", "😀", "{",  "]",  ":", ","};
    std::string s;
    for (int n = std::uniform_int_distribution<int>(0, 8)(rng); n > 0; --n)
      s += pieces[std::uniform_int_distribution<size_t>(0, std::size(pieces) - 1)(rng)];
    return s;
  };
  switch (pick) {
    case 0: return random_string();
    case 1: return std::uniform_int_distribution<int64_t>(INT64_MIN + 1, INT64_MAX)(rng);
    case 2: return std::uniform_int_distribution<uint64_t>()(rng);
    case 3: return pick % 2 == 0;
    case 4: return nullptr;
    case 5: {
      json a = json::array();
      for (int n = std::uniform_int_distribution<int>(0, 4)(rng); n > 0; --n)
        a.push_back(random_value(rng, depth + 1));
      return a;
    }
    default: {
      json o = json::object();
      for (int n = std::uniform_int_distribution<int>(0, 5)(rng); n > 0; --n)
        o[random_string()] = random_value(rng, depth + 1);
      return o;
    }
  }
}

} // namespace

TEST_CASE("canonical text: pretty-printed canonical JSON comes out as dump() writes it",
          "[canonical]") {
  std::mt19937 rng{20261126};
  int answered = 0;
  for (int i = 0; i < 2000; ++i) {
    auto value = random_value(rng, 0);
    for (int indent : {-1, 2, 4}) {
      auto text = value.dump(indent);
      std::string out;
      bool ok = canonical_from_text(text, out);
      INFO(text);
      if (ok) {
        ++answered;
        CHECK(out == value.dump());
      }
    }
  }
  CHECK(answered > 3000);  // most of them take the fast way
}

TEST_CASE("canonical text: canonical JSON pretty-printed without a parse is what dump(2) writes",
          "[canonical]") {
  std::mt19937 rng{20261207};
  for (int i = 0; i < 2000; ++i) {
    auto value = random_value(rng, 0);
    auto canonical_json = value.dump();
    INFO(canonical_json);
    std::string out;
    REQUIRE(pretty_from_canonical(canonical_json, out));
    CHECK(out == value.dump(2) + "\n");
    if (value.dump(1) != canonical_json)
      CHECK_FALSE(pretty_from_canonical(value.dump(1), out));
  }
  task t;
  t.id = new_uuid_v4();
  t.command = "sh";
  t.args = {"-c", "echo \"{[hi]}\"\\n"};
  t.env = {{"B", "2"}, {"A", "1"}};
  t.output = "line 1\nline, 2: \t\x01 é 😀\\\n";
  auto canonical_json = encode(t);
  std::string out;
  REQUIRE(pretty_from_canonical(canonical_json, out));
  CHECK(out == json::parse(canonical_json).dump(2) + "\n");
}

TEST_CASE("canonical text: a task file takes the fast way", "[canonical]") {
  task t;
  t.id = new_uuid_v4();
  t.command = "sh";
  t.args = {"-c", "echo \"hi\"\\n"};
  t.env = {{"B", "2"}, {"A", "1"}};
  t.labels = {{"team", "ops"}};
  t.output = "line 1\nline 2\t\x01 é 😀\n";
  auto canonical_json = encode(t);
  auto pretty = json::parse(canonical_json).dump(2);
  std::string out;
  REQUIRE(canonical_from_text(pretty, out));
  CHECK(out == canonical_json);
}

TEST_CASE("canonical text: what it cannot prove canonical is left to a full parse",
          "[canonical]") {
  for (std::string text : {
         R"({"b":1,"a":2})",           // keys out of order
         R"({"a":1,"a":2})",           // a duplicate key
         R"({"\u0061":1})",            // an escaped key
         R"({"a":"\/"})",              // an escape dump() does not write
         R"({"a":"\u00e9"})",          // written as UTF-8 by dump()
         R"({"a":"\u001F"})",          // upper-case hex
         R"({"a":"\u000a"})",          // written as \n by dump()
         R"({"a":1.5})",               // floating point
         R"({"a":1e3})",
         R"({"a":-0})",                // reads as 0
         R"({"a":-9223372036854775809})",
         R"({"a":1)",                  // not JSON at all
         R"({"a":1} x)",
       }) {
    INFO(text);
    std::string out;
    CHECK_FALSE(canonical_from_text(text, out));
  }
  std::string out;
  REQUIRE(canonical_from_text(R"({ "a" : [ 1 , -2 , "x\"\\\n\u001f" ] , "b" : { } , "c" : null })",
                              out));
  CHECK(out == via_parse(R"({"a":[1,-2,"x\"\\\n\u001f"],"b":{},"c":null})"));
}
