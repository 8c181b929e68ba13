// The in-memory claim index of a single-owner backend (filesystem, RocksDB):
// every queue entry, the unclaimed ready ones in claim order (priority desc,
// enqueue time, task id) and the delayed ones by not_before. Claims never scan
// storage, so they stay fast however many entries were ever deleted.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "backends/engine/storage_engine.hpp"

namespace orch {

class queue_index {
public:
  void put(const queue_entry& e);
  void erase(const std::string& task_id);
  const queue_entry* find(const std::string& task_id) const;
  const std::map<std::string, queue_entry>& entries() const { return entries_; }

  /// Reads a task for a claim; false if it cannot be read (it is then left
  /// out of the ready set, and the engine reports why).
  using task_loader = std::function<bool(const std::string& id, task& out)>;

  /// Chooses up to req.limit ready entries not in `reserved` and prepares
  /// their claims (claim_transition); nothing is written.
  claim_plan plan(const claim_request& req, const std::set<std::string>& reserved,
                  const task_loader& load);

  /// The batch that extends `worker`'s leases on `ids`; ids whose entry is
  /// gone or claimed by someone else are added to `lost`.
  write_batch renew_batch(const std::string& worker, const std::vector<std::string>& ids,
                          micros lease_until, std::vector<std::string>& lost) const;

private:
  using ready_key = std::tuple<int64_t, micros, std::string>;  // -priority, enqueued, id
  static ready_key key_of(const queue_entry& e);

  std::map<std::string, queue_entry> entries_;
  std::set<ready_key> ready_;
  std::set<std::pair<micros, std::string>> delayed_;  // not_before, id
};

} // namespace orch
