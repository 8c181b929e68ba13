// The sync thread of an engine that defers its sync (RocksDB): it makes the
// written rounds durable while the engine actor prepares the next one, and
// reports which rounds are (`synced(N, "")`) or why they are not. One sync
// covers every round written before it. Internal to backends/actor/.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "backends/actor/engine_messages.hpp"

namespace orch {

class syncer {
public:
  syncer(storage_engine* engine, engine_actor owner);
  ~syncer();  // joins the thread once what was asked for is synced
  syncer(const syncer&) = delete;
  syncer& operator=(const syncer&) = delete;

  /// Make rounds up to `round` durable.
  void request(uint64_t round);

private:
  void run();

  storage_engine* engine_;
  engine_actor owner_;
  std::mutex m_;
  std::condition_variable cv_;
  uint64_t requested_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

} // namespace orch
