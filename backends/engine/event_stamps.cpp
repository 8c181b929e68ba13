#include "backends/engine/event_stamps.hpp"

#include "runtime/core/ids.hpp"

namespace orch {

namespace {

/// The canonical JSON of an event has its id once at the top level as
/// "id":"<uuid>"; a quote inside any string value is escaped, so this
/// text cannot occur anywhere else.
bool replace_id(std::string& json, const std::string& from, const std::string& to) {
  auto field = "\"id\":\"" + from + "\"";
  auto at = json.find(field);
  if (at == std::string::npos)
    return false;
  json.replace(at + 6, from.size(), to);
  return true;
}

} // namespace

round_events stamp_round_events(const std::vector<prepared_batch*>& batches, micros now) {
  round_events out;
  out.per_batch.resize(batches.size());
  for (size_t bi = 0; bi < batches.size(); ++bi) {
    auto& b = *batches[bi];
    if (!b.error.empty())
      continue;
    if (b.stamp_events) {
      size_t k = 0;  // b.events[k] is the k-th event put of b.staged
      for (auto& [id, staged] : b.staged) {
        if (id.first != record_kind::event || staged.removed)
          continue;
        auto fresh = new_uuid_v7(now);
        if (replace_id(staged.json, id.second, fresh)) {
          out.renamed[id.second] = fresh;
          id.second = fresh;
          b.events[k].id = fresh;
        }
        ++k;
      }
    }
    out.per_batch[bi] = std::move(b.events);
  }
  return out;
}

} // namespace orch
