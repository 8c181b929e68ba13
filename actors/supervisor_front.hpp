// The template behind supervise() (supervisor.hpp): a front actor whose
// interface is the component's own, generated from the interface's
// signatures, forwarding each message to the current incarnation. Internal:
// supervisor.cpp instantiates it for the orchestrator's components, tests
// for theirs.
#pragma once

#include <deque>
#include <memory>

#include "caf/all.hpp"

#include "actors/supervisor.hpp"
#include "runtime/core/log.hpp"

namespace orch::supervision {

template <class Handle>
struct front_state {
  front_state() = default;
  Handle inner;
  std::function<Handle()> factory;
  std::function<void(const Handle&)> on_restart;
  restart_policy policy;
  std::deque<std::chrono::steady_clock::time_point> restarts;
  std::string component;
  // The current incarnation, for the front's own end (when its state is gone).
  std::shared_ptr<caf::actor> current = std::make_shared<caf::actor>();
  static inline const char* name = "supervisor";
};

/// One handler per signature of the interface: requests are delegated (the
/// incarnation answers the requester directly), other messages passed on.
template <class Sig>
struct forwarder;

template <class... In, class... Out>
struct forwarder<caf::typed_mpi<caf::detail::type_list<In...>, caf::output_tuple<Out...>>> {
  template <class Self>
  static auto make(Self self) {
    return [self](In... xs) -> caf::delegated<Out...> {
      return self->delegate(self->state.inner, std::move(xs)...);
    };
  }
};

template <class... In>
struct forwarder<caf::typed_mpi<caf::detail::type_list<In...>, caf::output_tuple<void>>> {
  template <class Self>
  static auto make(Self self) {
    return [self](In... xs) { self->send(self->state.inner, std::move(xs)...); };
  }
};

template <class Handle>
struct front;

template <class... Sigs>
struct front<caf::typed_actor<Sigs...>> {
  using handle = caf::typed_actor<Sigs...>;
  using impl = typename handle::template extend_with<supervisor_control_actor>;
  using pointer = typename impl::template stateful_pointer<front_state<handle>>;

  /// Monitored, not linked: in CAF 0.17 a linked actor that is killed
  /// (exit_reason::kill, as a crash is simulated) kills its links too, past
  /// any exit handler. The incarnation ends with the front instead through
  /// the front's on-exit callback (behavior()).
  static void start_inner(pointer self) {
    self->state.inner = self->state.factory();
    *self->state.current = caf::actor_cast<caf::actor>(self->state.inner);
    self->monitor(self->state.inner);
  }

  /// The incarnation died: a new one, unless they die too often.
  static void on_inner_exit(pointer self, const caf::error& reason) {
    auto& st = self->state;
    auto now = std::chrono::steady_clock::now();
    while (!st.restarts.empty() && now - st.restarts.front() > st.policy.period)
      st.restarts.pop_front();
    if (static_cast<int>(st.restarts.size()) >= st.policy.max_restarts) {
      log_error("supervisor", "the " + st.component + " stopped again ("
                                + caf::to_string(reason) + "), "
                                + std::to_string(st.restarts.size() + 1) + " times within "
                                + std::to_string(st.policy.period.count())
                                + " s: giving up on it");
      self->quit(reason ? reason : caf::error{caf::exit_reason::unknown});
      return;
    }
    st.restarts.push_back(now);
    log_warn("supervisor",
             "the " + st.component + " stopped (" + caf::to_string(reason) + "); restarting it");
    start_inner(self);
    if (st.on_restart)
      st.on_restart(st.inner);
  }

  static typename impl::behavior_type behavior(pointer self) {
    self->set_down_handler([self](caf::down_msg& dm) {
      if (dm.source == self->state.inner.address())
        on_inner_exit(self, dm.reason);
    });
    self->attach_functor([current = self->state.current] {
      if (*current)
        caf::anon_send_exit(*current, caf::exit_reason::user_shutdown);
    });
    start_inner(self);
    return {
      forwarder<Sigs>::make(self)...,
      [self](fail_atom) {
        caf::anon_send_exit(self->state.inner, caf::exit_reason::kill);
      },
    };
  }
};

} // namespace orch::supervision

namespace orch {

template <class Handle>
supervised<Handle> supervise(caf::actor_system& sys, std::string name,
                             std::function<Handle()> factory, restart_policy policy,
                             std::function<void(const Handle&)> on_restart) {
  using front = supervision::front<Handle>;
  auto f = sys.spawn([=](typename front::pointer self) {
    auto& st = self->state;
    st.factory = factory;
    st.on_restart = on_restart;
    st.policy = policy;
    st.component = name;
    return front::behavior(self);
  });
  return {Handle{f}, supervisor_control_actor{f}};
}

} // namespace orch
