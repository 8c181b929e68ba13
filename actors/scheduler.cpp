#include "actors/scheduler.hpp"

#include <csignal>

#include "caf/all.hpp"

#include "actors/executor.hpp"
#include "actors/queue.hpp"
#include "actors/remote_attempt.hpp"
#include "actors/scheduler_impl.hpp"
#include "runtime/core/event_kinds.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/core/log.hpp"
#include "runtime/messages/guarded.hpp"

namespace orch {

namespace {

/// A node's label in the per-node metrics (names are letters, digits and
/// "-_.": nothing to escape).
std::string node_label(const std::string& name) {
  return "node=\"" + name + "\"";
}

constexpr auto poll_interval = std::chrono::seconds(1);
constexpr auto store_again_delay = std::chrono::seconds(1);

} // namespace

scheduler_impl::scheduler_impl(caf::actor_config& cfg, storage_actor storage,
                               std::shared_ptr<metric_registry> metrics, scheduler_config config)
  : scheduler_impl_actor::base(cfg),
    storage_(std::move(storage)),
    metrics_(std::move(metrics)),
    cfg_(std::move(config)),
    attempts_{cfg_.nu_path, cfg_.max_output_bytes, cfg_.api, cfg_.task_token_key},
    pool_(cfg_.max_concurrent, cfg_.instance, cfg_.labels, now_us()) {}

scheduler_impl::behavior_type scheduler_impl::make_behavior() {
  queue_ = spawn_queue(system(), storage_, wake_listener_actor{this},
                       queue_config{cfg_.instance, cfg_.lease, cfg_.shared_backend, cfg_.storage_timeout});
  link_to(queue_);
  set_down_handler([this](caf::down_msg& dm) { on_executor_down(dm); });
  if (cfg_.max_concurrent > 0)
    metrics_->set("orchestrator_node_slots", node_label(cfg_.instance), cfg_.max_concurrent);
  send(this, wake_atom_v);
  send(this, pending_check_atom_v);
  if (cfg_.shared_backend)
    delayed_send(this, poll_interval, poll_atom_v);
  return {
    guarded("scheduler",
            [this](submit_atom, submit_request& req) -> caf::result<task> {
              auto rp = make_response_promise<task>();
              submit(std::move(req.submitted), std::move(req.principal), std::move(req.with), rp);
              return rp;
            }),
    guarded("scheduler",
            [this](submit_atom, submit_batch_request& req) -> caf::result<std::vector<task>> {
              auto rp = make_response_promise<std::vector<task>>();
              submit_batch(std::move(req.submitted), std::move(req.principal), std::move(req.with), rp);
              return rp;
            }),
    guarded("scheduler",
            [this](cancel_atom, task_action& a) -> caf::result<task> {
              auto rp = make_response_promise<task>();
              cancel(a.task_id, a.principal, rp, 0);
              return rp;
            }),
    guarded("scheduler",
            [this](retry_atom, task_action& a) -> caf::result<task> {
              auto rp = make_response_promise<task>();
              retry(a.task_id, a.principal, rp, 0);
              return rp;
            }),
    guarded("scheduler",
            [this](stats_atom) -> caf::result<runtime_stats> {
              return runtime_stats{cfg_.instance, static_cast<uint32_t>(running_.size()),
                                   pool_.total(), draining_, started_, finished_};
            }),
    guarded("scheduler",
            [this](nodes_atom) -> caf::result<std::vector<node_status>> {
              return pool_.statuses();
            }),
    guarded("scheduler",
            [this](output_atom, const std::string& task_id) -> caf::result<output_tap> {
              auto i = running_.find(task_id);
              return output_tap{i == running_.end() ? nullptr : i->second.output};
            }),
    guarded("scheduler",
            [this](node_up_atom, node_status& st, node_session_actor& node) {
              on_node_up(std::move(st), std::move(node));
            }),
    guarded("scheduler",
            [this](node_down_atom, const std::string& registration, const std::string& why) {
              on_node_down(registration, why);
            }),
    guarded("scheduler",
            [this](renew_atom, const std::string& registration, micros at) {
              on_node_seen(registration, at);
            }),
    guarded("scheduler", [this](drain_atom, uint32_t grace_s) { return begin_drain(grace_s); }),
    guarded("scheduler", [this](drain_over_atom) { interrupt_running(); }),
    guarded("scheduler", [this](wake_atom) { fill(); }),
    guarded("scheduler",
            [this](poll_atom) {
              delayed_send(this, poll_interval, poll_atom_v);
              fill();
            }),
    guarded("scheduler", [this](lost_atom, const std::vector<std::string>& ids) { on_lost(ids); }),
    guarded("scheduler", [this](done_atom, exec_result& r) { on_done(std::move(r)); }),
    guarded("scheduler", [this](const task_event& ev) { on_event(ev); }),
    guarded("scheduler", [this](store_again_atom, uint64_t token) { store_again(token); }),
    guarded("scheduler",
            [this](pending_check_atom) { sweep_pending(); }),
    guarded("scheduler", [this](pending_check_atom, bool) { recheck_now(); }),
  };
}

// -- what the others are told ---------------------------------------------------------

void scheduler_impl::count(const std::string& name, const std::string& labels) {
  metrics_->count(name, labels);
}

void scheduler_impl::observe_storage(const char* operation, micros since) {
  metrics_->observe("orchestrator_storage_operation_duration_seconds",
                    "backend=\"" + cfg_.backend + "\",operation=\"" + operation + "\"",
                    static_cast<double>(now_us() - since) / 1e6);
}

void scheduler_impl::update_running_gauge() {
  metrics_->set("orchestrator_tasks_running", {}, static_cast<double>(running_.size()));
}

/// The attempts running on the node of `registration` ("" here), per node.
void scheduler_impl::update_node_gauge(const std::string& registration) {
  if (auto* st = pool_.status_of(registration))
    metrics_->set("orchestrator_node_running", node_label(st->name), st->running);
}

// -- the drain ----------------------------------------------------------------------

caf::result<bool> scheduler_impl::begin_drain(uint32_t grace_s) {
  draining_ = true;
  log_info("scheduler", std::to_string(running_.size()) + " task(s) running; waiting up to "
                          + std::to_string(grace_s) + " s for them to finish");
  if (drained())
    return true;
  drain_promise_ = make_response_promise<bool>();
  drain_requested_ = true;
  delayed_send(this, std::chrono::seconds(grace_s), drain_over_atom_v);
  return drain_promise_;
}

void scheduler_impl::maybe_finish_drain() {
  if (drain_requested_ && drained()) {
    drain_requested_ = false;
    drain_promise_.deliver(true);
  }
}

/// Grace period over: stop what still runs; it is queued again.
void scheduler_impl::interrupt_running() {
  for (auto& [id, r] : running_) {
    if (r.cancelled || r.lost)
      continue;
    log_warn("scheduler", "stopping task " + id + " for shutdown; it will be queued again");
    r.interrupted = true;
    send(r.executor, cancel_atom_v);
  }
}

// -- what other processes did ----------------------------------------------------------

/// A task event, from this process or (through the storage's live feed)
/// another one sharing the storage.
void scheduler_impl::on_event(const task_event& ev) {
  if (ev.status != to_string(task_status::pending))
    dependency_cursors_.erase(ev.task_id);  // released or ended, maybe elsewhere
  if (ev.kind == event_kind::cancelled) {
    // Cancelled elsewhere while it runs here: the cancel is already stored.
    if (auto i = running_.find(ev.task_id); i != running_.end() && !i->second.cancelled) {
      i->second.cancelled = true;
      send(i->second.executor, cancel_atom_v);
    }
    return;
  }
  if (ev.status == to_string(task_status::queued)) {
    fill();  // new or returned work, maybe submitted to another instance
  } else if (ev.kind == event_kind::failed) {
    // Failed outside this scheduler's own attempts too (the queue's recovery
    // of an attempt cut short, another instance): its dependants fail now.
    // A second look is harmless. Every failure's event comes here, this
    // process's own too: its children are cancelled from here alone.
    resolve_dependants(ev.task_id);
    cancel_children(ev.task_id, self_principal());
  }
}

void scheduler_impl::on_lost(const std::vector<std::string>& ids) {
  for (auto& id : ids)
    if (auto i = running_.find(id); i != running_.end() && !i->second.lost) {
      log_warn("scheduler", "lost the claim on task " + id
                              + " (cancelled, or recovered by another instance): its attempt "
                                "here is stopped");
      i->second.lost = true;
      send(i->second.executor, cancel_atom_v);
    }
}

// -- pulling work --------------------------------------------------------------------

// A claim fills one node's free slots with tasks whose node labels it has,
// and names that node in each task it starts. A round of claims asks for
// each node with free slots in turn (pool_.offers() order: here first); a
// node whose claim came back short has nothing more to take until new work
// arrives, so the round passes it by. One claim is out at a time.

void scheduler_impl::fill() {
  if (claiming_) {
    // The claim in flight may have been planned before the work that asks
    // for this one was stored: claim again once it is back.
    fill_again_ = true;
    return;
  }
  if (draining_)
    return;
  if (fill_again_) {
    // New work since the round began: every node may take some again.
    fill_again_ = false;
    round_done_.clear();
  }
  std::optional<slot_offer> next;
  for (auto& offer : pool_.offers())
    if (!round_done_.count(offer.registration)) {
      next = std::move(offer);
      break;
    }
  if (!next) {
    // Every node with a free slot asked: the round is over.
    round_done_.clear();
    if (round_next_ready_ != 0)
      send(queue_, wake_at_atom_v, round_next_ready_);
    round_next_ready_ = 0;
    return;
  }
  claiming_ = true;
  claim_request req;
  req.limit = next->free;
  req.node = next->node_name;
  req.labels = next->labels;
  request(queue_, cfg_.storage_timeout, claim_atom_v, std::move(req))
    .then(guarded("scheduler",
                  [this, reg = next->registration, asked = next->free,
                   asked_at = now_us()](claim_result& res) {
                    observe_storage("claim", asked_at);
                    on_claimed(reg, asked, res);
                  }),
          [this](caf::error& e) {
            claiming_ = false;
            fill_again_ = false;  // the retry below claims anew
            round_done_.clear();
            round_next_ready_ = 0;
            if (draining_) {
              maybe_finish_drain();
              return;
            }
            log_warn("scheduler", "claiming work failed: " + error_text(e) + "; retrying in 1 s");
            send(queue_, wake_at_atom_v, now_us() + us_per_second);
          });
}

void scheduler_impl::on_claimed(const std::string& registration, uint32_t asked,
                                claim_result& res) {
  claiming_ = false;
  if (draining_) {
    // Claimed while the shutdown began: hand the tasks back unstarted.
    for (auto& c : res.tasks)
      hand_back(c.claimed);
    maybe_finish_drain();
    return;
  }
  for (auto& c : res.tasks) {
    auto where = pool_.take(registration);
    if (!where) {
      // The worker node left while the claim was out: no slot for this one.
      // It goes back to the queue, its attempt not counted.
      hand_back(c.claimed);
      continue;
    }
    start(std::move(c), std::move(*where));
  }
  if (res.tasks.size() < asked)
    round_done_.insert(registration);
  if (res.next_ready != 0 && (round_next_ready_ == 0 || res.next_ready < round_next_ready_))
    round_next_ready_ = res.next_ready;
  fill();
}

void scheduler_impl::hand_back(task t) {
  auto tr = interrupt_transition(t, cfg_.instance, ctx(self_principal()));
  commit_outcome(std::move(t), std::move(tr), 0);
}

void scheduler_impl::start(claimed_task res, placement where) {
  auto& t = res.claimed;
  ++started_;
  count("orchestrator_task_attempts_started_total");
  send(queue_, hold_atom_v, t.id);
  running_task r;
  r.t = t;
  r.registration = where.registration;
  r.node_name = where.node_name;
  update_node_gauge(where.registration);
  auto spec = make_exec_spec(t, attempts_);
  if (!spec) {
    // Reported through the normal path, as a start failure.
    running_.emplace(t.id, std::move(r));
    exec_result fail;
    fail.task_id = t.id;
    fail.attempt = t.attempts;
    fail.error = spec.message();
    send(this, done_atom_v, std::move(fail));
  } else {
    r.output = std::make_shared<live_output>(spec->max_output_bytes);
    if (where.local() && cfg_.noop_attempts) {
      r.executor = spawn_noop_executor(system(), *spec, exec_listener_actor{this});
    } else if (where.local()) {
      r.executor = spawn_executor(system(), std::move(*spec), exec_listener_actor{this}, r.output);
    } else {
      node_attempt a;
      a.attempt_id = new_uuid_v4();
      a.nushell = t.command.empty();
      a.spec = std::move(*spec);
      r.executor = spawn_remote_attempt(system(), where.node, where.node_name, std::move(a),
                                        exec_listener_actor{this}, r.output);
    }
    monitor(r.executor);
    running_.emplace(t.id, std::move(r));
  }
  update_running_gauge();
}

// -- outcomes --------------------------------------------------------------------------

void scheduler_impl::on_done(exec_result r) {
  auto i = running_.find(r.task_id);
  if (i == running_.end())
    return;
  auto run = std::move(i->second);
  running_.erase(i);
  pool_.give_back(run.registration);
  update_running_gauge();
  update_node_gauge(run.registration);
  count("orchestrator_node_attempts_finished_total",
        node_label(run.node_name) + ",outcome=\"" + outcome_label(r) + "\"");
  ++finished_;
  count("orchestrator_task_attempts_finished_total",
        std::string{"outcome=\""} + outcome_label(r) + "\"");
  if (r.started && r.finished_at > r.started_at)
    metrics_->observe("orchestrator_task_attempt_duration_seconds", {},
                      static_cast<double>(r.finished_at - r.started_at) / us_per_second);
  if (r.interrupted && !run.cancelled)
    run.interrupted = true;  // its worker node shut down: not the task's fault
  if (run.lost || (run.cancelled && !run.interrupted)) {
    // Someone else owns the outcome now (the cancel, or the instance that
    // recovered the claim): storing ours would record the attempt twice.
    send(queue_, release_atom_v, r.task_id);
    fill();
    maybe_finish_drain();
    return;
  }
  auto t = run.t;
  transition tr;
  if (run.interrupted) {
    tr = interrupt_transition(t, cfg_.instance, ctx(self_principal()), r.error);
  } else {
    auto out = outcome_of(r, t);
    auto delay = backoff_delay(t.attempts, cfg_.backoff_base, cfg_.backoff_cap);
    tr = finish_transition(t, out, cfg_.instance, delay, ctx(self_principal()));
  }
  commit_outcome(std::move(t), std::move(tr), 0);
  fill();
}

/// An executor that ended without reporting (it failed, or was stopped from
/// outside) took its process group with it: the attempt failed.
void scheduler_impl::on_executor_down(const caf::down_msg& dm) {
  for (auto& [id, run] : running_) {
    if (run.executor.address() != dm.source)
      continue;
    log_error("scheduler", "the executor of task " + id + " stopped without reporting ("
                             + caf::to_string(dm.reason) + "); the attempt counts as failed");
    exec_result r;
    r.task_id = id;
    r.attempt = run.t.attempts;
    r.started = true;
    r.term_signal = SIGKILL;
    r.started_at = r.finished_at = now_us();
    on_done(std::move(r));
    return;
  }
}

// -- worker nodes -----------------------------------------------------------------------

void scheduler_impl::on_node_seen(const std::string& registration, micros at) {
  pool_.seen(registration, at);
}

void scheduler_impl::on_node_up(node_status st, node_session_actor node) {
  metrics_->set("orchestrator_node_slots", node_label(st.name), st.slots);
  metrics_->set("orchestrator_node_running", node_label(st.name), st.running);
  pool_.join(std::move(st), std::move(node));
  fill();
}

/// Its attempts end on their own: each stand-in watches the node.
void scheduler_impl::on_node_down(const std::string& registration, const std::string& why) {
  if (auto* st = pool_.status_of(registration); st && !registration.empty()) {
    metrics_->set("orchestrator_node_slots", node_label(st->name), 0);
    log_info("scheduler", "worker node '" + st->name + "' left with " + std::to_string(st->running)
                            + " attempt(s) running there: " + why);
  }
  pool_.leave(registration);
}

/// Stores the outcome of an attempt. The claim stays held (its lease
/// renewed) until the outcome is stored, so transient storage failures are
/// retried for as long as they last; only then is the claim released.
void scheduler_impl::commit_outcome(task t, transition tr, int attempt) {
  ++inflight_;
  request(storage_, cfg_.storage_timeout, commit_atom_v, tr.batch)
    .then(guarded("scheduler",
                  [this, t, asked_at = now_us()](uint64_t) {
                    observe_storage("commit", asked_at);
                    --inflight_;
                    on_outcome_stored(t);
                  }),
          [this, t, tr, attempt](caf::error& e) {
            --inflight_;
            auto code = error_code(e);
            if (code == errc::conflict || code == errc::invalid) {
              send(queue_, release_atom_v, t.id);
              log_info("scheduler", "outcome of task " + t.id
                                      + " not stored, it changed meanwhile: " + error_text(e));
            } else {
              if (attempt % 30 == 0)
                log_warn("scheduler", "storing the outcome of task " + t.id + " failed: "
                                        + error_text(e) + "; retrying every second");
              auto token = ++retry_token_;
              ++inflight_;
              pending_commits_.emplace(token, pending_commit{t, tr, attempt + 1});
              delayed_send(this, store_again_delay, store_again_atom_v, token);
            }
            maybe_finish_drain();
          });
}

void scheduler_impl::on_outcome_stored(const task& t) {
  send(queue_, release_atom_v, t.id);
  if (is_terminal(t.status)) {
    count("orchestrator_tasks_finished_total",
          std::string{"status=\""} + to_string(t.status) + "\"");
    resolve_dependants(t.id);
  } else if (t.status == task_status::queued) {
    if (t.not_before != 0) {
      if (t.attempts > 0)  // a backoff; else a retried task's run_at
        count("orchestrator_task_retries_total");
      send(queue_, wake_at_atom_v, t.not_before);
    } else {
      fill();
    }
  }
  maybe_finish_drain();
}

void scheduler_impl::store_again(uint64_t token) {
  auto i = pending_commits_.find(token);
  if (i == pending_commits_.end())
    return;
  auto p = std::move(i->second);
  pending_commits_.erase(i);
  --inflight_;
  commit_outcome(std::move(p.t), std::move(p.tr), p.attempt);
}

scheduler_handles spawn_scheduler(caf::actor_system& sys, storage_actor storage,
                                  std::shared_ptr<metric_registry> metrics, scheduler_config cfg) {
  auto impl = sys.spawn<scheduler_impl>(std::move(storage), std::move(metrics), std::move(cfg));
  return {scheduler_actor{impl}, event_sink_actor{impl}, node_listener_actor{impl}};
}

} // namespace orch
