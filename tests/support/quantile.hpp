// Quantiles of measured times, for tests that bound them and benchmarks that
// print them.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace orch::test {

/// The value at fraction `q` (0..1) of the sorted samples: q = 0.5 the
/// median, 1 the largest; 0 when there are none.
inline double quantile(std::vector<double> xs, double q) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  return xs[std::min(xs.size() - 1, static_cast<size_t>(q * static_cast<double>(xs.size())))];
}

} // namespace orch::test
