// The newest distinct ids seen, up to a capacity, the oldest forgotten
// first: what an actor keeps to pass each of many arriving things on once
// (events that come twice, results handed back twice) without growing
// forever.
#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <unordered_set>

namespace orch {

class recent_ids {
public:
  explicit recent_ids(size_t capacity) : capacity_(capacity) {}

  /// Remembers `id`; false if it is remembered already.
  bool insert(const std::string& id);
  bool contains(const std::string& id) const { return ids_.count(id) > 0; }
  size_t size() const { return order_.size(); }

  /// From now on at most `capacity`; the oldest beyond it are forgotten now.
  void set_capacity(size_t capacity);

private:
  void trim();

  size_t capacity_;
  std::unordered_set<std::string> ids_;
  std::deque<std::string> order_;            // oldest first
};

} // namespace orch
