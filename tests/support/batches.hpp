// Write batches that tests build by hand.
#pragma once

#include <vector>

#include "runtime/core/records.hpp"

namespace orch::test {

/// One batch that puts every record.
inline write_batch puts(const std::vector<record>& rs) {
  write_batch b;
  for (auto& r : rs)
    b.ops.push_back({record_op::put, r});
  return b;
}

} // namespace orch::test
