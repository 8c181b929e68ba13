// The scheduler's API: submissions, cancellations and retries. Each reads
// what it needs, decides with a transition (runtime/core/transitions.hpp)
// and commits one write batch; a write that lost a race with another writer
// (a conflict) is decided again from what is stored now.
#include "caf/all.hpp"

#include "actors/scheduler_impl.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/messages/guarded.hpp"

namespace orch {

namespace {

constexpr int max_conflict_retries = 5;

} // namespace

void scheduler_impl::submit(task t, std::string principal, task_promise rp) {
  if (t.id.empty())
    t.id = new_uuid_v4();
  t.owner = principal;
  auto deps = t.dependencies;
  fetch_tasks(deps, [=, this](std::map<std::string, task> found, caf::error failure) mutable {
    if (failure) {
      rp.deliver(failure);
      return;
    }
    for (auto& d : deps)
      if (!found.count(d)) {
        rp.deliver(make_error(errc::invalid, "dependency " + d + " does not exist (submit it first)"));
        return;
      }
    std::string reason;
    auto state = evaluate_dependencies(t, found, reason);
    auto initial = state == dependency_state::ready     ? task_status::queued
                   : state == dependency_state::waiting ? task_status::pending
                                                        : task_status::failed;
    auto tr = submit_transition(t, initial, reason, ctx(principal));
    request(storage_, cfg_.storage_timeout, commit_atom_v, tr.batch)
      .then(guarded("scheduler",
                    [=, this](uint64_t) mutable {
                      count("orchestrator_tasks_submitted_total");
                      publish(tr.events);
                      if (t.status == task_status::queued)
                        fill();
                      else if (t.status == task_status::pending)
                        // A dependency may have finished between our read and our write.
                        check_pending(t);
                      else
                        resolve_dependants(t.id);
                      rp.deliver(t);
                    }),
            [=](caf::error& e) mutable {
              if (error_code(e) == errc::conflict)
                rp.deliver(make_error(errc::conflict, "a task with id " + t.id + " already exists"));
              else
                rp.deliver(e);
            });
  });
}

void scheduler_impl::with_task(const std::string& id, task_promise rp,
                               std::function<void(task)> then) {
  request(storage_, cfg_.storage_timeout, caf::get_atom_v, record_kind::task, id)
    .then(guarded("scheduler",
                  [=](const record& r) mutable {
                    task t;
                    if (auto decoded = decode(r.json, t); !decoded)
                      rp.deliver(make_error(errc::corrupted,
                                            "task " + id + " is unreadable: " + decoded.message()));
                    else
                      then(std::move(t));
                  }),
          [=](caf::error& e) mutable { rp.deliver(e); });
}

void scheduler_impl::cancel(std::string id, std::string principal, task_promise rp, int attempt) {
  with_task(id, rp, [=, this](task t) mutable {
    if (is_terminal(t.status)) {
      rp.deliver(make_error(errc::conflict, "task " + id + " is already " + to_string(t.status)
                                              + "; only Pending, Queued or Running tasks can be "
                                                "cancelled"));
      return;
    }
    auto tr = cancel_transition(t, ctx(principal));
    request(storage_, cfg_.storage_timeout, commit_atom_v, tr.batch)
      .then(guarded("scheduler",
                    [=, this](uint64_t) mutable {
                      if (auto i = running_.find(id); i != running_.end()) {
                        i->second.cancelled = true;
                        send(i->second.executor, cancel_atom_v);
                      }
                      count("orchestrator_tasks_finished_total", "status=\"Cancelled\"");
                      publish(tr.events);
                      resolve_dependants(id);
                      rp.deliver(t);
                    }),
            [=, this](caf::error& e) mutable {
              if (error_code(e) == errc::conflict && attempt < max_conflict_retries)
                cancel(id, principal, rp, attempt + 1);  // it changed meanwhile: look again
              else
                rp.deliver(e);
            });
  });
}

void scheduler_impl::retry(std::string id, std::string principal, task_promise rp, int attempt) {
  with_task(id, rp, [=, this](task t) mutable {
    if (t.status != task_status::failed && t.status != task_status::cancelled) {
      rp.deliver(make_error(errc::conflict, "task " + id + " is " + to_string(t.status)
                                              + "; only Failed or Cancelled tasks can be retried"));
      return;
    }
    auto tr = retry_transition(t, ctx(principal));
    request(storage_, cfg_.storage_timeout, commit_atom_v, tr.batch)
      .then(guarded("scheduler",
                    [=, this](uint64_t) mutable {
                      publish(tr.events);
                      if (t.status == task_status::pending)
                        check_pending(t);
                      else
                        fill();
                      rp.deliver(t);
                    }),
            [=, this](caf::error& e) mutable {
              if (error_code(e) == errc::conflict && attempt < max_conflict_retries)
                retry(id, principal, rp, attempt + 1);
              else
                rp.deliver(e);
            });
  });
}

} // namespace orch
