// The filesystem backend's commit log (queue.rkvs/commit.log) as found after
// anything, with the events segment it governs: the input is the log's bytes,
// a NUL, then the segment's bytes. Reading the log must never throw for its
// content nor let a damaged line name a file outside the segment folders or
// an invalid key; loading the segment under it must keep only what the log
// commits, and load again to the same index.
#include "tests/fuzz/fuzz_target.hpp"

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include "backends/filesystem/commit_log.hpp"
#include "backends/filesystem/segment_log.hpp"

namespace {

using orch::record_kind;

void write(const std::string& path, std::string_view bytes) {
  std::ofstream f{path, std::ios::binary};
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::map<std::string, std::string> load(const std::string& dir, const std::string& corrupted,
                                        const orch::fs::committed_rounds& committed) {
  std::vector<std::string> notes;
  std::map<std::string, std::string> out;
  try {
    orch::fs::segment_log log{dir, corrupted, record_kind::event, notes, committed};
    for (auto& [key, slot] : log.index())
      out.emplace(key, log.read(slot));
  } catch (const orch::status_error& e) {
    fuzz::fail(std::string{"a repairing load under the commit log gave up: "} + e.what());
  }
  return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto input = fuzz::as_text(data, size);
  auto nul = input.find('\0');
  auto log_text = input.substr(0, nul);
  auto segment_text = nul == std::string_view::npos ? std::string_view{} : input.substr(nul + 1);
  auto base = fuzz::scratch_dir() + "/commit-log";
  std::error_code ec;
  std::filesystem::remove_all(base, ec);
  auto dir = base + "/events";
  std::filesystem::create_directories(dir);
  std::filesystem::create_directories(base + "/corrupted");
  write(base + "/commit.log", log_text);
  const std::string segment = "2026-12-01.jsonl";
  write(dir + "/" + segment, segment_text);

  std::vector<std::string> notes;
  orch::fs::committed_rounds committed;
  try {
    committed = orch::fs::commit_log::read(base + "/commit.log", notes);
  } catch (const orch::status_error& e) {
    fuzz::fail(std::string{"reading a commit log threw for its content: "} + e.what());
  }
  for (auto& [kind, files] : committed.sizes) {
    if (kind != record_kind::audit && kind != record_kind::metric && kind != record_kind::event)
      fuzz::fail("the commit log names a segment of a kind that has none");
    for (auto& [name, bytes] : files)
      if (name.find('/') != std::string::npos || name.empty() || name[0] == '.')
        fuzz::fail("the commit log names a segment outside its folder: " + name);
  }
  for (auto& round : committed.logged) {
    for (auto& f : round.files)
      if (!orch::is_valid_key(f.kind, f.key) || f.kind == record_kind::event)
        fuzz::fail("a logged round writes a file of an invalid key or kind: " + f.key);
    for (auto& a : round.appends)
      if (a.segment.find('/') != std::string::npos || a.segment.empty() || a.segment[0] == '.')
        fuzz::fail("a logged round appends to a segment outside its folder: " + a.segment);
  }
  for (auto& [kind, keys] : committed.last_deletes)
    for (auto& key : keys)
      if (!orch::is_valid_key(kind, key))
        fuzz::fail("the commit log deletes an invalid key: " + key);

  auto first = load(dir, base + "/corrupted", committed);
  if (committed.present) {
    auto events = committed.sizes.find(record_kind::event);
    std::optional<uint64_t> limit;
    if (events != committed.sizes.end())
      if (auto i = events->second.find(segment); i != events->second.end())
        limit = i->second;
    if (!limit && committed.complete)
      limit = 0;
    if (limit && std::filesystem::file_size(dir + "/" + segment) > *limit)
      fuzz::fail("a segment keeps bytes past its committed size");
  }
  if (load(dir, base + "/corrupted", committed) != first)
    fuzz::fail("a segment cut back under the commit log loads to a different index the second time");
  return 0;
}
