#include "actors/executor.hpp"

#include <csignal>
#include <mutex>
#include <thread>

#include "caf/all.hpp"

#include "runtime/core/clock.hpp"
#include "runtime/core/log.hpp"
#include "runtime/messages/guarded.hpp"
#include "runtime/platform/process/child_process.hpp"

namespace orch {

using child_handle = std::shared_ptr<child_process>;

} // namespace orch

// Only ever sent from an executor's own thread to the executor.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(orch::child_handle)

namespace orch {

namespace {

/// Between SIGTERM and SIGKILL: time for a task to clean up when it is
/// cancelled or times out.
constexpr auto kill_grace = std::chrono::seconds(2);

// What the executor's own thread and timers tell it.
using executor_impl_actor = executor_actor::extend<
  caf::reacts_to<started_atom, child_handle>,  // the process runs
  caf::reacts_to<done_atom, exec_result>,      // ... and ended (or never started)
  caf::reacts_to<deadline_atom>,               // the task's timeout
  caf::reacts_to<grace_over_atom>>;            // SIGTERM was not enough

/// The process of an attempt, as the executor and its thread both see it:
/// the thread puts it here when it has started; whoever comes second - the
/// thread with a process, or an executor that ends - kills it. So an
/// executor that dies (it failed, or was stopped from outside) takes its
/// process group with it, whenever that happens.
class process_slot {
public:
  /// The thread's: false if the executor is gone already (the process is
  /// killed then).
  bool fill(const child_handle& p) {
    std::lock_guard<std::mutex> g{m_};
    if (closed_) {
      p->signal_group(SIGKILL);
      return false;
    }
    process_ = p;
    return true;
  }
  /// The executor's, as it ends: a process still there is killed.
  void close() {
    std::lock_guard<std::mutex> g{m_};
    closed_ = true;
    if (process_)
      process_->signal_group(SIGKILL);
    process_.reset();
  }
  /// The process ended normally: nothing to kill any more.
  void empty() {
    std::lock_guard<std::mutex> g{m_};
    process_.reset();
  }

private:
  std::mutex m_;
  child_handle process_;
  bool closed_ = false;
};

struct executor_state {
  child_handle process;
  std::shared_ptr<process_slot> slot = std::make_shared<process_slot>();
  exec_listener_actor listener;
  bool timed_out = false;
  bool cancelled = false;
  bool term_sent = false;
  static inline const char* name = "executor";
};

using executor_ptr = executor_impl_actor::stateful_pointer<executor_state>;

/// The result of an attempt of `spec` that ends as soon as it begins.
exec_result ended_at_once(const exec_spec& spec) {
  exec_result r;
  r.task_id = spec.task_id;
  r.attempt = spec.attempt;
  r.started_at = r.finished_at = now_us();
  return r;
}

exec_result start_failure(const exec_spec& spec, const std::string& why) {
  auto r = ended_at_once(spec);
  r.started = false;
  r.error = why;
  return r;
}

/// Starts the process and waits for it on a thread of its own. The thread
/// holds a handle to the executor, so it lives until the thread reports.
void run_on_own_thread(executor_ptr self, const exec_spec& spec,
                       std::shared_ptr<live_output> live) {
  executor_impl_actor me{self};
  auto slot = self->state.slot;
  try {
    std::thread([me, spec, slot, live] {
      auto started = child_process::start(spec);
      if (!started) {
        if (live)
          live->finish();
        caf::anon_send(me, done_atom_v, start_failure(spec, started.message()));
        return;
      }
      auto process = std::move(*started);
      if (slot->fill(process))
        caf::anon_send(me, started_atom_v, process);
      auto result = process->wait(live.get());
      slot->empty();
      caf::anon_send(me, done_atom_v, std::move(result));
    }).detach();
  } catch (const std::exception& e) {  // no thread to be had
    if (live)
      live->finish();
    self->send(me, done_atom_v,
               start_failure(spec, std::string{"cannot start a thread for it: "} + e.what()));
  }
}

/// First call: SIGTERM and arm the SIGKILL; later calls: SIGKILL. Before the
/// process has started, it is stopped as soon as it has.
void stop(executor_ptr self) {
  auto& s = self->state;
  if (!s.process)
    return;
  if (!s.term_sent) {
    s.term_sent = true;
    s.process->signal_group(SIGTERM);
    self->delayed_send(self, kill_grace, grace_over_atom_v);
  } else {
    s.process->signal_group(SIGKILL);
  }
}

executor_impl_actor::behavior_type executor_fn(executor_ptr self, exec_spec spec,
                                               exec_listener_actor listener,
                                               std::shared_ptr<live_output> live) {
  self->state.listener = std::move(listener);
  // However it ends, what still runs of its process goes with it.
  self->attach_functor([slot = self->state.slot] { slot->close(); });
  run_on_own_thread(self, spec, std::move(live));
  if (spec.timeout_s > 0)
    self->delayed_send(self, std::chrono::seconds(spec.timeout_s), deadline_atom_v);
  return {
    guarded("executor",
            [=](cancel_atom) {
              self->state.cancelled = true;
              stop(self);
            }),
    guarded("executor",
            [=](started_atom, child_handle& process) {
              auto& s = self->state;
              s.process = std::move(process);
              if (s.cancelled || s.timed_out)
                stop(self);
            }),
    guarded("executor",
            [=](deadline_atom) {
              if (!self->state.cancelled)
                self->state.timed_out = true;
              stop(self);
            }),
    guarded("executor", [=](grace_over_atom) { stop(self); }),
    guarded("executor",
            [=](done_atom, exec_result& r) {
              r.timed_out = self->state.timed_out;
              r.cancelled = self->state.cancelled;
              self->send(self->state.listener, done_atom_v, std::move(r));
              self->state.process.reset();
              self->quit();
            }),
  };
}

} // namespace

executor_actor spawn_noop_executor(caf::actor_system& sys, const exec_spec& spec,
                                   exec_listener_actor listener) {
  auto r = ended_at_once(spec);
  r.started = true;
  r.exited = true;  // exit code 0
  return sys.spawn([=](executor_actor::pointer self) -> executor_actor::behavior_type {
    self->send(listener, done_atom_v, r);
    self->quit();
    return {[](cancel_atom) {}};
  });
}

executor_actor spawn_executor(caf::actor_system& sys, exec_spec spec,
                              exec_listener_actor listener, std::shared_ptr<live_output> live) {
  return sys.spawn(
    [=](executor_ptr self) { return executor_fn(self, spec, listener, live); });
}

} // namespace orch
