#include "actors/worker_pool.hpp"

#include <algorithm>

namespace orch {

worker_pool::worker_pool(uint32_t local_slots, std::string local_name, label_map local_labels,
                         micros started_at) {
  local_.name = std::move(local_name);
  local_.labels = std::move(local_labels);
  local_.address = "local";
  local_.slots = local_slots;
  local_.joined_at = started_at;
  local_.caf_version = caf_version_text();
  local_.local = true;
}

uint32_t worker_pool::total() const {
  uint32_t n = local_.slots;
  for (auto& [id, nd] : nodes_)
    n += nd.status.slots;
  return n;
}

std::vector<slot_offer> worker_pool::offers() const {
  std::vector<slot_offer> out;
  if (local_.running < local_.slots)
    out.push_back({{}, local_.name, local_.labels, local_.slots - local_.running});
  auto first_node = out.size();
  for (auto& [id, nd] : nodes_)
    if (nd.status.running < nd.status.slots)
      out.push_back({id, nd.status.name, nd.status.labels, nd.status.slots - nd.status.running});
  std::stable_sort(out.begin() + static_cast<std::ptrdiff_t>(first_node), out.end(),
                   [](const slot_offer& a, const slot_offer& b) { return a.free > b.free; });
  return out;
}

std::optional<placement> worker_pool::take(const std::string& registration) {
  if (registration.empty()) {
    if (local_.running >= local_.slots)
      return std::nullopt;
    ++local_.running;
    return placement{{}, local_.name, {}};
  }
  auto i = nodes_.find(registration);
  if (i == nodes_.end() || i->second.status.running >= i->second.status.slots)
    return std::nullopt;
  ++i->second.status.running;
  return placement{registration, i->second.status.name, i->second.handle};
}

void worker_pool::give_back(const std::string& registration) {
  node_status* st = &local_;
  if (!registration.empty()) {
    auto i = nodes_.find(registration);
    if (i == nodes_.end())
      return;  // the node left: its slots went with it
    st = &i->second.status;
  }
  if (st->running > 0) {
    --st->running;
    ++st->completed;
  }
}

void worker_pool::join(node_status status, node_session_actor handle) {
  status.local = false;
  auto id = status.registration;
  nodes_[id] = node{std::move(status), std::move(handle)};
}

void worker_pool::seen(const std::string& registration, micros at) {
  if (auto i = nodes_.find(registration); i != nodes_.end())
    i->second.status.last_heartbeat = at;
}

bool worker_pool::leave(const std::string& registration) {
  return nodes_.erase(registration) > 0;
}

const node_status* worker_pool::status_of(const std::string& registration) const {
  if (registration.empty())
    return &local_;
  auto i = nodes_.find(registration);
  return i == nodes_.end() ? nullptr : &i->second.status;
}

std::vector<node_status> worker_pool::statuses() const {
  std::vector<node_status> out;
  if (local_.slots > 0)
    out.push_back(local_);
  for (auto& [id, nd] : nodes_)
    out.push_back(nd.status);
  return out;
}

} // namespace orch
