// Opening a backend in a test: the storage actor, or an exception whose text
// is the reason (Catch prints it as the failure).
#pragma once

#include <stdexcept>

#include "backends/open_storage.hpp"

namespace orch::test {

inline storage_actor open_or_throw(caf::actor_system& sys, const storage_settings& s) {
  auto opened = open_storage(sys, s);
  if (!opened)
    throw std::runtime_error("cannot open the " + s.type + " storage: " + opened.message());
  return *opened;
}

} // namespace orch::test
