// Dependencies: a Pending task is queued once all its dependencies have
// completed, and fails once one of them failed or was cancelled - or, with
// on_dependency_failure "run", is queued once all of them ended.
//
// Event-driven, with no periodic look at Pending tasks: a task that ends
// looks up its dependants (the storage's dependency index finds them, a page
// at a time) and checks each. A check reads the dependant's dependencies in
// order from the first not yet known to be done (Completed is final; a
// failure that a retry undoes meanwhile is not looked at again),
// a chunk at a time, and stops at the first that is still to run, so a task
// after 10,000 others reads each of them about once in all rather than all
// of them at each one's end. A lookup or commit that fails for a reason
// other than a conflict is retried a second later, for that task alone.
// What no message can carry - this process killed between storing a task's
// end and looking up its dependants - is caught by one look at every Pending
// task when the scheduler starts.
#include <algorithm>
#include <memory>

#include "caf/all.hpp"

#include "actors/scheduler_impl.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/log.hpp"
#include "runtime/core/output_refs.hpp"
#include "runtime/messages/guarded.hpp"

namespace orch {

namespace {

constexpr uint32_t dependants_page = 1000;
/// Dependencies read at once by one check.
constexpr size_t dependency_chunk = 64;
/// The start-up look reads Pending tasks in pages, from the newest back, each
/// page overlapping the next so that a few tasks put back into Pending
/// meanwhile cannot push one out of sight.
constexpr uint32_t sweep_page = 2000;
constexpr uint32_t sweep_overlap = 200;
constexpr auto recheck_delay = std::chrono::seconds(1);

/// What one dependency, as found, means for `t`: "" while it is fine or
/// still to run, else why `t` fails.
std::string failure_from(const task& t, const std::string& id, const task* dep) {
  if (!dep)
    return "dependency " + id + " does not exist";
  if (ended_badly(dep->status) && !runs_after_failure(t))
    return "dependency " + id + " is " + to_string(dep->status);
  return {};
}

/// Whether a dependency, as found, no longer holds `t` back.
bool dependency_done(const task& t, const task& dep) {
  return dep.status == task_status::completed
         || (runs_after_failure(t) && is_terminal(dep.status));
}

} // namespace

dependency_state evaluate_dependencies(const task& t, const std::map<std::string, task>& deps,
                                       std::string& reason) {
  bool waiting = false;
  for (auto& id : t.dependencies) {
    auto i = deps.find(id);
    reason = failure_from(t, id, i == deps.end() ? nullptr : &i->second);
    if (!reason.empty())
      return dependency_state::failed;
    if (!dependency_done(t, i->second))
      waiting = true;
  }
  return waiting ? dependency_state::waiting : dependency_state::ready;
}

std::string unresolved_output_reference(const task& t, const std::map<std::string, task>& deps) {
  if (auto why = misplaced_reference_problem(t); !why.empty())
    return why;
  std::set<std::string> names;
  for (auto& id : t.dependencies)
    if (auto i = deps.find(id); i != deps.end())
      names.merge(reference_names(t, i->second));
  for (auto& key : output_references(t))
    if (!names.count(key))
      return "{{tasks." + key + ".output}} names no dependency of this task (a dependency's id, "
             "or in a workflow the key of a node it comes after)";
  return {};
}

std::string fill_outputs(task& t, const std::map<std::string, task>& deps) {
  if (output_references(t).empty())
    return {};
  std::map<std::string, std::string> outputs;
  for (auto& id : t.dependencies)
    if (auto i = deps.find(id); i != deps.end())
      for (auto& name : reference_names(t, i->second))
        outputs[name] = i->second.output;
  auto filled = substitute_outputs(t, outputs);
  return filled ? std::string{} : filled.message();
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

/// A Pending task: queue it once its dependencies all completed, fail it
/// once one of them failed, was cancelled or does not exist, leave it
/// otherwise. `ended`: the dependency whose end prompted the look, read
/// first so that its failure is seen at once.
void scheduler_impl::check_pending(const task& t, const std::string& ended) {
  auto from = dependency_cursors_[t.id];
  std::vector<std::string> ids;
  if (!ended.empty())
    ids.push_back(ended);
  for (size_t i = from; i < t.dependencies.size() && ids.size() < dependency_chunk; ++i)
    if (t.dependencies[i] != ended)
      ids.push_back(t.dependencies[i]);
  fetch_tasks(ids, [=, this](std::map<std::string, task> found, caf::error failure) {
    if (failure) {
      recheck_later(t.id, {});
      return;
    }
    for (auto& id : ids) {
      auto i = found.find(id);
      if (auto why = failure_from(t, id, i == found.end() ? nullptr : &i->second); !why.empty())
        return decide_pending(t, false, why);
    }
    // Another check of this task may have moved the cursor meanwhile.
    auto cursor = std::max(from, dependency_cursors_[t.id]);
    while (cursor < t.dependencies.size()) {
      auto i = found.find(t.dependencies[cursor]);
      if (i == found.end())
        break;                               // not in this chunk: read it next
      if (!dependency_done(t, i->second)) {
        dependency_cursors_[t.id] = cursor;
        return;                              // still to run: its end will look again
      }
      ++cursor;
    }
    dependency_cursors_[t.id] = cursor;
    if (cursor == t.dependencies.size())
      decide_pending(t, true, {});
    else
      check_pending(t, {});                  // the next chunk
  });
}

/// check_pending() of a task record as read, if it is (still) Pending.
void scheduler_impl::check_if_pending(const record& r, const std::string& ended) {
  task t;
  if (decode(r.json, t) && t.status == task_status::pending)
    check_pending(t, ended);
}

/// A Pending task's release (Queued) or failure. A release fills in the
/// outputs its args and env name, reading its dependencies once more.
void scheduler_impl::decide_pending(const task& t, bool ready, const std::string& reason) {
  if (!ready || output_references(t).empty())
    return store_decision(t, ready, reason);
  fetch_tasks(t.dependencies, [=, this](std::map<std::string, task> found, caf::error failure) {
    if (failure)
      return recheck_later(t.id, {});
    auto filled = t;
    auto why = fill_outputs(filled, found);
    store_decision(filled, why.empty(), why);
  });
}

/// Stores a Pending task's release or failure, under its revision.
void scheduler_impl::store_decision(const task& t, bool ready, const std::string& reason) {
  auto copy = t;
  auto tr = dependency_transition(copy, ready, reason, ctx(self_principal()));
  request(storage_, cfg_.storage_timeout, commit_atom_v, tr.batch)
    .then(guarded("scheduler",
                  [=, this](uint64_t) {
                    dependency_cursors_.erase(copy.id);
                    if (copy.status == task_status::queued) {
                      fill();
                    } else {
                      count("orchestrator_tasks_finished_total", "status=\"Failed\"");
                      resolve_dependants(copy.id);
                    }
                  }),
          [=, this](caf::error& e) {
            if (error_code(e) == errc::conflict) {
              // Changed meanwhile (released, cancelled, or decided by another
              // instance): whatever changed it looks after it.
              dependency_cursors_.erase(copy.id);
              return;
            }
            log_warn("scheduler", "storing the release of task " + copy.id + " failed: "
                                    + error_text(e) + "; looking again in a second");
            recheck_later(copy.id, {});
          });
}

/// A task reached a terminal state: check each Pending task that depends on
/// it, a page of dependants at a time. Dependants only ever join the end of
/// the list (they are newer than what they depend on), so offsets are stable.
void scheduler_impl::resolve_dependants(const std::string& id, uint64_t offset) {
  record_query q;
  q.kind = record_kind::task;
  q.field = "dependencies";
  q.value = id;
  q.limit = dependants_page;
  q.offset = offset;
  request(storage_, cfg_.storage_timeout, query_atom_v, q)
    .then(guarded("scheduler",
                  [=, this](const record_page& page) {
                    for (auto& r : page.items)
                      check_if_pending(r, id);
                    if (page.items.size() == dependants_page)
                      resolve_dependants(id, offset + dependants_page);
                  }),
          [=, this](caf::error& e) {
            log_warn("scheduler", "looking up the dependants of " + id + " failed: "
                                    + error_text(e) + "; looking again in a second");
            recheck_later({}, id);
          });
}

/// The start-up look at every Pending task. The pages are read from the end
/// of the list back to its start: a task that leaves Pending meanwhile moves
/// only the pages already read, and new tasks join the end.
void scheduler_impl::sweep_pending(uint64_t end) {
  record_query q;
  q.kind = record_kind::task;
  q.field = "status";
  q.value = to_string(task_status::pending);
  if (end == UINT64_MAX) {
    q.limit = 1;                             // the count
  } else {
    q.offset = end > sweep_page ? end - sweep_page : 0;
    q.limit = static_cast<uint32_t>(end - q.offset);
  }
  request(storage_, cfg_.storage_timeout, query_atom_v, q)
    .then(guarded("scheduler",
                  [=, this](const record_page& page) {
                    if (end == UINT64_MAX) {
                      if (page.total > 0)
                        sweep_pending(page.total);
                      return;
                    }
                    for (auto& r : page.items)
                      check_if_pending(r, {});
                    if (q.offset > 0)
                      sweep_pending(q.offset + sweep_overlap);
                  }),
          [=, this](caf::error& e) {
            log_warn("scheduler", "looking at the Pending tasks failed: " + error_text(e)
                                    + "; looking again in a second");
            delayed_send(this, recheck_delay, pending_check_atom_v);
          });
}

/// Looks again, in a second, at one Pending task (`task_id`) or at the
/// dependants of one task (`ended`) after a lookup or commit failed.
void scheduler_impl::recheck_later(const std::string& task_id, const std::string& ended) {
  if (!task_id.empty())
    recheck_tasks_.insert(task_id);
  if (!ended.empty())
    recheck_dependants_.insert(ended);
  if (!recheck_armed_) {
    recheck_armed_ = true;
    delayed_send(this, recheck_delay, pending_check_atom_v, true);
  }
}

void scheduler_impl::recheck_now() {
  recheck_armed_ = false;
  auto tasks = std::exchange(recheck_tasks_, {});
  auto ended = std::exchange(recheck_dependants_, {});
  for (auto& id : ended)
    resolve_dependants(id);
  for (auto& id : tasks)
    request(storage_, cfg_.storage_timeout, caf::get_atom_v, record_kind::task, id)
      .then(guarded("scheduler",
                    [this](const record& r) { check_if_pending(r, {}); }),
            [=, this](caf::error& e) {
              if (error_code(e) != errc::not_found)
                recheck_later(id, {});
            });
}

} // namespace orch
