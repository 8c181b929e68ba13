#include "actors/remote_attempt.hpp"

#include "caf/all.hpp"

#include "runtime/messages/guarded.hpp"

namespace orch {

namespace {

struct remote_attempt_state {
  remote_attempt_state() = default;  // not an aggregate (see the metrics actor's state)
  bool reported = false;
  static inline const char* name = "remote attempt";
};

using remote_attempt_ptr = remote_attempt_actor::stateful_pointer<remote_attempt_state>;

} // namespace

exec_result lost_on_node(const std::string& task_id, uint32_t attempt,
                         const std::string& node_name, const std::string& why,
                         live_output* live) {
  exec_result r;
  r.task_id = task_id;
  r.attempt = attempt;
  r.started = true;  // it may have: the node took it
  r.error = "worker node '" + node_name + "' was lost while it ran the attempt (" + why + ")";
  r.started_at = r.finished_at = now_us();
  if (live) {
    r.output = live->text(output_stream::out);
    r.error_output = live->text(output_stream::err);
  }
  return r;
}

executor_actor spawn_remote_attempt(caf::actor_system& sys, node_session_actor session,
                                    std::string node_name, node_attempt attempt,
                                    exec_listener_actor listener,
                                    std::shared_ptr<live_output> live) {
  auto impl = sys.spawn([=](remote_attempt_ptr self) -> remote_attempt_actor::behavior_type {
    // One report, then the end: the result, or the loss of the session.
    auto report = [=](exec_result r) {
      if (self->state.reported)
        return;
      self->state.reported = true;
      if (live)
        live->finish();  // its followers read the stored output from here
      self->send(listener, done_atom_v, std::move(r));
      self->quit();
    };
    self->monitor(session);
    self->set_down_handler([=](caf::down_msg& dm) {
      report(lost_on_node(attempt.spec.task_id, attempt.spec.attempt, node_name,
                          "its session ended: " + caf::to_string(dm.reason), live.get()));
    });
    self->send(session, run_atom_v, attempt, remote_attempt_actor{self}, output_tap{live});
    return {
      guarded("remote attempt",
              [=](cancel_atom) { self->send(session, cancel_atom_v, attempt.attempt_id); }),
      guarded("remote attempt", [=](done_atom, exec_result& r) { report(std::move(r)); }),
    };
  });
  return caf::actor_cast<executor_actor>(impl);
}

} // namespace orch
