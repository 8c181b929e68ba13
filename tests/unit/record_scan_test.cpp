// The storage write path's JSON checks: the tokenizer accepts exactly what a
// full JSON parser accepts, and record scanning applies the codec's rules.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "runtime/core/json_tokens.hpp"
#include "runtime/core/record_scan.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"

using namespace orch;

namespace {

bool tokenizer_accepts(const std::string& text) {
  json_tokens in{text};
  for (;;) {
    auto t = in.next();
    if (t == json_tokens::tok::end)
      return true;
    if (t == json_tokens::tok::error)
      return false;
  }
}

} // namespace

TEST_CASE("the tokenizer accepts exactly the JSON nlohmann accepts", "[scan]") {
  std::vector<std::string> inputs{
    "{}", "[]", "1", "-0", "0.5e-3", "\"x\"", "true", "null", " {\"a\" : [1, 2.5, \"s\", {}]} ",
    "{\"a\":1,}", "[1,]", "{\"a\"}", "{\"a\":}", "[1 2]", "01", "1.", ".5", "-", "1e", "+1",
    "\"\\u00e9\\ud83d\\ude00\"", "\"\\ud83d\"", "\"\\ude00\"", "\"\\x\"", "\"tab\tin\"",
    "\"\xc3\xa9\"", "\"\xff\"", "\"\xe0\x80\x80\"", "\"\xed\xa0\x80\"", "{\"a\":1}}", "[[[]]]",
    "", "   ", "nul", "tru", "{\"k\":\"v\"} x", "18446744073709551616", "-9223372036854775809",
    "[\"a\",\"b\\\"c\",\"\\\\\"]", "{\"\\u0041\":1}", "\"unterminated", "{\"a\":[1,{\"b\":[]}]}"};
  for (auto& in : inputs) {
    INFO(in);
    CHECK(tokenizer_accepts(in) == nlohmann::json::accept(in));
  }
}

TEST_CASE("unescaped strings equal what a JSON parser reads", "[scan]") {
  std::string text = R"("a\"b\\c\/d\b\f\n\r\t\u0001\u00e9\ud83d\ude00 end")";
  json_tokens in{text};
  REQUIRE(in.next() == json_tokens::tok::string);
  CHECK(in.text() == nlohmann::json::parse(text).get<std::string>());
}

TEST_CASE("record scanning extracts indexed fields and applies the codec's rules", "[scan]") {
  task t;
  t.id = new_uuid_v4();
  t.status = task_status::running;
  t.created_at = 1'700'000'000'000'000;
  t.revision = 9;
  t.dependencies = {new_uuid_v4(), new_uuid_v4()};
  record_summary s;
  REQUIRE(scan_record(record_kind::task, to_record(t).json, s));
  CHECK(s.key == t.id);
  CHECK(s.status == task_status::running);
  CHECK(s.created_at == t.created_at);
  CHECK(s.time == t.created_at);
  CHECK(s.revision == 9);
  CHECK(s.dependencies == t.dependencies);

  queue_entry q{new_uuid_v4(), -4, 10, 20, 3, "me", 30, {}};
  REQUIRE(scan_record(record_kind::queue, to_record(q).json, s));
  CHECK(s.entry.task_id == q.task_id);
  CHECK(s.entry.priority == -4);
  CHECK(s.entry.enqueued_at == 10);
  CHECK(s.entry.not_before == 20);
  CHECK(s.entry.attempt == 3);
  CHECK(s.entry.claimed_by == "me");
  CHECK(s.time == 30);

  // Every stored record the codec rejects, the scan rejects too.
  std::vector<std::string> bad{
    R"({"id":"x"})",
    R"({"id":"6f1c2c5e-0d4f-4b8a-9a3e-2b1c0d9e8f7a","attempts":"three"})",
    R"({"id":"6f1c2c5e-0d4f-4b8a-9a3e-2b1c0d9e8f7a","args":["a",1]})",
    R"({"id":"6f1c2c5e-0d4f-4b8a-9a3e-2b1c0d9e8f7a","env":{"a":1}})",
    R"({"id":"6f1c2c5e-0d4f-4b8a-9a3e-2b1c0d9e8f7a","status":"Sleeping"})",
    R"({"id":"6f1c2c5e-0d4f-4b8a-9a3e-2b1c0d9e8f7a","created_at":"yesterday"})",
    R"({"id":"6f1c2c5e-0d4f-4b8a-9a3e-2b1c0d9e8f7a","priority":1.5})",
    R"({"id":"6f1c2c5e-0d4f-4b8a-9a3e-2b1c0d9e8f7a","priority":3000000000})",
    R"([1])", R"({"id":)", ""};
  for (auto& text : bad) {
    INFO(text);
    auto decoded = decode<task>(text);
    auto scanned = scan_record(record_kind::task, text, s);
    CHECK_FALSE(decoded);
    CHECK_FALSE(scanned);
    CHECK(scanned.message() == decoded.message());
  }
  // Unknown fields and nulls are fine, as in the codec.
  CHECK(scan_record(record_kind::task,
                    R"({"id":"6f1c2c5e-0d4f-4b8a-9a3e-2b1c0d9e8f7a","future":{"x":[1,{"y":null}]},"exit_code":null})",
                    s));
}

TEST_CASE("a single field is read without parsing the whole record", "[scan]") {
  std::string v;
  REQUIRE(scan_field(R"({"a":{"claimed_by":"no"},"claimed_by":"me","revision":12,"ok":true})",
                     "claimed_by", v));
  CHECK(v == "me");
  REQUIRE(scan_field(R"({"revision":12})", "revision", v));
  CHECK(v == "12");
  REQUIRE(scan_field(R"({"x":1})", "revision", v));
  CHECK(v == "");
  CHECK_FALSE(scan_field("[1]", "x", v));
}
