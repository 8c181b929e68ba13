#include "backends/engine/storage_engine.hpp"

#include "backends/engine/group_plan.hpp"

namespace orch {

storage_engine::~storage_engine() = default;

std::string not_found_message(record_kind kind, const std::string& key) {
  switch (kind) {
    case record_kind::task: return "task " + key + " does not exist";
    case record_kind::queue: return "task " + key + " has no queue entry";
    case record_kind::user: return "user '" + key + "' does not exist";
    default: return std::string{to_string(kind)} + " record " + key + " does not exist";
  }
}

std::vector<batch_outcome> storage_engine::commit_batches(
  const std::vector<const write_batch*>& batches) {
  std::vector<prepared_batch> prepared;
  prepared.reserve(batches.size());
  for (auto* b : batches)
    prepared.push_back(prepare_batch(*b));
  std::vector<prepared_batch*> ptrs;
  for (auto& p : prepared)
    ptrs.push_back(&p);
  return commit_group(ptrs);
}

} // namespace orch
