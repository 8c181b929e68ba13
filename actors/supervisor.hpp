// Supervision. Two kinds of long-lived actors:
//
//  - restartable ones (gateway, metrics, events): everyone holds the handle
//    of a *front* that forwards every message to the current incarnation and
//    restarts it when it dies, with its state rebuilt where that is safe
//    (the factory decides: metrics reload their counters from the last
//    snapshot, events get their subscribers again). While one restarts,
//    requests to it fail with errc::unavailable (a 503), and only then.
//    Too many deaths in a short time end the front itself: a component that
//    cannot stay up is a fatal failure.
//  - fatal ones (storage, scheduler, and the fronts): a watchdog monitors
//    them and reports the first that dies, and why; the application then
//    logs it and exits non-zero, so that its service manager restarts the
//    process (nothing acknowledged is lost: it is in storage).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "caf/fwd.hpp"
#include "caf/replies_to.hpp"
#include "caf/typed_actor.hpp"

#include "runtime/messages/types.hpp"

namespace orch {

/// What a supervised component's front also accepts: make the current
/// incarnation fail, as a crash would (the fault injection of tests).
using supervisor_control_actor = caf::typed_actor<caf::reacts_to<fail_atom>>;

struct restart_policy {
  int max_restarts = 5;                      // within `period`; one more is fatal
  std::chrono::seconds period{60};
};

/// A running component that others reach through its front.
template <class Handle>
struct supervised {
  Handle front;                              // the stable handle to give out
  supervisor_control_actor control;          // for fault injection
};

/// Spawns `factory()`'s actor behind a front of the same interface, and a
/// new one from it whenever it dies. `on_restart(new_incarnation)` runs after
/// each restart (not after the first start).
template <class Handle>
supervised<Handle> supervise(caf::actor_system& sys, std::string name,
                             std::function<Handle()> factory, restart_policy policy = {},
                             std::function<void(const Handle&)> on_restart = {});

/// Reports the first death of a watched actor: `on_death(what)` runs once,
/// on an actor thread, with "<name> stopped: <reason>". stop() ends the
/// watch (before an orderly shutdown stops the watched actors).
class watchdog {
public:
  watchdog(caf::actor_system& sys, std::function<void(std::string)> on_death);
  ~watchdog();
  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;

  void watch(std::string name, const caf::actor& a);
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace orch
