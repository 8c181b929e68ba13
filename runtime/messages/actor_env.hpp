// The orchestrator's actor system: the CAF configuration every process of it
// uses (message types registered, scheduler size, CAF's own logging off),
// together with the config object the system refers to.
#pragma once

#include <cstddef>
#include <memory>

#include "caf/fwd.hpp"

namespace orch {

class actor_env {
public:
  /// threads: CAF scheduler threads; 0 for one per CPU (at least two).
  explicit actor_env(size_t threads = 0);
  ~actor_env();
  actor_env(const actor_env&) = delete;
  actor_env& operator=(const actor_env&) = delete;

  caf::actor_system& sys() { return *sys_; }

private:
  std::unique_ptr<caf::actor_system_config> cfg_;
  std::unique_ptr<caf::actor_system> sys_;
};

} // namespace orch
