// A failed storage call in a test or a benchmark: an exception whose text is
// the reason, so a figure is never printed for work that did not happen.
#pragma once

#include <stdexcept>
#include <string>

#include "runtime/core/status.hpp"

namespace orch::test {

inline void must(const status& s, const std::string& what) {
  if (!s.ok())
    throw std::runtime_error(what + ": " + s.message());
}

template <class T>
T must(result<T> r, const std::string& what) {
  if (!r.ok())
    throw std::runtime_error(what + ": " + r.message());
  return std::move(r).value();
}

} // namespace orch::test
