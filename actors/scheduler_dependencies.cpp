// Dependencies: a Pending task is queued once all its dependencies have
// completed, and fails once one of them failed or was cancelled. A task that
// ends looks at its dependants (the storage's dependency index finds them);
// a periodic look at every Pending task catches what a race or a crash
// between two writes left undecided.
#include <memory>

#include "caf/all.hpp"

#include "actors/scheduler_impl.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/log.hpp"
#include "runtime/messages/guarded.hpp"

namespace orch {

namespace {

constexpr uint32_t dependants_page = 1000;

} // namespace

dependency_state evaluate_dependencies(const task& t, const std::map<std::string, task>& deps,
                                       std::string& reason) {
  bool waiting = false;
  for (auto& id : t.dependencies) {
    auto i = deps.find(id);
    if (i == deps.end()) {
      reason = "dependency " + id + " does not exist";
      return dependency_state::failed;
    }
    auto s = i->second.status;
    if (s == task_status::failed || s == task_status::cancelled) {
      reason = "dependency " + id + " is " + to_string(s);
      return dependency_state::failed;
    }
    if (s != task_status::completed)
      waiting = true;
  }
  return waiting ? dependency_state::waiting : dependency_state::ready;
}

/// Reads several tasks; `done` gets those found (missing ids are absent).
void scheduler_impl::fetch_tasks(const std::vector<std::string>& ids, found_tasks done) {
  struct gather {
    size_t left;
    std::map<std::string, task> found;
    caf::error failure;
    found_tasks done;
  };
  if (ids.empty()) {
    done({}, {});
    return;
  }
  auto g = std::make_shared<gather>(gather{ids.size(), {}, {}, std::move(done)});
  auto finish_one = [g] {
    if (--g->left == 0)
      g->done(std::move(g->found), std::move(g->failure));
  };
  for (auto& id : ids)
    request(storage_, cfg_.storage_timeout, caf::get_atom_v, record_kind::task, id)
      .then(guarded("scheduler",
                    [=](const record& r) {
                      task t;
                      if (decode(r.json, t))
                        g->found.emplace(t.id, std::move(t));
                      finish_one();
                    }),
            [=](caf::error& e) {
              if (error_code(e) != errc::not_found && !g->failure)
                g->failure = e;
              finish_one();
            });
}

/// A Pending task: queue it if its dependencies all completed, fail it if
/// one of them failed or was cancelled, leave it otherwise.
void scheduler_impl::check_pending(const task& t) {
  fetch_tasks(t.dependencies, [=, this](std::map<std::string, task> found, caf::error failure) {
    if (failure)
      return;
    std::string reason;
    auto state = evaluate_dependencies(t, found, reason);
    if (state == dependency_state::waiting)
      return;
    auto copy = t;
    auto tr = dependency_transition(copy, state == dependency_state::ready, reason,
                                    ctx(self_principal()));
    request(storage_, cfg_.storage_timeout, commit_atom_v, tr.batch)
      .then(guarded("scheduler",
                    [=, this](uint64_t) {
                      if (copy.status == task_status::queued) {
                        fill();
                      } else {
                        count("orchestrator_tasks_finished_total", "status=\"Failed\"");
                        resolve_dependants(copy.id);
                      }
                    }),
            [](caf::error&) {
              // Changed meanwhile (another instance decided): nothing to do.
            });
  });
}

/// A task reached a terminal state: look at the Pending tasks that depend on it.
void scheduler_impl::resolve_dependants(const std::string& id) {
  check_pending_where("dependencies", id, "the dependants of " + id);
}

/// Safety net for races (two dependencies finishing on two instances at
/// once, a crash between writes): look at every Pending task now and then.
void scheduler_impl::check_pending_tasks() {
  check_pending_where("status", to_string(task_status::pending), "the Pending tasks");
}

/// check_pending() for each Pending task (a page of them) whose `field` holds
/// `value`. A failed lookup (storage unreachable for a moment) is logged and
/// followed by a look at every Pending task a second later, and again until
/// one succeeds: dependants do not wait for the periodic check.
void scheduler_impl::check_pending_where(const std::string& field, const std::string& value,
                                         const std::string& what) {
  record_query q;
  q.kind = record_kind::task;
  q.field = field;
  q.value = value;
  q.limit = dependants_page;
  request(storage_, cfg_.storage_timeout, query_atom_v, q)
    .then(guarded("scheduler",
                  [this](const record_page& page) {
                    for (auto& r : page.items) {
                      task d;
                      if (decode(r.json, d) && d.status == task_status::pending)
                        check_pending(d);
                    }
                  }),
          [this, what](caf::error& e) {
            log_warn("scheduler", "looking up " + what + " failed: " + error_text(e));
            if (!pending_recheck_) {
              pending_recheck_ = true;
              delayed_send(this, std::chrono::seconds(1), pending_check_atom_v, true);
            }
          });
}

} // namespace orch
