// A JSON-lines segment of the filesystem backend (audit log, metrics, task
// events; the first byte picks the kind and whether the load may repair) as
// found on disk after anything: a crash mid-append, a damaged disk, an edit
// by hand. Loading must index only lines that are records of the kind,
// refuse read-only what it would have to repair, and a repairing load must
// leave a segment that loads again to the same index.
#include "tests/fuzz/fuzz_target.hpp"

#include <filesystem>
#include <fstream>
#include <map>

#include "backends/filesystem/segment_log.hpp"
#include "runtime/core/record_scan.hpp"

namespace {

using orch::record_kind;

std::map<std::string, std::string> load(const std::string& dir, const std::string& corrupted_dir,
                                        record_kind kind, bool read_only,
                                        bool& refused, std::vector<std::string>& notes) {
  std::map<std::string, std::string> out;
  refused = false;
  try {
    orch::fs::segment_log log{dir, corrupted_dir, kind, notes, orch::fs::committed_rounds{},
                              read_only};
    for (auto& [key, slot] : log.index()) {
      auto text = log.read(slot);
      orch::record_summary sum;
      if (auto st = orch::scan_record(kind, text, sum); !st || sum.key != key)
        fuzz::fail("the segment index holds a line that is not its record: " + text);
      out.emplace(key, text);
    }
  } catch (const orch::status_error& e) {
    if (!read_only)
      fuzz::fail(std::string{"a repairing load gave up: "} + e.what());
    refused = true;
  }
  return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const record_kind kinds[] = {record_kind::audit, record_kind::metric, record_kind::event};
  auto choice = fuzz::pick(data, size, 6);
  auto kind = kinds[choice % 3];
  bool read_only = choice >= 3;
  auto base = fuzz::scratch_dir() + "/segments";
  std::error_code ec;
  std::filesystem::remove_all(base, ec);
  auto dir = base + "/log";
  std::filesystem::create_directories(dir);
  std::filesystem::create_directories(base + "/corrupted");  // the engine makes it at open
  {
    std::ofstream f{dir + "/2026-12-01.jsonl", std::ios::binary};
    f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  std::vector<std::string> notes;
  bool refused = false;
  auto first = load(dir, base + "/corrupted", kind, read_only, refused, notes);
  if (read_only || refused)
    return 0;
  std::vector<std::string> again_notes;
  auto second = load(dir, base + "/corrupted", kind, false, refused, again_notes);
  if (first != second)
    fuzz::fail("a repaired segment loads to a different index the second time");
  return 0;
}
