// Progress of a migration on stderr: a live bar on a terminal, plain
// periodic lines otherwise (records done/total, records/s, ETA).
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "runtime/core/records.hpp"

namespace orch::migration {

/// Counters the pipeline updates and the reporter reads.
struct counters {
  std::array<std::atomic<uint64_t>, all_record_kinds.size()> read{};
  std::array<std::atomic<uint64_t>, all_record_kinds.size()> written{};
  std::array<std::atomic<uint64_t>, all_record_kinds.size()> skipped{};    // filtered out
  std::array<std::atomic<uint64_t>, all_record_kinds.size()> unchanged{};  // already in the target
  std::array<uint64_t, all_record_kinds.size()> total{};                  // in the source
  std::atomic<int> current_kind{-1};
  // Backpressure, observed: records read but neither filtered out nor handed
  // to the sink yet, at most (sampled by the source before each scan).
  std::atomic<uint64_t> delivered{0};                                      // to the sink
  std::atomic<uint64_t> max_in_flight{0};

  uint64_t read_total() const;
  uint64_t written_total() const;
  uint64_t skipped_total() const;
  uint64_t grand_total() const;
};

class progress_reporter {
public:
  /// mode: auto (bar if stderr is a terminal), bar, lines, none.
  progress_reporter(const counters& c, const std::string& mode);
  ~progress_reporter();
  void stop();

private:
  void run();
  void print(bool final);

  const counters& c_;
  bool bar_ = false;
  bool enabled_ = true;
  std::chrono::steady_clock::time_point start_;
  std::mutex m_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

} // namespace orch::migration
