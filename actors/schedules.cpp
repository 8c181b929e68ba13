#include "actors/schedules.hpp"

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "caf/all.hpp"

#include "actors/metric_registry.hpp"
#include "runtime/auth/user_changes.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/event_kinds.hpp"
#include "runtime/core/log.hpp"
#include "runtime/core/schedule_plan.hpp"
#include "runtime/core/task_search.hpp"
#include "runtime/core/workflow_template.hpp"
#include "runtime/messages/guarded.hpp"

namespace orch {

namespace {

constexpr uint32_t scan_page = 500;
/// After a failure that is not a conflict (storage unreachable), the next try.
constexpr micros retry_after = 5 * us_per_second;

struct entry {
  schedule s;
  schedule_clock clock;
  bool held = false;                         // overlap=queue: waits for its last task or workflow
  bool busy = false;                         // a decision is on its way to storage
  bool look_again = false;                   // a task ended while it was busy deciding
  micros retry_at = 0;                       // not before this after a failure
};

struct schedules_state {
  schedules_state() = default;  // not an aggregate (see the metrics actor's state)
  storage_actor storage;
  scheduler_actor scheduler;
  std::shared_ptr<metric_registry> figures;
  schedules_config cfg;
  std::map<std::string, entry> entries;
  uint64_t generation = 0;                   // of the timer armed last
  micros timer_at = 0;                       // when it goes off; 0: none armed
  static inline const char* name = "schedules";
};

using schedules_ptr = schedules_actor::stateful_pointer<schedules_state>;

constexpr const char* firings_metric = "orchestrator_schedule_firings_total";

void count_firing(schedules_ptr self, const char* outcome) {
  self->state.figures->count(firings_metric, std::string{"outcome=\""} + outcome + "\"");
}

/// The entry of the schedule called `name`, or null (deleted meanwhile).
entry* find_entry(schedules_ptr self, const std::string& name) {
  auto it = self->state.entries.find(name);
  return it == self->state.entries.end() ? nullptr : &it->second;
}

std::string principal_of(const schedule& s) {
  return "schedule:" + s.name;
}

audit_record schedule_audit(const schedule& s, const char* action, const std::string& details,
                            micros now, const char* outcome = "ok") {
  return auth::audit_entry({principal_of(s), now}, action, "schedule:" + s.name, outcome, details);
}

/// When an entry next needs a look: its firing, or its retry after a failure.
micros due_at(const entry& e) {
  if (e.s.paused || e.busy || e.held || e.s.next_firing == 0)
    return 0;
  return std::max(e.s.next_firing, e.retry_at);
}

/// One timer, for the earliest entry; a timer armed before is void (its
/// generation is old).
void arm(schedules_ptr self) {
  auto& st = self->state;
  micros earliest = 0;
  for (auto& [name, e] : st.entries)
    if (auto at = due_at(e); at != 0 && (earliest == 0 || at < earliest))
      earliest = at;
  if (earliest == st.timer_at)
    return;
  st.timer_at = earliest;
  ++st.generation;
  if (earliest == 0)
    return;
  auto wait = std::max<micros>(earliest - now_us(), 0);
  self->delayed_send(self, std::chrono::microseconds(wait), fire_due_atom_v, st.generation);
}

/// Something failed that is no conflict (storage unreachable, a timeout):
/// the schedule is looked at again a little later.
void try_later(schedules_ptr self, const std::string& name, const std::string& why) {
  log_warn("schedules", "schedule " + name + ": " + why + "; trying again");
  if (auto* e = find_entry(self, name)) {
    e->busy = false;
    e->retry_at = now_us() + retry_after;
  }
  arm(self);
}

/// Takes the stored schedule in (a newer revision replaces what is held;
/// one whose cron or zone cannot be read is left out and said).
void take_in(schedules_ptr self, const record& r) {
  schedule s;
  if (auto st = decode(r.json, s); !st) {
    log_warn("schedules", "schedule " + r.key + " cannot be read: " + st.message());
    return;
  }
  auto clock = clock_of(s);
  if (!clock) {
    log_warn("schedules", "schedule " + s.name + " does not fire: " + clock.message());
    self->state.entries.erase(s.name);
    return;
  }
  auto& e = self->state.entries[s.name];
  if (e.busy && e.s.revision >= s.revision)
    return;  // its own decision is out; the answer says what it is now
  if (e.s.last_task != s.last_task || e.s.last_workflow != s.last_workflow)
    e.held = false;
  e.s = std::move(s);
  e.clock = std::move(*clock);
}

void evaluate(schedules_ptr self, const std::string& name);

/// Reads the schedule again (after a conflict, or a change through the API).
void reread(schedules_ptr self, const std::string& name) {
  auto& st = self->state;
  self->request(st.storage, st.cfg.storage_timeout, caf::get_atom_v, record_kind::schedule, name)
    .then(guarded("schedules",
                  [=](const record& r) {
                    if (auto* e = find_entry(self, name))
                      e->busy = false;
                    take_in(self, r);
                    evaluate(self, name);
                    arm(self);
                  }),
          guarded("schedules", [=](caf::error& e) {
            if (error_code(e) != errc::not_found)
              return try_later(self, name, "reading it: " + error_text(e));
            self->state.entries.erase(name);
            arm(self);
          }));
}

/// A decision's commit answered: stored (the entry is now `after`); refused
/// because someone changed the schedule or made the firing first (read it
/// again); refused as invalid (`on_invalid`: the firing's task cannot be
/// stored); or failed (try again a little later).
template <class Answer, class Pending, class OnInvalid>
void settle(schedules_ptr self, Pending pending, const std::string& name, schedule after,
            const char* outcome, OnInvalid on_invalid) {
  pending.then(guarded("schedules",
                       [=](const Answer&) {
                         count_firing(self, outcome);
                         if (auto* e = find_entry(self, name)) {
                           e->s = after;
                           e->busy = false;
                           e->held = false;
                           e->retry_at = 0;
                         }
                         arm(self);
                       }),
               guarded("schedules", [=](caf::error& e) {
                 auto code = error_code(e);
                 if (code == errc::conflict) {
                   count_firing(self, "lost");
                   return reread(self, name);
                 }
                 if (code == errc::invalid && on_invalid(error_text(e)))
                   return;
                 try_later(self, name, error_text(e));
               }));
}

/// The schedule once the plan is carried out.
schedule advanced(const schedule& s, const firing_plan& plan, micros now) {
  auto next = s;
  next.next_firing = plan.next;
  next.skipped += plan.passed_over;
  next.updated_at = now;
  ++next.revision;
  return next;
}

/// Passes the plan's firing over: by policy (outcome ok), or because its
/// task cannot be made (outcome failed, the firing counted as skipped).
void commit_skip(schedules_ptr self, const schedule& s, const firing_plan& plan,
                 const std::string& why, bool failed) {
  auto now = now_us();
  auto next = advanced(s, plan, now);
  if (failed)
    next.skipped += 1;
  write_batch b;
  b.expect.push_back(expect_revision(record_kind::schedule, s.name, s.revision));
  put(b, to_record(next));
  put(b, to_record(schedule_audit(s, audit_action::schedule_skip,
                                  "the firing at " + format_rfc3339(plan.firing) + ": " + why, now,
                                  failed ? "failed" : "ok")));
  auto& st = self->state;
  settle<uint64_t>(self, self->request(st.storage, st.cfg.storage_timeout, commit_atom_v, b),
                   s.name, next, failed ? "failed" : "skipped",
                   [](const std::string&) { return false; });
}

/// What a firing's commit says besides the schedule's advance: its audit.
std::string firing_details(const schedule& s, const firing_plan& plan, const std::string& made) {
  std::string details = made + " for the firing at " + format_rfc3339(plan.firing);
  if (plan.passed_over > 0)
    details += "; " + std::to_string(plan.passed_over) + " earlier due firing(s) "
               + (s.catch_up == catch_up_policy::skip ? "passed over (catch_up: skip)"
                                                      : "folded into it (catch_up: once)");
  return details;
}

/// A workflow schedule's firing: the workflow's record (under `absent` on
/// its derived id) and the schedule's advance (under its revision) are
/// committed with the workflow's tasks, all or none.
void make_workflow(schedules_ptr self, entry& e, const firing_plan& plan, micros now) {
  auto& st = self->state;
  auto body = resolve_workflow(e.s.workflow, st.cfg.workflow_templates);
  if (!body)
    return commit_skip(self, e.s, plan, "its workflow cannot be made: " + body.message(), true);
  auto made = firing_workflow(e.s, *body, plan.firing, now);
  if (!made)
    return commit_skip(self, e.s, plan, made.message(), true);
  auto& wf = made->wf;
  auto next = advanced(e.s, plan, now);
  next.last_firing = plan.firing;
  next.last_workflow = wf.id;
  next.last_task.clear();
  ++next.firings;
  auto with = workflow_record_batch(wf);
  with.expect.push_back(expect_revision(record_kind::schedule, e.s.name, e.s.revision));
  put(with, to_record(next));
  put(with, to_record(schedule_audit(
              e.s, audit_action::schedule_fire,
              firing_details(e.s, plan, "workflow " + wf.id + " (" + std::to_string(made->tasks.size())
                                          + " tasks)"),
              now)));
  auto before = e.s;
  auto name = e.s.name;
  settle<std::vector<task>>(
    self,
    self->request(st.scheduler, st.cfg.storage_timeout * 2, submit_atom_v,
                  submit_batch_request{std::move(made->tasks), principal_of(e.s), std::move(with)}),
    name, next, "made", [=](const std::string& why) {
      commit_skip(self, before, plan, "its workflow was refused: " + why, true);
      return true;
    });
}

void decide(schedules_ptr self, const std::string& name, bool previous_running) {
  auto& st = self->state;
  auto* found = find_entry(self, name);
  if (!found)
    return;
  auto& e = *found;
  auto now = now_us();
  auto plan = plan_firing(e.s, e.clock, {now, previous_running, e.held, st.cfg.misfire_grace});
  switch (plan.action) {
    case firing_action::none:
    case firing_action::wait:
      if (plan.action == firing_action::wait && !e.held)
        log_info("schedules", "schedule " + name + " " + plan.reason);
      e.held = plan.action == firing_action::wait;
      e.busy = false;
      if (e.held && std::exchange(e.look_again, false))
        return evaluate(self, name);  // what ended meanwhile may have been the last of it
      return arm(self);
    case firing_action::skip:
      return commit_skip(self, e.s, plan, plan.reason, false);
    case firing_action::make:
      break;
  }
  if (!e.s.workflow.empty())
    return make_workflow(self, e, plan, now);
  auto t = firing_task(e.s, plan.firing);
  if (!t)
    return commit_skip(self, e.s, plan, t.message(), true);
  auto next = advanced(e.s, plan, now);
  next.last_workflow.clear();
  next.last_firing = plan.firing;
  next.last_task = t->id;
  ++next.firings;
  auto details = firing_details(e.s, plan, "task " + t->id);
  write_batch with;
  with.expect.push_back(expect_revision(record_kind::schedule, name, e.s.revision));
  put(with, to_record(next));
  put(with, to_record(schedule_audit(e.s, audit_action::schedule_fire, details, now)));
  auto before = e.s;
  settle<task>(self,
               self->request(st.scheduler, st.cfg.storage_timeout * 2, submit_atom_v,
                             submit_request{std::move(*t), principal_of(e.s), std::move(with)}),
               name, next, "made", [=](const std::string& why) {
                 // The scheduler refused the task (a dependency it names is
                 // gone): this firing cannot be made.
                 commit_skip(self, before, plan, "its task was refused: " + why, true);
                 return true;
               });
}

/// Whether a task of the previous firing's workflow is still to end, then decides.
void ask_workflow_running(schedules_ptr self, const std::string& name, const std::string& id) {
  auto& st = self->state;
  record_query q;
  q.kind = record_kind::task;
  q.search = "label:workflow=" + id + " " + std::string{unfinished_search_term};
  q.limit = 1;
  if (auto parsed = apply_search(q); !parsed)
    return try_later(self, name, "looking up its previous workflow: " + parsed.message());
  self->request(st.storage, st.cfg.storage_timeout, query_atom_v, q)
    .then(guarded("schedules",
                  [=](const record_page& page) { decide(self, name, page.total > 0); }),
          guarded("schedules", [=](caf::error& err) {
            try_later(self, name, "looking up its previous workflow: " + error_text(err));
          }));
}

/// A due schedule: asks whether its previous task still runs where that
/// matters (overlap skip or queue), then decides.
void evaluate(schedules_ptr self, const std::string& name) {
  auto& st = self->state;
  auto* found = find_entry(self, name);
  if (!found)
    return;
  auto& e = *found;
  auto now = now_us();
  if (e.busy || e.s.paused || e.s.next_firing == 0 || now < e.s.next_firing || now < e.retry_at)
    return;
  e.busy = true;
  if (e.s.overlap == overlap_policy::allow || (e.s.last_task.empty() && e.s.last_workflow.empty()))
    return decide(self, name, false);
  if (!e.s.last_workflow.empty())
    return ask_workflow_running(self, name, e.s.last_workflow);
  self->request(st.storage, st.cfg.storage_timeout, caf::get_atom_v, record_kind::task,
                e.s.last_task)
    .then(guarded("schedules",
                  [=](const record& r) {
                    task t;
                    bool running = decode(r.json, t) && !is_terminal(t.status);
                    decide(self, name, running);
                  }),
          guarded("schedules", [=](caf::error& err) {
            if (error_code(err) == errc::not_found)
              return decide(self, name, false);  // deleted: nothing runs
            try_later(self, name, "reading its previous task: " + error_text(err));
          }));
}

void evaluate_all(schedules_ptr self) {
  std::vector<std::string> names;
  for (auto& [name, e] : self->state.entries)
    names.push_back(name);
  for (auto& name : names)
    evaluate(self, name);
  arm(self);
}

/// Reads every schedule, a page at a time, then looks at what is due.
void reload(schedules_ptr self, std::shared_ptr<std::vector<record>> got, std::string after) {
  auto& st = self->state;
  self->request(st.storage, st.cfg.storage_timeout, scan_atom_v,
                scan_request{record_kind::schedule, after, scan_page})
    .then(guarded("schedules",
                  [=](const std::vector<record>& page) {
                    got->insert(got->end(), page.begin(), page.end());
                    if (page.size() == scan_page)
                      return reload(self, got, page.back().key);
                    std::set<std::string> stored;
                    for (auto& r : *got) {
                      stored.insert(r.key);
                      take_in(self, r);
                    }
                    std::erase_if(self->state.entries, [&](const auto& kv) {
                      return !stored.count(kv.first) && !kv.second.busy;
                    });
                    evaluate_all(self);
                    self->delayed_send(self, self->state.cfg.refresh, reload_atom_v);
                  }),
          guarded("schedules", [=](caf::error& e) {
            log_warn("schedules", "reading the schedules: " + error_text(e) + "; trying again");
            self->delayed_send(self, self->state.cfg.refresh, reload_atom_v);
          }));
}

schedules_actor::behavior_type schedules_fn(schedules_ptr self, storage_actor storage,
                                            scheduler_actor scheduler,
                                            std::shared_ptr<metric_registry> figures,
                                            schedules_config cfg) {
  self->state.storage = std::move(storage);
  self->state.scheduler = std::move(scheduler);
  self->state.figures = std::move(figures);
  self->state.cfg = cfg;
  self->send(self, reload_atom_v);
  return {
    guarded("schedules",
            [=](task_event& ev) {
              task_status s;
              if (!parse_status(ev.status, s) || !is_terminal(s))
                return;
              std::vector<std::string> look;
              for (auto& [name, e] : self->state.entries) {
                if (e.held && e.s.last_task == ev.task_id)
                  look.push_back(name);
                // A workflow's tasks are not known here: any end may be its last.
                else if (e.s.overlap == overlap_policy::queue && !e.s.last_workflow.empty()) {
                  if (e.busy)
                    e.look_again = true;
                  else if (e.held)
                    look.push_back(name);
                }
              }
              for (auto& name : look)
                evaluate(self, name);
            }),
    guarded("schedules", [=](schedule_changed_atom, std::string& name) { reread(self, name); }),
    guarded("schedules",
            [=](fire_due_atom, uint64_t generation) {
              if (generation != self->state.generation)
                return;  // a timer armed before another
              self->state.timer_at = 0;
              evaluate_all(self);
            }),
    guarded("schedules",
            [=](reload_atom) { reload(self, std::make_shared<std::vector<record>>(), {}); }),
  };
}

} // namespace

schedules_actor spawn_schedules(caf::actor_system& sys, storage_actor storage,
                                scheduler_actor scheduler,
                                std::shared_ptr<metric_registry> figures, schedules_config cfg) {
  return sys.spawn([=](schedules_ptr self) {
    return schedules_fn(self, storage, scheduler, figures, cfg);
  });
}

} // namespace orch
