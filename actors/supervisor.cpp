#include "actors/supervisor.hpp"

#include <atomic>
#include <map>

#include "actors/supervisor_front.hpp"
#include "runtime/messages/interfaces.hpp"

namespace orch {

template supervised<gateway_actor> supervise(caf::actor_system&, std::string,
                                             std::function<gateway_actor()>, restart_policy,
                                             std::function<void(const gateway_actor&)>);
template supervised<metrics_actor> supervise(caf::actor_system&, std::string,
                                             std::function<metrics_actor()>, restart_policy,
                                             std::function<void(const metrics_actor&)>);
template supervised<audit_actor> supervise(caf::actor_system&, std::string,
                                           std::function<audit_actor()>, restart_policy,
                                           std::function<void(const audit_actor&)>);
template supervised<events_actor> supervise(caf::actor_system&, std::string,
                                            std::function<events_actor()>, restart_policy,
                                            std::function<void(const events_actor&)>);

namespace {

struct watchdog_state {
  std::map<caf::actor_addr, std::string> names;
  std::shared_ptr<std::atomic<bool>> stopped;
  std::function<void(std::string)> on_death;
  bool reported = false;
  static inline const char* name = "watchdog";
};

caf::behavior watchdog_fn(caf::stateful_actor<watchdog_state>* self,
                          std::shared_ptr<std::atomic<bool>> stopped,
                          std::function<void(std::string)> on_death) {
  self->state.stopped = std::move(stopped);
  self->state.on_death = std::move(on_death);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    auto i = st.names.find(dm.source);
    if (i == st.names.end() || st.reported || *st.stopped)
      return;
    st.reported = true;
    st.on_death("the " + i->second + " stopped: " + caf::to_string(dm.reason));
  });
  return {
    [self](const std::string& name, const caf::actor& a) {
      self->state.names.emplace(a.address(), name);
      self->monitor(a);
    },
  };
}

} // namespace

struct watchdog::impl {
  caf::actor actor;
  std::shared_ptr<std::atomic<bool>> stopped = std::make_shared<std::atomic<bool>>(false);
};

watchdog::watchdog(caf::actor_system& sys, std::function<void(std::string)> on_death)
  : impl_(std::make_unique<impl>()) {
  impl_->actor = sys.spawn(watchdog_fn, impl_->stopped, std::move(on_death));
}

watchdog::~watchdog() {
  stop();
}

void watchdog::watch(std::string name, const caf::actor& a) {
  caf::anon_send(impl_->actor, std::move(name), a);
}

void watchdog::stop() {
  if (!impl_->actor)
    return;
  // Set before the exit goes out: deaths from here on are the shutdown's.
  *impl_->stopped = true;
  caf::anon_send_exit(impl_->actor, caf::exit_reason::user_shutdown);
  impl_->actor = nullptr;
}

} // namespace orch
