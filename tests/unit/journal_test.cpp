// The migration journal: what a resume and a rollback read back from it.
#include <catch2/catch.hpp>

#include <fstream>
#include <set>

#include "runtime/migrate/journal.hpp"
#include "tests/support/temp_dir.hpp"

using namespace orch;
using namespace orch::migration;
using namespace orch::test;

TEST_CASE("journal: intents, commits and the end are read back per kind", "[journal]") {
  temp_dir d;
  auto path = d / "journal.jsonl";
  {
    journal_writer w{path};
    w.header({"filesystem", "surrealdb-embedded", "src", "dst", "all records"});
    w.intent(record_kind::task, {"a", "b"}, {{"b", "{\"old\":1}"}});
    w.commit(record_kind::task, "b", 2);
    w.intent(record_kind::user, {"u"}, {});
  }
  auto st = read_journal(path);
  CHECK(st.exists);
  CHECK(st.header.source == "src");
  CHECK(st.touched[record_kind::task] == std::set<std::string>{"a", "b"});
  CHECK(st.replaced[record_kind::task].at("b") == "{\"old\":1}");
  CHECK(st.last_committed[record_kind::task] == "b");
  CHECK(st.last_committed.count(record_kind::user) == 0);  // intent without commit
  CHECK(st.touched[record_kind::user] == std::set<std::string>{"u"});
  CHECK_FALSE(st.done);
  journal_writer{path}.done("3 records");
  CHECK(read_journal(path).done);
}

TEST_CASE("journal: a torn last line is cut off before the next entry, which is kept",
          "[journal]") {
  temp_dir d;
  auto path = d / "journal.jsonl";
  {
    journal_writer w{path};
    w.header({"filesystem", "filesystem", "src", "dst", "all records"});
    w.intent(record_kind::task, {"a"}, {});
  }
  {
    std::ofstream out{path, std::ios::app};
    out << "{\"intent\":{\"kind\":\"tasks\",\"ke";  // a write cut off by a crash
  }
  {
    journal_writer resumed{path};
    resumed.intent(record_kind::task, {"b"}, {{"b", "{\"was\":true}"}});
  }
  auto text = slurp(path);
  CHECK(text.find("\"ke{") == std::string::npos);
  auto st = read_journal(path);
  CHECK(st.touched[record_kind::task] == std::set<std::string>{"a", "b"});
  CHECK(st.replaced[record_kind::task].at("b") == "{\"was\":true}");
}
