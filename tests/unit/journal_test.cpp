// The migration journal: what a resume and a rollback read back from it.
#include <catch2/catch.hpp>

#include <fstream>
#include <set>
#include <stdexcept>

#include "runtime/migrate/journal.hpp"
#include "tests/support/temp_dir.hpp"

using namespace orch;
using namespace orch::migration;
using namespace orch::test;

namespace {

std::unique_ptr<journal_writer> open_journal(const std::string& path) {
  auto w = journal_writer::open(path);
  if (!w)
    throw std::runtime_error(w.message());
  return std::move(*w);
}

journal_state read(const std::string& path) {
  auto st = read_journal(path);
  if (!st)
    throw std::runtime_error(st.message());
  return *st;
}

} // namespace

TEST_CASE("journal: intents, commits and the end are read back per kind", "[journal]") {
  temp_dir d;
  auto path = d / "journal.jsonl";
  {
    auto w = open_journal(path);
    REQUIRE(w->header({"filesystem", "surrealdb-embedded", "src", "dst", "all records"}));
    REQUIRE(w->intent(record_kind::task, {"a", "b"}, {{"b", "{\"old\":1}"}}));
    REQUIRE(w->commit(record_kind::task, "b", 2));
    REQUIRE(w->intent(record_kind::user, {"u"}, {}));
  }
  auto st = read(path);
  CHECK(st.exists);
  CHECK(st.header.source == "src");
  CHECK(st.touched[record_kind::task] == std::set<std::string>{"a", "b"});
  CHECK(st.replaced[record_kind::task].at("b") == "{\"old\":1}");
  CHECK(st.last_committed[record_kind::task] == "b");
  CHECK(st.last_committed.count(record_kind::user) == 0);  // intent without commit
  CHECK(st.touched[record_kind::user] == std::set<std::string>{"u"});
  CHECK_FALSE(st.done);
  REQUIRE(open_journal(path)->done("3 records"));
  CHECK(read(path).done);
}

TEST_CASE("journal: a torn last line is cut off before the next entry, which is kept",
          "[journal]") {
  temp_dir d;
  auto path = d / "journal.jsonl";
  {
    auto w = open_journal(path);
    REQUIRE(w->header({"filesystem", "filesystem", "src", "dst", "all records"}));
    REQUIRE(w->intent(record_kind::task, {"a"}, {}));
  }
  {
    std::ofstream out{path, std::ios::app};
    out << "{\"intent\":{\"kind\":\"tasks\",\"ke";  // a write cut off by a crash
  }
  {
    auto resumed = open_journal(path);
    REQUIRE(resumed->intent(record_kind::task, {"b"}, {{"b", "{\"was\":true}"}}));
  }
  auto text = slurp(path);
  CHECK(text.find("\"ke{") == std::string::npos);
  auto st = read(path);
  CHECK(st.touched[record_kind::task] == std::set<std::string>{"a", "b"});
  CHECK(st.replaced[record_kind::task].at("b") == "{\"was\":true}");
}

TEST_CASE("journal: damaged lines are skipped and a foreign file is refused", "[journal]") {
  temp_dir d;
  auto path = d / "journal.jsonl";
  {
    std::ofstream out{path};
    out << R"({"header":{"from":"filesystem","to":"filesystem","source":"s","target":"t"}})" "\n"
        << R"({"intent":{"kind":"tasks","keys":["a",7,null],"replaced":{"a":1,"b":"{}"}}})" "\n"
        << R"({"commit":{"kind":42,"last":"a"}})" "\n"
        << R"({"commit":{"kind":"tasks","last":["x"],"written":"many"}})" "\n"
        << "[1,2,3]\n";
  }
  auto st = read(path);
  CHECK(st.touched[record_kind::task] == std::set<std::string>{"a"});
  CHECK(st.replaced[record_kind::task].size() == 1);
  CHECK(st.last_committed[record_kind::task].empty());
  auto other = d / "other.jsonl";
  {
    std::ofstream out{other};
    out << R"({"intent":{"kind":"tasks","keys":["a"]}})" "\n";
  }
  auto refused = read_journal(other);
  REQUIRE_FALSE(refused);
  CHECK(refused.message().find("is not a migration journal") != std::string::npos);
}
