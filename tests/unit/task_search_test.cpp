#include <catch2/catch.hpp>

#include "runtime/core/clock.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/task_search.hpp"

using namespace orch;

namespace {

task sample() {
  task t;
  t.id = "0193ab12-0000-7000-8000-000000000001";
  t.name = "Nightly backup-DB";
  t.command = "/usr/bin/rsync";
  t.args = {"--archive", "/srv/data", "backup.example.org:/vault"};
  t.labels = {{"team", "infra"}, {"env", "prod"}};
  t.node = "gpu-1";
  t.owner = "alice";
  t.status = task_status::failed;
  return t;
}

bool finds(const std::string& q, const task& t = sample()) {
  auto s = parse_task_search(q);
  REQUIRE(s);
  return search_matches(*s, t.id, t.status, make_search_doc(t));
}

std::string refusal(const std::string& q) {
  auto s = parse_task_search(q);
  REQUIRE_FALSE(s);
  CHECK(s.code() == errc::invalid);
  return s.message();
}

} // namespace

TEST_CASE("task search: words are runs of letters and digits, lowercased", "[unit][search]") {
  CHECK(search_words("Nightly backup-DB") == std::vector<std::string>{"nightly", "backup", "db"});
  CHECK(search_words("--archive /srv/data") == std::vector<std::string>{"archive", "srv", "data"});
  CHECK(search_words("café_au_lait") == std::vector<std::string>{"café", "au", "lait"});
  CHECK(search_words(" -- ").empty());
}

TEST_CASE("task search: a bare word starts a word of the name, command or arguments, or the id",
          "[unit][search]") {
  CHECK(finds("nightly"));
  CHECK(finds("NIGHT"));                   // case-insensitive
  CHECK(finds("rsync"));                   // the command's last word
  CHECK(finds("vault"));                   // in an argument
  CHECK(finds("0193ab"));                  // id prefix
  CHECK(finds("0193AB12-0000"));           // id prefix, any case, with its dashes
  CHECK(finds("backup.example"));          // every word of the term starts a word
  CHECK_FALSE(finds("ightly"));            // inside a word: no
  CHECK_FALSE(finds("000001"));            // inside the id: no
  CHECK_FALSE(finds("nightly missing"));   // every term must match
  CHECK(finds(""));                        // no terms: everything
}

TEST_CASE("task search: fields", "[unit][search]") {
  CHECK(finds("name:backup"));
  CHECK_FALSE(finds("name:rsync"));        // the command is not the name
  CHECK(finds("cmd:rsync"));
  CHECK(finds("command:archive"));
  CHECK_FALSE(finds("cmd:nightly"));
  CHECK(finds("id:0193ab12"));
  CHECK_FALSE(finds("id:nightly"));
  CHECK(finds("label:team=infra"));
  CHECK(finds("label:env"));
  CHECK_FALSE(finds("label:team=INFRA"));  // label values are exact
  CHECK_FALSE(finds("label:gpu"));
  CHECK(finds("status:failed"));
  CHECK(finds("status:completed,FAILED"));
  CHECK_FALSE(finds("status:running"));
  CHECK(finds("node:gpu-1"));
  CHECK_FALSE(finds("node:gpu"));
  CHECK(finds("owner:alice"));
  CHECK(finds("name:\"nightly backup\""));  // quoted: both words
  CHECK(finds("\"backup.example.org:/vault\""));  // quoted from the start: text, not a field
  CHECK(finds("NAME:nightly label:team=infra status:failed cmd:srv"));
}

TEST_CASE("task search: since and until narrow the creation time", "[unit][search]") {
  auto s = parse_task_search("since:2026-12-01 until:2026-12-07T12:00:00Z since:2026-11-01");
  REQUIRE(s);
  micros a = 0, b = 0;
  REQUIRE(parse_rfc3339("2026-12-01T00:00:00Z", a));
  REQUIRE(parse_rfc3339("2026-12-07T12:00:00Z", b));
  CHECK(s->since == a);                    // the later of two since:
  CHECK(s->until == b);
  CHECK(s->terms.empty());
  record_query q;
  q.search = "since:2026-12-01";
  q.since = a - 1;
  REQUIRE(apply_search(q));
  CHECK(q.since == a);
  record_query events;
  events.kind = record_kind::event;
  events.search = "x";
  CHECK_FALSE(apply_search(events));
}

TEST_CASE("task search: a bad query says what is wrong", "[unit][search]") {
  CHECK(refusal("stat:failed").find("unknown search field 'stat'") != std::string::npos);
  CHECK(refusal("status:done").find("unknown status 'done'") != std::string::npos);
  CHECK(refusal("name:\"open").find("unterminated quote") != std::string::npos);
  CHECK(refusal("since:yesterday").find("is not a time") != std::string::npos);
  CHECK(refusal("since:2026-12-02 until:2026-12-01").find("until") != std::string::npos);
  CHECK(refusal("label:=x").find("needs a key") != std::string::npos);
  CHECK(refusal("name:").find("needs a value") != std::string::npos);
  CHECK(refusal("---").find("no letters or digits") != std::string::npos);
  CHECK(refusal(std::string(1001, 'a')).find("at most 1000") != std::string::npos);
  CHECK(refusal("a b c d e f g h i j k l m n o p q r s t u").find("at most 20") != std::string::npos);
  CHECK(refusal("caf\xc3").find("UTF-8") != std::string::npos);
}

TEST_CASE("task search: read from a stored task's JSON as from the task", "[unit][search]") {
  auto t = sample();
  auto s = parse_task_search("backup label:env=prod status:failed");
  REQUIRE(s);
  CHECK(search_matches_json(*s, encode(t)));
  t.status = task_status::completed;
  CHECK_FALSE(search_matches_json(*s, encode(t)));
  CHECK_FALSE(search_matches_json(*s, "not json"));
}
