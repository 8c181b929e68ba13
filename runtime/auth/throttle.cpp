#include "runtime/auth/throttle.hpp"

#include <algorithm>

namespace orch::auth {

micros sign_in_throttle::blocked_for(const std::vector<std::string>& keys, micros now) const {
  micros wait = 0;
  for (auto& k : keys)
    if (auto i = failures_.find(k); i != failures_.end())
      wait = std::max(wait, i->second.blocked_until - now);
  return wait;
}

void sign_in_throttle::count_failure(const std::vector<std::string>& keys, micros now) {
  if (failures_.size() > policy_.max_keys)
    failures_.clear();
  for (auto& k : keys) {
    auto& f = failures_[k];
    if (now - f.last > policy_.forget_after)
      f = {};
    f.last = now;
    if (++f.count <= policy_.free_failures)
      continue;
    // The n-th failure past the free ones blocks for first_block * 2^(n-1),
    // up to max_block (compared before shifting, so the shift cannot overflow).
    auto doublings = std::min<uint32_t>(f.count - policy_.free_failures - 1, 30);
    auto block = policy_.first_block > (policy_.max_block >> doublings)
                   ? policy_.max_block
                   : policy_.first_block << doublings;
    f.blocked_until = now + block;
  }
}

int64_t retry_after_seconds(micros wait) {
  return wait <= 0 ? 0 : (wait + us_per_second - 1) / us_per_second;
}

} // namespace orch::auth
