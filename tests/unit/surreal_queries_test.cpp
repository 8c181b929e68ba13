// The SurrealQL the server backend sends, checked without a server: values
// are bound variables, never spliced into the text; names are checked;
// preconditions throw a marker the outcome reader finds again.
#include <catch2/catch.hpp>

#include "backends/surrealdb/surreal_outcome.hpp"
#include "backends/surrealdb/surreal_queries.hpp"
#include "backends/surrealdb/surreal_search.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"

using namespace orch;
using namespace orch::surreal;

TEST_CASE("surrealql: a write batch is one transaction with its preconditions inside",
          "[surrealql]") {
  task t;
  t.id = new_uuid_v4();
  t.command = "echo'; DROP TABLE tasks; --";
  t.dependencies = {new_uuid_v4()};
  write_batch b;
  b.ops.push_back({record_op::put, to_record(t)});
  b.expect.push_back({precondition::absent, record_kind::task, t.id, {}, {}});
  b.expect.push_back({precondition::field_in, record_kind::queue, t.id, "claimed_by", {"me"}});
  auto st = batch_statement(b);
  REQUIRE(st);
  auto& text = st->text;
  CHECK(text.rfind("BEGIN TRANSACTION;", 0) == 0);
  CHECK(text.find("COMMIT TRANSACTION;") != std::string::npos);
  // One statement per kind of check, naming the failed one's number.
  CHECK(text.find("THROW 'orch-precondition:' + <string>") != std::string::npos);
  CHECK(st->vars["pi0"] == json::array({t.id}));
  CHECK(st->vars["pn0"] == json::array({0}));
  CHECK(st->vars["pi1"] == json::array({{{"n", 1}, {"key", t.id}, {"values", {"me"}}}}));
  CHECK(text.find("INSERT RELATION INTO depends_on") != std::string::npos);  // graph edges
  CHECK(st->vars["tedges"][0]["key"] == t.id);
  // The record and the key travel as variables, not as text.
  CHECK(text.find("DROP TABLE") == std::string::npos);
  CHECK(text.find(t.id) == std::string::npos);
  CHECK(st->vars["rops"][0]["k"] == t.id);
  CHECK(st->vars["rops"][0]["t"] == "tasks");
  CHECK(st->vars["rops"][0]["d"]["command"] == t.command);
}

TEST_CASE("surrealql: keys and field names that could break out of the text are refused",
          "[surrealql]") {
  write_batch bad_key;
  bad_key.ops.push_back({record_op::remove, {record_kind::task, "x') OR true; --", {}}});
  auto a = batch_statement(bad_key);
  REQUIRE_FALSE(a);
  CHECK(a.code() == errc::invalid);
  write_batch bad_field;
  bad_field.expect.push_back(
    {precondition::field_in, record_kind::task, new_uuid_v4(), "status; DELETE tasks", {"x"}});
  CHECK_FALSE(batch_statement(bad_field));
  record_query q;
  q.kind = record_kind::task;
  q.field = "env";  // an object: not filterable
  auto unfilterable = query_statement(q);
  REQUIRE_FALSE(unfilterable);
  CHECK(unfilterable.message() == "records of tasks cannot be filtered by 'env'");
}

TEST_CASE("surrealql: listings filter by the schema's fields and page with variables",
          "[surrealql]") {
  record_query q;
  q.kind = record_kind::task;
  q.field = "status";
  q.value = "failed";
  q.since = 1'700'000'000'000'000;
  q.limit = 10;
  q.offset = 20;
  q.newest_first = true;
  auto st = query_statement(q);
  REQUIRE(st);
  CHECK(st->vars["match"] == "Failed");  // the status's own spelling
  CHECK(st->vars["limit"] == 10);
  CHECK(st->vars["start"] == 20);
  CHECK(st->text.find("ORDER BY created_at DESC, id DESC") != std::string::npos);
  CHECK(st->text.find("created_at >= $since") != std::string::npos);
  q.kind = record_kind::task;
  q.field = "dependencies";
  q.value = new_uuid_v4();
  q.since = 0;
  auto deps = query_statement(q);
  REQUIRE(deps);
  CHECK(deps->text.find("dependencies CONTAINS $match") != std::string::npos);
  q.kind = record_kind::queue;
  q.field = "priority";
  q.value = "5";
  auto scalar = query_statement(q);
  REQUIRE(scalar);
  CHECK(scalar->text.find("<string> priority = $match") != std::string::npos);
  CHECK(scalar->text.find("ORDER BY lease_until DESC, task_id DESC") != std::string::npos);
}

TEST_CASE("surrealql: a search is bound variables, its words regular expressions of letters",
          "[surrealql][search]") {
  CHECK(word_start_pattern("ab1é") == "(?:^|[^0-9A-Za-z\\x{80}-\\x{10FFFF}])[Aa][Bb]1é");
  record_query q;
  q.kind = record_kind::task;
  q.search = "Nightly label:team=infra status:failed,running since:2026-12-01";
  auto st = query_statement(q);
  REQUIRE(st);
  CHECK(st->vars["s0"] == word_start_pattern("nightly"));
  CHECK(st->vars["s0"].get<std::string>().find("[Nn][Ii]") != std::string::npos);
  CHECK(st->vars["since"].get<std::string>().rfind("2026-12-01T00:00:00", 0) == 0);  // since: narrows
  CHECK(st->text.find("string::matches(") != std::string::npos);
  CHECK(st->text.find("status IN $s") != std::string::npos);
  CHECK(st->text.find("infra") == std::string::npos);  // values are never in the text
  q.search = "name:\"open";
  CHECK_FALSE(query_statement(q));
}

TEST_CASE("surrealql: replies are read without trusting their shape", "[surrealql]") {
  auto ok = interpret(rpc_result{json::array({{{"status", "OK"}, {"result", json::array({1})}}})});
  CHECK(ok.st);
  REQUIRE(ok.results.size() == 1);
  auto thrown = interpret(rpc_result{json::array(
    {{{"status", "ERR"}, {"result", "The query was not executed"}},
     {{"status", "ERR"}, {"result", "An error occurred: orch-precondition:3:"}}})});
  CHECK(thrown.st.code() == errc::conflict);
  CHECK(thrown.precondition == 3);
  auto conflict = interpret(rpc_result{json::array(
    {{{"status", "ERR"}, {"result", "Transaction conflict: this transaction can be retried"}}})});
  CHECK(conflict.retryable);
  auto refused = interpret(rpc_result{json::array({{{"status", "ERR"}, {"result", 42}}})});
  CHECK(refused.st.code() == errc::internal);
  CHECK(refused.st.message().find("SurrealDB refused the query") == 0);
  CHECK(interpret(rpc_result{json("not an array")}).st.code() == errc::internal);
  CHECK(interpret(rpc_result{json::array({1, "x"})}).st.code() == errc::internal);
  CHECK(interpret(rpc_result{status{errc::unavailable, "gone"}}).st.code() == errc::unavailable);
  CHECK(count_of(json::array({{{"count", "many"}}})) == 0);
  CHECK(count_of(json::array({{{"count", 7}}})) == 7);
  CHECK(failed_precondition("x orch-precondition:12: y") == 12);
  CHECK(failed_precondition("orch-precondition:") == -1);
  CHECK(failed_precondition("nothing") == -1);
}
