#include "runtime/core/recent_ids.hpp"

namespace orch {

bool recent_ids::insert(const std::string& id) {
  if (!ids_.insert(id).second)
    return false;
  order_.push_back(id);
  trim();
  return true;
}

void recent_ids::set_capacity(size_t capacity) {
  capacity_ = capacity;
  trim();
}

void recent_ids::trim() {
  while (order_.size() > capacity_) {
    ids_.erase(order_.front());
    order_.pop_front();
  }
}

} // namespace orch
