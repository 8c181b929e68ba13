#include "actors/executor.hpp"

#include <csignal>
#include <thread>

#include "caf/all.hpp"

#include "runtime/platform/process/child_process.hpp"
#include "runtime/core/log.hpp"

namespace orch {

namespace {

/// Between SIGTERM and SIGKILL: time for a task to clean up when it is
/// cancelled or times out.
constexpr auto kill_grace = std::chrono::seconds(2);

struct executor_state {
  std::shared_ptr<child_process> process;
  exec_listener_actor listener;
  bool timed_out = false;
  bool cancelled = false;
  bool term_sent = false;
  static inline const char* name = "executor";
};

executor_actor::behavior_type executor_fn(executor_actor::stateful_pointer<executor_state> self,
                                          exec_spec spec, exec_listener_actor listener) {
  auto& st = self->state;
  st.listener = listener;
  std::string error;
  st.process = child_process::start(spec, error);
  if (!st.process) {
    exec_result r;
    r.task_id = spec.task_id;
    r.attempt = spec.attempt;
    r.started = false;
    r.error = error;
    r.started_at = r.finished_at = now_us();
    self->send(listener, done_atom_v, std::move(r));
    self->quit();
    return {
      [](cancel_atom) {},
      [](timeout_atom) {},
      [](done_atom, exec_result&) {},
    };
  }
  // The waiting thread holds a handle to us, so we live until it reports.
  std::thread([proc = st.process, me = caf::actor_cast<executor_actor>(self)] {
    auto result = proc->wait();
    caf::anon_send(me, done_atom_v, std::move(result));
  }).detach();
  if (spec.timeout_s > 0)
    self->delayed_send(self, std::chrono::seconds(spec.timeout_s), timeout_atom_v);
  // First call: SIGTERM and arm the SIGKILL; later calls: SIGKILL.
  auto stop = [self] {
    auto& s = self->state;
    if (!s.term_sent) {
      s.term_sent = true;
      s.process->signal_group(SIGTERM);
      self->delayed_send(self, kill_grace, timeout_atom_v);
    } else {
      s.process->signal_group(SIGKILL);
    }
  };
  return {
    [=](cancel_atom) {
      self->state.cancelled = true;
      stop();
    },
    [=](timeout_atom) {
      if (!self->state.cancelled)
        self->state.timed_out = true;
      stop();
    },
    [=](done_atom, exec_result& r) {
      r.timed_out = self->state.timed_out;
      r.cancelled = self->state.cancelled;
      self->send(self->state.listener, done_atom_v, std::move(r));
      self->state.process.reset();
      self->quit();
    },
  };
}

} // namespace

executor_actor spawn_executor(caf::actor_system& sys, exec_spec spec,
                              exec_listener_actor listener) {
  return sys.spawn([=](executor_actor::stateful_pointer<executor_state> self) {
    return executor_fn(self, spec, listener);
  });
}

} // namespace orch
