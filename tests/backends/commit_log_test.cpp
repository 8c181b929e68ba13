// The filesystem backend's write-ahead log on its own: rounds read back with
// their data, and a checkpoint taken while rounds go on keeps those rounds.
#include <catch2/catch.hpp>

#include <filesystem>

#include "backends/filesystem/commit_log.hpp"
#include "runtime/core/ids.hpp"
#include "tests/support/temp_dir.hpp"

using namespace orch;
using namespace orch::test;

namespace {

/// Round `n` writes one task file and appends one line to an events segment.
void commit_round(fs::commit_log& log, uint64_t n, const std::string& id, uint64_t from) {
  std::string json = "{\"id\":\"" + id + "\",\"n\":" + std::to_string(n) + "}";
  std::string line = "{\"event\":" + std::to_string(n) + "}\n";
  log.commit(n, {}, {{record_kind::task, id, json}},
             {{record_kind::event, "2026-12-07.jsonl", from, line}});
}

/// Rounds 1 to 3, each writing the task `id` and appending a line.
void three_rounds(const std::string& path, const std::string& id) {
  fs::commit_log log{path, 0, {}};
  for (uint64_t n = 1; n <= 3; ++n)
    commit_round(log, n, id, (n - 1) * 12);
}

fs::committed_rounds read_back(const std::string& path) {
  std::vector<std::string> notes;
  auto committed = fs::commit_log::read(path, notes);
  INFO(notes.size());
  CHECK(notes.empty());
  return committed;
}

} // namespace

TEST_CASE("commit log: rounds read back with their files and lines, in order", "[filesystem]") {
  temp_dir dir{"orch-commit-log"};
  auto path = dir.path() + "/commit.log";
  auto id = new_uuid_v4();
  three_rounds(path, id);
  auto committed = read_back(path);
  CHECK(committed.complete);
  CHECK(committed.last_round == 3);
  CHECK(committed.last_logged);
  REQUIRE(committed.logged.size() == 3);
  CHECK(committed.logged[2].files.at(0).key == id);
  CHECK(committed.logged[2].files.at(0).json == "{\"id\":\"" + id + "\",\"n\":3}");
  CHECK(committed.logged[1].appends.at(0).from == 12);
  CHECK(committed.logged[1].appends.at(0).text == "{\"event\":2}\n");
  CHECK(committed.sizes.at(record_kind::event).at("2026-12-07.jsonl") == 36);
}

TEST_CASE("commit log: a checkpoint taken while rounds go on keeps the rounds after it",
          "[filesystem]") {
  temp_dir dir{"orch-commit-log"};
  auto path = dir.path() + "/commit.log";
  auto id = new_uuid_v4();
  fs::commit_log log{path, 0, {}, 200};
  uint64_t n = 0;
  while (!log.large()) {
    ++n;
    commit_round(log, n, id, (n - 1) * 12);
  }
  auto checkpointed = n;
  log.begin_checkpoint(checkpointed, {{record_kind::event, {{"2026-12-07.jsonl", n * 12}}}});
  CHECK_FALSE(log.large());  // one at a time
  for (int more = 0; more < 2; ++more) {
    ++n;
    commit_round(log, n, id, (n - 1) * 12);
  }
  auto before = std::filesystem::file_size(path);
  log.finish_checkpoint(true);
  CHECK(std::filesystem::file_size(path) < before);
  ++n;
  commit_round(log, n, id, (n - 1) * 12);  // appends after the rewrite

  auto committed = read_back(path);
  CHECK(committed.complete);
  CHECK(committed.last_round == n);
  REQUIRE(committed.logged.size() == 3);
  CHECK(committed.logged[0].round == checkpointed + 1);
  CHECK(committed.logged[2].round == n);
  CHECK(committed.sizes.at(record_kind::event).at("2026-12-07.jsonl") == n * 12);
}

TEST_CASE("commit log: a damaged round in the middle is skipped with a note, the rest read",
          "[filesystem]") {
  temp_dir dir{"orch-commit-log"};
  auto path = dir.path() + "/commit.log";
  auto id = new_uuid_v4();
  three_rounds(path, id);
  // One byte of round 2's data flipped: its CRC no longer matches.
  auto text = slurp(path);
  auto at = text.find("\"n\":2}");
  REQUIRE(at != std::string::npos);
  text[at + 4] = '7';
  write_text(path, text);
  std::vector<std::string> notes;
  auto committed = fs::commit_log::read(path, notes);
  REQUIRE(notes.size() == 1);
  CHECK_THAT(notes[0], Catch::Contains("skipped a damaged round"));
  REQUIRE(committed.logged.size() == 2);
  CHECK(committed.logged[0].round == 1);
  CHECK(committed.logged[1].round == 3);
}
