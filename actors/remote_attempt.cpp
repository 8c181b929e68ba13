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

using remote_attempt_ptr = executor_actor::stateful_pointer<remote_attempt_state>;

} // namespace

exec_result lost_on_node(const exec_spec& spec, const std::string& node_name,
                         const std::string& why) {
  exec_result r;
  r.task_id = spec.task_id;
  r.attempt = spec.attempt;
  r.started = true;  // it may have: the node took it
  r.error = "worker node '" + node_name + "' was lost while it ran the attempt (" + why + ")";
  r.started_at = r.finished_at = now_us();
  return r;
}

executor_actor spawn_remote_attempt(caf::actor_system& sys, node_worker_actor node,
                                    std::string node_name, node_attempt attempt,
                                    exec_listener_actor listener) {
  return sys.spawn([=](remote_attempt_ptr self) -> executor_actor::behavior_type {
    // One report, then the end: whichever comes first of the node's answer,
    // its loss, or a failed request.
    auto report = [=](exec_result r) {
      if (self->state.reported)
        return;
      self->state.reported = true;
      self->send(listener, done_atom_v, std::move(r));
      self->quit();
    };
    self->monitor(node);
    self->set_down_handler([=](caf::down_msg& dm) {
      report(lost_on_node(attempt.spec, node_name, caf::to_string(dm.reason)));
    });
    // No timeout of its own: the task's timeout is enforced on the node, and
    // a node that stops answering is dropped by the middleman's heartbeats
    // (the down handler above).
    self->request(node, caf::infinite, run_atom_v, attempt)
      .then([=](exec_result& r) { report(std::move(r)); },
            [=](caf::error& e) { report(lost_on_node(attempt.spec, node_name, error_text(e))); });
    return {
      guarded("remote attempt",
              [=](cancel_atom) { self->send(node, cancel_atom_v, attempt.attempt_id); }),
    };
  });
}

} // namespace orch
