// Elapsed time for the benchmarks' rates.
#pragma once

#include <chrono>

namespace orch::test {

/// Seconds from `start` until now, on the steady clock.
inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

} // namespace orch::test
