// The scheduler's API: submissions, cancellations and retries. Each reads
// what it needs, decides with a transition (runtime/core/transitions.hpp)
// and commits one write batch; a write that lost a race with another writer
// (a conflict) is decided again from what is stored now.
#include <set>

#include "caf/all.hpp"

#include "actors/scheduler_impl.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/messages/guarded.hpp"

namespace orch {

namespace {

constexpr int max_conflict_retries = 5;

/// The first of `t`'s dependencies that is not in `found`, or "".
std::string missing_dependency(const task& t, const std::map<std::string, task>& found) {
  for (auto& d : t.dependencies)
    if (!found.count(d))
      return d;
  return {};
}

/// Why `t` cannot be a child of its parent as found: it does not exist, or
/// it has ended (a child outliving the cancel of its parent would run on).
caf::error parent_refusal(const task& t, const std::map<std::string, task>& found) {
  if (t.parent.empty())
    return {};
  auto p = found.find(t.parent);
  if (p == found.end())
    return make_error(errc::invalid, "parent " + t.parent + " does not exist");
  if (is_terminal(p->second.status))
    return make_error(errc::conflict, "parent " + t.parent + " has ended ("
                                        + to_string(p->second.status)
                                        + "): children are submitted while their parent has not");
  return {};
}

/// The tasks a submission reads first: its dependencies and its parent.
std::vector<std::string> lookups_of(const task& t) {
  auto ids = t.dependencies;
  if (!t.parent.empty())
    ids.push_back(t.parent);
  return ids;
}

} // namespace

/// Where a new task starts, given its dependencies as found: Queued when
/// all are Completed, Pending while some are still to run, Failed when one
/// ended without completing.
transition scheduler_impl::new_task_transition(task& t, const std::map<std::string, task>& found,
                                               const actor_context& c) {
  std::string reason;
  auto state = evaluate_dependencies(t, found, reason);
  if (state == dependency_state::ready)
    if (reason = fill_outputs(t, found); !reason.empty())
      state = dependency_state::failed;
  auto initial = state == dependency_state::ready     ? task_status::queued
                 : state == dependency_state::waiting ? task_status::pending
                                                      : task_status::failed;
  return submit_transition(t, initial, reason, c);
}

/// What happens once new tasks are stored: a Queued one may start now, a
/// Pending one may have lost the race with its last dependency finishing.
void scheduler_impl::after_submitted(const std::vector<task>& created) {
  metrics_->count("orchestrator_tasks_submitted_total", {}, static_cast<double>(created.size()));
  // Dependencies inside the same commit cannot have finished before it, and
  // their own completion will find these dependants stored.
  std::set<std::string> stored_together;
  for (auto& t : created)
    stored_together.insert(t.id);
  auto waits_outside = [&](const task& t) {
    for (auto& d : t.dependencies)
      if (!stored_together.count(d))
        return true;
    return false;
  };
  bool queued = false;
  for (auto& t : created) {
    if (!t.parent.empty())
      cancel_if_orphaned(t);
    if (t.status == task_status::queued && t.not_before != 0)
      send(queue_, wake_at_atom_v, t.not_before);  // its run_at
    else if (t.status == task_status::queued)
      queued = true;
    else if (t.status == task_status::pending && waits_outside(t))
      check_pending(t);
    // A task born Failed has no dependants to resolve: nothing may depend
    // on a task before it is stored, and its own batch was decided with it.
  }
  if (queued)
    fill();
}

void scheduler_impl::submit(task t, std::string principal, write_batch with, task_promise rp) {
  if (t.id.empty())
    t.id = new_uuid_v4();
  t.owner = principal;
  fetch_tasks(lookups_of(t), [=, this](std::map<std::string, task> found,
                                        caf::error failure) mutable {
    if (failure) {
      rp.deliver(failure);
      return;
    }
    if (auto d = missing_dependency(t, found); !d.empty()) {
      rp.deliver(make_error(errc::invalid, "dependency " + d + " does not exist (submit it first)"));
      return;
    }
    if (auto why = unresolved_output_reference(t, found); !why.empty())
      return void(rp.deliver(make_error(errc::invalid, why)));
    if (auto refused = parent_refusal(t, found))
      return void(rp.deliver(refused));
    auto tr = new_task_transition(t, found, ctx(principal));
    append(tr.batch, std::move(with));
    request(storage_, cfg_.storage_timeout, commit_atom_v, tr.batch)
      .then(guarded("scheduler",
                    [=, this, asked_at = now_us()](uint64_t) mutable {
                      observe_storage("submit", asked_at);
                      after_submitted({t});
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

void scheduler_impl::submit_batch(std::vector<task> ts, std::string principal, write_batch with,
                                  batch_promise rp) {
  std::set<std::string> inside;
  for (size_t i = 0; i < ts.size(); ++i) {
    if (ts[i].id.empty())
      ts[i].id = new_uuid_v4();
    ts[i].owner = principal;
    if (!inside.insert(ts[i].id).second)
      return void(rp.deliver(make_error(errc::invalid, "tasks[" + std::to_string(i) + "]: id "
                                                         + ts[i].id + " is given twice")));
  }
  std::set<std::string> outside;
  for (auto& t : ts)
    for (auto& d : lookups_of(t))
      if (!inside.count(d))
        outside.insert(d);
  std::vector<std::string> lookups(outside.begin(), outside.end());
  fetch_tasks(lookups, [=, this](std::map<std::string, task> found,
                                 caf::error failure) mutable {
    if (failure)
      return void(rp.deliver(failure));
    // In the batch's order, each task seeing those before it: a dependency
    // on a later one is missing here, so a batch cannot store a cycle.
    auto c = ctx(principal);
    write_batch all;
    for (size_t i = 0; i < ts.size(); ++i) {
      if (auto d = missing_dependency(ts[i], found); !d.empty())
        return void(rp.deliver(make_error(
          errc::invalid, "tasks[" + std::to_string(i) + "]: dependency " + d
                           + " does not exist (submit it first, or earlier in this batch); "
                             "nothing was stored")));
      if (auto why = unresolved_output_reference(ts[i], found); !why.empty())
        return void(rp.deliver(make_error(
          errc::invalid, "tasks[" + std::to_string(i) + "]: " + why + "; nothing was stored")));
      if (auto refused = parent_refusal(ts[i], found))
        return void(rp.deliver(make_error(
          error_code(refused),
          "tasks[" + std::to_string(i) + "]: " + error_text(refused) + "; nothing was stored")));
      auto tr = new_task_transition(ts[i], found, c);
      append(all, std::move(tr.batch));
      found.emplace(ts[i].id, ts[i]);
    }
    append(all, std::move(with));
    request(storage_, cfg_.storage_timeout, commit_atom_v, std::move(all))
      .then(guarded("scheduler",
                    [=, this, asked_at = now_us()](uint64_t) mutable {
                      observe_storage("submit_batch", asked_at);
                      after_submitted(ts);
                      rp.deliver(std::move(ts));
                    }),
            [=](caf::error& e) mutable {
              if (error_code(e) == errc::conflict)
                rp.deliver(make_error(errc::conflict, error_text(e)
                                                        + "; nothing of the batch was stored"));
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
                      resolve_dependants(id);
                      cancel_children(id, principal);
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
