// JSON codec: lossless round trips for every record kind, and the messages
// of the strict submission decoder.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/core/query_match.hpp"
#include "runtime/core/schema.hpp"
#include "runtime/core/submission.hpp"

using namespace orch;

namespace {

task sample_task() {
  task t;
  t.id = new_uuid_v4();
  t.name = "build \"release\"";
  t.command = "make";
  t.args = {"-j", "2", "ünïcödé"};
  t.env = {{"CC", "gcc"}, {"EMPTY", ""}};
  t.workdir = "/tmp";
  t.priority = -7;
  t.dependencies = {new_uuid_v4()};
  t.status = task_status::failed;
  t.created_at = 1'700'000'000'123'456;
  t.started_at = 1'700'000'001'000'000;
  t.completed_at = 1'700'000'002'000'001;
  t.not_before = 1'700'000'003'000'000;
  t.attempts = 3;
  t.max_retries = 2;
  t.timeout_s = 90;
  t.has_exit_code = true;
  t.exit_code = -1;
  t.output = "line1\nline2\t\x01";
  t.error_output = "warning";
  t.error = "exited with code 2";
  t.labels = {{"team", "infra"}};
  t.node_labels = {{"gpu", "yes"}};
  t.node = "w1";
  t.owner = "api:127.0.0.1";
  t.revision = 42;
  return t;
}

std::string submit_error(const std::string& body) {
  auto t = parse_submission(body);
  return t ? "accepted" : t.message();
}

/// Every member of two records, compared through the schema's list.
template <class T>
bool same_members(const T& a, const T& b) {
  return schema::all_members(a) == schema::all_members(b);
}

} // namespace

TEST_CASE("a task survives a JSON round trip unchanged", "[codec]") {
  auto t = sample_task();
  auto text = encode(t);
  task back;
  REQUIRE(decode(text, back));
  CHECK(encode(back) == text);
  CHECK(same_members(back, t));
  CHECK(back.args == t.args);
  CHECK(back.env == t.env);
  CHECK(back.created_at == t.created_at);
  CHECK(back.exit_code == -1);
  CHECK(back.has_exit_code);
  CHECK(back.revision == 42);
  CHECK(back.status == task_status::failed);
}

TEST_CASE("unset times and exit codes are null in JSON", "[codec]") {
  task t;
  t.id = new_uuid_v4();
  auto j = json::parse(encode(t));
  CHECK(j["started_at"].is_null());
  CHECK(j["exit_code"].is_null());
  CHECK(j["status"] == "Pending");
  task back;
  REQUIRE(decode(j.dump(), back));
  CHECK_FALSE(back.has_exit_code);
  CHECK(back.started_at == 0);
}

TEST_CASE("every record kind survives a JSON round trip", "[codec]") {
  queue_entry q{new_uuid_v4(), 5, 1'700'000'000'000'001, 1'700'000'000'500'000, 2, "node-a",
                1'700'000'030'000'000, {{"gpu", "yes"}}};
  queue_entry q2;
  REQUIRE(decode(to_record(q).json, q2));
  CHECK(same_members(q2, q));

  task_event e{new_uuid_v7(now_us()), now_us(), new_uuid_v4(), "started", "Running", 1, "x", "w1"};
  task_event e2;
  REQUIRE(decode(to_record(e).json, e2));
  CHECK(same_members(e2, e));

  audit_record a{new_uuid_v7(now_us()), now_us(), "api:1.2.3.4", "task.submit",
                 "task:abc", "ok", "details"};
  audit_record a2;
  REQUIRE(decode(to_record(a).json, a2));
  CHECK(same_members(a2, a));

  metric_sample m{new_uuid_v7(now_us()), now_us(), "orchestrator_x_total",
                  {{"status", "Failed"}}, 0.1};
  metric_sample m2;
  REQUIRE(decode(to_record(m).json, m2));
  CHECK(same_members(m2, m));

  user u{"alice", "$argon2id$v=19$abc", {"admin", "viewer"}, now_us(), true, {}, 0, 0};
  user u2;
  REQUIRE(decode(to_record(u).json, u2));
  CHECK(same_members(u2, u));
  CHECK(to_record(u).key == "alice");

  schedule s;
  s.name = "nightly.backup";
  s.cron = "0 2 * * *";
  s.timezone = "Europe/Berlin";
  s.task = R"({"args":["a b","{\"x\":[1,2]}"],"command":"sh","env":{"K":"v"}})";
  s.overlap = "skip";
  s.catch_up = "once";
  s.next_firing = now_us();
  s.firings = 3;
  schedule s2;
  auto text = to_record(s).json;
  REQUIRE(decode(text, s2));
  CHECK(same_members(s2, s));
  CHECK(to_record(s).key == "nightly.backup");
  // The nested task is JSON in the record, not a string holding JSON.
  auto j = json::parse(text);
  CHECK(j["task"]["env"]["K"] == "v");
  CHECK(j["task"]["args"][1] == R"({"x":[1,2]})");
  CHECK(encode(s2) == text);
}

TEST_CASE("a nested JSON field is an object or an array, and must be valid JSON", "[codec]") {
  auto refusal = [](const std::string& text) {
    schedule x;
    auto st = decode(text, x);
    return st ? std::string{"accepted"} : st.message();
  };
  CHECK(refusal(R"({"name":"a","task":"echo"})")
        == "field 'task' must be an object or an array, got string");
  CHECK(refusal(R"({"name":"a","task":{"x":[1,}})").find("not valid JSON") == 0);
  CHECK(refusal(R"({"name":"a","task":[1,{"y":null}]})") == "accepted");
  CHECK(refusal(R"({"name":"a/b","task":{}})").find("field 'name' must be 1-64") == 0);
  schedule unset;
  unset.name = "a";
  CHECK(json::parse(encode(unset))["task"].is_null());
}

TEST_CASE("stored records with wrong types are reported with the field name", "[codec]") {
  auto error_of = [](const std::string& text) { return decode<task>(text).message(); };
  CHECK(error_of("{not json").find("not valid JSON: ") == 0);
  CHECK(error_of(R"({"id":"6f1c2c5e-0d4f-4b8a-9a3e-2b1c0d9e8f7a","attempts":"three"})")
        == "field 'attempts' must be an integer, got string");
  CHECK(error_of(R"({"id":"x"})").find("field 'id' must be a UUID") == 0);
  CHECK(error_of(R"([1,2])") == "a task must be a JSON object, got array");
  CHECK(error_of(R"({"id":"6f1c2c5e-0d4f-4b8a-9a3e-2b1c0d9e8f7a","status":"Done"})")
        == "field 'status' must be one of Pending, Queued, Running, Completed, Failed, Cancelled");
  CHECK(error_of(R"({"id":"6f1c2c5e-0d4f-4b8a-9a3e-2b1c0d9e8f7a","attempts":-1})")
        == "field 'attempts' must be between 0 and 4294967295");
  CHECK(decode<user>(R"({"username":"../x"})").message().find("field 'username' must be 1-64") == 0);
  CHECK(decode<metric_sample>(R"({"id":"6f1c2c5e-0d4f-4b8a-9a3e-2b1c0d9e8f7a","value":1e999})")
          .message()
          .find("field 'value' is a number out of range") == 0);
  // Unknown fields are allowed (records of newer versions); null means unset.
  CHECK(decode<task>(R"({"id":"6f1c2c5e-0d4f-4b8a-9a3e-2b1c0d9e8f7a","colour":[1,{"a":2}],)"
                     R"("attempts":null})")
          .ok());
}

TEST_CASE("a minimal submission is accepted with defaults", "[codec][validation]") {
  auto parsed = parse_submission(R"({"command":"echo","args":["hi"]})");
  REQUIRE(parsed);
  auto& t = *parsed;
  CHECK(t.command == "echo");
  CHECK(t.priority == 0);
  CHECK(t.max_retries == 0);
  CHECK(t.id.empty());
}

TEST_CASE("submission validation says what is wrong", "[codec][validation]") {
  CHECK(submit_error("").find("the request body is empty") == 0);
  CHECK(submit_error(R"({"command":"x",})").find("the request body is not valid JSON: ") == 0);
  CHECK(submit_error(R"({"command":"x","priority":1e999})")
        == "field 'priority' must be an integer, got a fractional number");
  CHECK(submit_error(R"({})").find("missing 'command'") == 0);
  CHECK(submit_error(R"({"args":["x"]})").find("missing 'command'") == 0);
  CHECK(submit_error(R"({"command":""})").find("missing 'command'") == 0);
  CHECK(submit_error(R"([])") == "the request body must be a JSON object, got array");
  CHECK(submit_error(R"({"command":"x","priority":"high"})")
        == "field 'priority' must be an integer, got string");
  CHECK(submit_error(R"({"command":"x","priority":1.5})")
        == "field 'priority' must be an integer, got a fractional number");
  CHECK(submit_error(R"({"command":"x","priority":99999999999})")
        == "field 'priority' must be between -2147483648 and 2147483647");
  CHECK(submit_error(R"({"command":42})") == "field 'command' must be a string, got integer");
  CHECK(submit_error(R"({"command":"x","args":"a b"})")
        == "field 'args' must be an array of strings, got string");
  CHECK(submit_error(R"({"command":"x","args":["a",1]})")
        == "field 'args' must be an array of strings, but element 1 is integer");
  CHECK(submit_error(R"({"command":"x","env":{"A":1}})")
        == "field 'env' must map names to strings, but 'A' is integer");
  CHECK(submit_error(R"({"command":"x","env":{"A=B":"1"}})").find("invalid variable name") != std::string::npos);
  CHECK(submit_error(R"({"command":"x","max_retries":-1})")
        == "field 'max_retries' must be between 0 and 100");
  CHECK(submit_error(R"({"command":"x","max_retries":101})")
        == "field 'max_retries' must be between 0 and 100");
  CHECK(submit_error(R"({"command":"x","timeout_s":99999999999999999999})")
        == "field 'timeout_s' must be an integer, got a fractional number");
  CHECK(submit_error(R"({"command":"x","timeout_s":2.5})")
        == "field 'timeout_s' must be an integer, got a fractional number");
  CHECK(submit_error(R"({"command":"x","colour":"red"})").find("unknown field 'colour'") == 0);
  CHECK(submit_error(R"({"command":"x","status":"Completed"})")
        == "field 'status' is set by the orchestrator and cannot be submitted");
  CHECK(submit_error(R"({"command":"x","id":"../../etc/passwd"})")
          .find("field 'id' must be a lower-case UUID") == 0);
  CHECK(submit_error(R"({"command":"x","dependencies":["nope"]})")
        == "field 'dependencies' must hold task ids (UUIDs), got 'nope'");
  CHECK(submit_error(R"({"command":"x","script":"ls"})") == "give only one of 'command', 'script' and 'script_file'");
  CHECK(submit_error(R"({"script":"ls","args":["a"]})").find("'args' cannot be combined") == 0);
  CHECK(submit_error(R"({"script":"ls | length"})") == "accepted");
  CHECK(submit_error(R"({"script_file":"/tmp/x.nu","args":["a"]})") == "accepted");
}

TEST_CASE("query matching treats arrays as contains and status case-insensitively", "[codec]") {
  auto t = sample_task();
  auto j = encode(t);
  record_query q;
  q.kind = record_kind::task;
  q.field = "dependencies";
  q.value = t.dependencies[0];
  CHECK(matches(q, j));
  q.value = new_uuid_v4();
  CHECK_FALSE(matches(q, j));
  q.field = "status";
  q.value = "failed";
  CHECK(matches(q, j));
  q.value = "Running";
  CHECK_FALSE(matches(q, j));
  q.field.clear();
  q.since = t.created_at + 1;
  CHECK_FALSE(matches(q, j));
  q.since = t.created_at;
  CHECK(matches(q, j));
}

TEST_CASE("record encoders write exactly nlohmann's canonical text", "[codec]") {
  // Canonical text is what nlohmann's dump() writes for the parsed value: a
  // fixed point of parse + dump, and invalid UTF-8 replaced the same way.
  auto is_canonical = [](const std::string& text) { return canonical(json::parse(text)) == text; };
  auto t = sample_task();
  t.output = std::string{"tab\t quote\" backslash\\ nul"} + '\0' + " del\x7f ünïcödé \xf0\x9f\x98\x80";
  t.error_output = "invalid utf-8: \xff\xfe end";  // replaced by U+FFFD either way
  t.env["K\n"] = "v\x01";
  CHECK(is_canonical(encode(t)));
  CHECK(encode(t).find(canonical(json(t.error_output))) != std::string::npos);
  CHECK(encode(t).find(canonical(json(t.output))) != std::string::npos);
  task empty;
  empty.id = new_uuid_v4();
  CHECK(is_canonical(encode(empty)));
  queue_entry q{new_uuid_v4(), -3, 1, 0, 2, "w\"x", 99, {}};
  CHECK(is_canonical(encode(q)));
  task_event e{new_uuid_v7(now_us()), now_us(), new_uuid_v4(), "started", "Running", 1, "d\n", ""};
  CHECK(is_canonical(encode(e)));
  audit_record a{new_uuid_v7(now_us()), 0, "p", "a", "t", "ok", ""};
  CHECK(is_canonical(encode(a)));
  for (double v : {0.0, 0.1, 1.5, -2.25e-7, 1e300, 42.0, 123456789.125}) {
    metric_sample m{new_uuid_v7(now_us()), now_us(), "n", {{"a", "b"}}, v};
    CHECK(is_canonical(encode(m)));
    metric_sample back;
    REQUIRE(decode(encode(m), back));
    CHECK(back.value == v);
  }
  user u{"bob", "h", {}, 0, false, {}, 0, 0};
  CHECK(is_canonical(encode(u)));
}

TEST_CASE("the schema lists every field once and in key order as the encoder writes them",
          "[codec][schema]") {
  auto keys_of = [](const std::string& text) {
    std::vector<std::string> keys;
    auto j = json::parse(text);
    for (auto& [k, v] : j.items())
      keys.push_back(k);
    return keys;
  };
  std::vector<std::string> listed;
  schema::for_each_field<task>([&](const auto& d) { listed.emplace_back(d.name); });
  CHECK(keys_of(encode(sample_task())) == listed);
  CHECK(listed.size() == 30);
}
