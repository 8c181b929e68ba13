#include "actors/scheduler.hpp"

#include <map>
#include <memory>

#include "caf/all.hpp"

#include "actors/executor.hpp"
#include "runtime/platform/process/child_process.hpp"
#include "actors/queue.hpp"
#include "runtime/core/log.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/core/transitions.hpp"

namespace orch {

namespace {

constexpr auto storage_timeout = std::chrono::seconds(30);
constexpr auto pending_check_interval = std::chrono::seconds(15);
constexpr auto poll_interval = std::chrono::seconds(1);
constexpr auto commit_retry_delay = std::chrono::seconds(1);
constexpr int max_conflict_retries = 5;
constexpr uint32_t dependants_page = 1000;

struct running_task {
  executor_actor executor;
  task t;
  bool cancelled = false;                    // by the API: its outcome is already stored
  bool lost = false;                         // claim lost: the outcome must not be stored
  bool interrupted = false;                  // stopped by shutdown: requeue uncounted
};

class scheduler_impl : public scheduler_actor::base {
public:
  scheduler_impl(caf::actor_config& cfg, storage_actor storage, events_actor events,
                 metrics_actor metrics, scheduler_config config)
    : scheduler_actor::base(cfg),
      storage_(std::move(storage)),
      events_(std::move(events)),
      metrics_(std::move(metrics)),
      cfg_(std::move(config)) {}

  const char* name() const override { return "scheduler"; }

  behavior_type make_behavior() override {
    queue_ = spawn_queue(system(), storage_, events_, caf::actor_cast<wake_listener_actor>(this),
                         queue_config{cfg_.instance, cfg_.lease, cfg_.shared_backend});
    link_to(queue_);
    send(this, wake_atom_v);
    send(this, pending_atom_v);
    if (cfg_.shared_backend)
      delayed_send(this, poll_interval, caf::tick_atom_v);
    return {
      [=, this](submit_atom, task& t, std::string& principal) -> caf::result<task> {
        auto rp = make_response_promise<task>();
        submit(std::move(t), std::move(principal), rp);
        return rp;
      },
      [=, this](cancel_atom, std::string& id, std::string& principal) -> caf::result<task> {
        auto rp = make_response_promise<task>();
        cancel(id, principal, rp, 0);
        return rp;
      },
      [=, this](retry_atom, std::string& id, std::string& principal) -> caf::result<task> {
        auto rp = make_response_promise<task>();
        retry(id, principal, rp, 0);
        return rp;
      },
      [=, this](stats_atom) {
        return runtime_stats{cfg_.instance, static_cast<uint32_t>(running_.size()),
                             cfg_.max_concurrent, draining_, started_, finished_};
      },
      [=, this](drain_atom, uint32_t grace_s) -> caf::result<bool> {
        draining_ = true;
        log_info("scheduler", std::to_string(running_.size())
                                + " task(s) running; waiting up to " + std::to_string(grace_s)
                                + " s for them to finish");
        if (drained())
          return true;
        drain_promise_ = make_response_promise<bool>();
        drain_requested_ = true;
        delayed_send(this, std::chrono::seconds(grace_s), timeout_atom_v);
        return drain_promise_;
      },
      [=, this](timeout_atom) {
        // Grace period over: stop what still runs; it is queued again.
        for (auto& [id, r] : running_) {
          if (r.cancelled || r.lost)
            continue;
          log_warn("scheduler", "stopping task " + id + " for shutdown; it will be queued again");
          r.interrupted = true;
          send(r.executor, cancel_atom_v);
        }
      },
      [=, this](wake_atom) { fill(); },
      [=, this](caf::tick_atom) {
        delayed_send(this, poll_interval, caf::tick_atom_v);
        fill();
      },
      [=, this](lost_atom, const std::vector<std::string>& ids) {
        for (auto& id : ids)
          if (auto i = running_.find(id); i != running_.end() && !i->second.lost) {
            i->second.lost = true;
            send(i->second.executor, cancel_atom_v);
          }
      },
      [=, this](done_atom, exec_result& r) { on_done(std::move(r)); },
      [=, this](const task_event& ev) { on_event(ev); },
      [=, this](commit_atom, uint64_t token) {
        auto i = pending_commits_.find(token);
        if (i == pending_commits_.end())
          return;
        auto p = std::move(i->second);
        pending_commits_.erase(i);
        --inflight_;
        commit_outcome(std::move(p.t), std::move(p.tr), p.attempt);
      },
      [=, this](pending_atom) {
        delayed_send(this, pending_check_interval, pending_atom_v);
        check_pending_tasks();
      },
    };
  }

private:
  actor_context ctx(const std::string& principal) const { return {principal, now_us()}; }
  std::string self_principal() const { return "scheduler:" + cfg_.instance; }

  void publish(const std::vector<task_event>& events) {
    if (!events.empty())
      send(events_, publish_atom_v, events);
  }

  void count(const std::string& name, const std::string& labels = {}) {
    send(metrics_, incr_atom_v, name, labels, 1.0);
  }

  void update_running_gauge() {
    send(metrics_, gauge_atom_v, std::string{"orchestrator_tasks_running"}, std::string{},
         static_cast<double>(running_.size()));
  }

  bool drained() const { return running_.empty() && inflight_ == 0 && !claiming_; }

  void maybe_finish_drain() {
    if (drain_requested_ && drained()) {
      drain_requested_ = false;
      drain_promise_.deliver(true);
    }
  }

  // -- what other processes did -------------------------------------------------------

  /// A task event, from this process or (through the storage's live feed)
  /// another one sharing the storage.
  void on_event(const task_event& ev) {
    if (ev.kind == "cancelled") {
      // Cancelled elsewhere while it runs here: the cancel is already stored.
      if (auto i = running_.find(ev.task_id); i != running_.end() && !i->second.cancelled) {
        i->second.cancelled = true;
        send(i->second.executor, cancel_atom_v);
      }
      return;
    }
    if (ev.status == "Queued")
      fill();  // new or returned work, maybe submitted to another instance
  }

  // -- pulling work ------------------------------------------------------------------

  void fill() {
    if (draining_ || claiming_ || running_.size() >= cfg_.max_concurrent)
      return;
    claiming_ = true;
    auto free_slots = cfg_.max_concurrent - static_cast<uint32_t>(running_.size());
    request(queue_, storage_timeout, claim_atom_v, free_slots)
      .then(
        [=, this](claim_result& res) {
          claiming_ = false;
          if (draining_) {
            // Claimed while the shutdown began: hand the tasks back unstarted.
            for (auto& c : res.tasks) {
              auto t = c.claimed;
              auto tr = interrupt_transition(t, cfg_.instance, ctx(self_principal()));
              commit_outcome(std::move(t), std::move(tr), 0);
            }
            maybe_finish_drain();
            return;
          }
          for (auto& c : res.tasks)
            start(std::move(c));
          if (!res.tasks.empty())
            fill();
          else if (res.next_ready != 0)
            send(queue_, wake_atom_v, res.next_ready);
        },
        [=, this](caf::error& e) {
          claiming_ = false;
          if (draining_) {
            maybe_finish_drain();
            return;
          }
          log_warn("scheduler", "claiming work failed: " + error_text(e) + "; retrying in 1 s");
          send(queue_, wake_atom_v, now_us() + us_per_second);
        });
  }

  exec_spec make_spec(const task& t, std::string& problem) const {
    exec_spec s;
    s.task_id = t.id;
    s.attempt = t.attempts;
    s.env = t.env;
    s.env["ORCHESTRATOR_TASK_ID"] = t.id;
    s.env["ORCHESTRATOR_ATTEMPT"] = std::to_string(t.attempts);
    s.workdir = t.workdir;
    s.timeout_s = t.timeout_s;
    s.max_output_bytes = cfg_.max_output_bytes;
    if (!t.command.empty()) {
      s.argv.push_back(t.command);
      s.argv.insert(s.argv.end(), t.args.begin(), t.args.end());
      return s;
    }
    if (cfg_.nu_path.empty()) {
      problem = "Nushell ('nu') was not found: install it (the project's set-up does) or "
                "start the orchestrator with --nu-path";
      return s;
    }
    s.argv = {cfg_.nu_path, "--no-config-file"};
    if (!t.script.empty()) {
      s.argv.push_back("-c");
      s.argv.push_back(t.script);
    } else {
      s.argv.push_back(t.script_file);
      s.argv.insert(s.argv.end(), t.args.begin(), t.args.end());
    }
    return s;
  }

  void start(claimed_task res) {
    auto& t = res.claimed;
    ++started_;
    count("orchestrator_task_attempts_started_total");
    publish({res.started_event});
    send(queue_, hold_atom_v, t.id);
    std::string problem;
    auto spec = make_spec(t, problem);
    running_task r;
    r.t = t;
    if (!problem.empty()) {
      // Reported through the normal path, as a start failure.
      running_.emplace(t.id, std::move(r));
      exec_result fail;
      fail.task_id = t.id;
      fail.attempt = t.attempts;
      fail.error = problem;
      send(this, done_atom_v, std::move(fail));
    } else {
      r.executor = spawn_executor(system(), std::move(spec),
                                  caf::actor_cast<exec_listener_actor>(this));
      running_.emplace(t.id, std::move(r));
    }
    update_running_gauge();
  }

  static attempt_outcome outcome_of(const exec_result& r, const task& t) {
    attempt_outcome out;
    out.output = r.output;
    out.error_output = r.error_output;
    if (!r.started) {
      out.error = "failed to start: " + r.error;
    } else if (r.timed_out) {
      out.error = "timed out after " + std::to_string(t.timeout_s) + " s";
      if (r.exited) {
        out.has_exit_code = true;
        out.exit_code = r.exit_code;
      }
    } else if (r.exited) {
      out.has_exit_code = true;
      out.exit_code = r.exit_code;
      if (r.exit_code != 0)
        out.error = "exited with code " + std::to_string(r.exit_code);
      else
        out.success = true;
    } else {
      out.error = describe_signal(r.term_signal);
    }
    return out;
  }

  void on_done(exec_result r) {
    auto i = running_.find(r.task_id);
    if (i == running_.end())
      return;
    auto run = std::move(i->second);
    running_.erase(i);
    update_running_gauge();
    ++finished_;
    auto labels = std::string{"outcome=\""}
                  + (!r.started    ? "start_error"
                     : r.timed_out ? "timeout"
                     : r.cancelled ? "cancelled"
                     : (r.exited && r.exit_code == 0) ? "success"
                                                      : "failure")
                  + "\"";
    count("orchestrator_task_attempts_finished_total", labels);
    if (r.started && r.finished_at > r.started_at)
      send(metrics_, observe_atom_v, std::string{"orchestrator_task_attempt_duration_seconds"},
           std::string{}, static_cast<double>(r.finished_at - r.started_at) / us_per_second);
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
      tr = interrupt_transition(t, cfg_.instance, ctx(self_principal()));
    } else {
      auto out = outcome_of(r, t);
      auto delay = backoff_delay(t.attempts, cfg_.backoff_base, cfg_.backoff_cap);
      tr = finish_transition(t, out, cfg_.instance, delay, ctx(self_principal()));
    }
    commit_outcome(std::move(t), std::move(tr), 0);
    fill();
  }

  /// Stores the outcome of an attempt. The claim stays held (its lease
  /// renewed) until the outcome is stored, so transient storage failures are
  /// retried for as long as they last; only then is the claim released.
  void commit_outcome(task t, transition tr, int attempt) {
    ++inflight_;
    request(storage_, storage_timeout, commit_atom_v, tr.batch)
      .then(
        [=, this](uint64_t) {
          --inflight_;
          send(queue_, release_atom_v, t.id);
          publish(tr.events);
          if (is_terminal(t.status)) {
            count("orchestrator_tasks_finished_total",
                  std::string{"status=\""} + to_string(t.status) + "\"");
            resolve_dependants(t.id);
          } else if (t.status == task_status::queued) {
            if (t.not_before != 0) {
              count("orchestrator_task_retries_total");
              send(queue_, wake_atom_v, t.not_before);
            } else {
              fill();
            }
          }
          maybe_finish_drain();
        },
        [=, this](caf::error& e) {
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
            delayed_send(this, commit_retry_delay, commit_atom_v, token);
          }
          maybe_finish_drain();
        });
  }

  // -- submissions ---------------------------------------------------------------------

  /// Reads several tasks; `done` gets those found (missing ids are absent).
  void fetch_tasks(const std::vector<std::string>& ids,
                   std::function<void(std::map<std::string, task>, caf::error)> done) {
    struct gather {
      size_t left;
      std::map<std::string, task> found;
      caf::error failure;
      std::function<void(std::map<std::string, task>, caf::error)> done;
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
      request(storage_, storage_timeout, caf::get_atom_v, record_kind::task, id)
        .then(
          [=, this](const record& r) {
            task t;
            if (decode(r.json, t))
              g->found.emplace(t.id, std::move(t));
            finish_one();
          },
          [=, this](caf::error& e) {
            if (error_code(e) != errc::not_found && !g->failure)
              g->failure = e;
            finish_one();
          });
  }

  /// Ready (all Completed), blocked (some still to run) or failed (`reason`).
  enum class dependency_state { ready, waiting, failed };

  static dependency_state evaluate(const task& t, const std::map<std::string, task>& deps,
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

  void submit(task t, std::string principal, caf::typed_response_promise<task> rp) {
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
          rp.deliver(make_error(errc::invalid, "dependency " + d
                                                 + " does not exist (submit it first)"));
          return;
        }
      std::string reason;
      auto state = evaluate(t, found, reason);
      auto initial = state == dependency_state::ready     ? task_status::queued
                     : state == dependency_state::waiting ? task_status::pending
                                                          : task_status::failed;
      auto tr = submit_transition(t, initial, reason, ctx(principal));
      request(storage_, storage_timeout, commit_atom_v, tr.batch)
        .then(
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
          },
          [=, this](caf::error& e) mutable {
            if (error_code(e) == errc::conflict)
              rp.deliver(make_error(errc::conflict, "a task with id " + t.id + " already exists"));
            else
              rp.deliver(e);
          });
    });
  }

  // -- cancel and retry ---------------------------------------------------------------

  void with_task(const std::string& id, caf::typed_response_promise<task> rp,
                 std::function<void(task)> then) {
    request(storage_, storage_timeout, caf::get_atom_v, record_kind::task, id)
      .then(
        [=, this](const record& r) mutable {
          task t;
          if (auto st = decode(r.json, t); !st)
            rp.deliver(make_error(errc::corrupted, "task " + id + " is unreadable: " + st.message()));
          else
            then(std::move(t));
        },
        [=, this](caf::error& e) mutable { rp.deliver(e); });
  }

  void cancel(std::string id, std::string principal, caf::typed_response_promise<task> rp,
              int attempt) {
    with_task(id, rp, [=, this](task t) mutable {
      if (is_terminal(t.status)) {
        rp.deliver(make_error(errc::conflict, "task " + id + " is already "
                                                + to_string(t.status)
                                                + "; only Pending, Queued or Running tasks can "
                                                  "be cancelled"));
        return;
      }
      auto tr = cancel_transition(t, ctx(principal));
      request(storage_, storage_timeout, commit_atom_v, tr.batch)
        .then(
          [=, this](uint64_t) mutable {
            if (auto i = running_.find(id); i != running_.end()) {
              i->second.cancelled = true;
              send(i->second.executor, cancel_atom_v);
            }
            count("orchestrator_tasks_finished_total", "status=\"Cancelled\"");
            publish(tr.events);
            resolve_dependants(id);
            rp.deliver(t);
          },
          [=, this](caf::error& e) mutable {
            if (error_code(e) == errc::conflict && attempt < max_conflict_retries)
              cancel(id, principal, rp, attempt + 1);  // it changed meanwhile: look again
            else
              rp.deliver(e);
          });
    });
  }

  void retry(std::string id, std::string principal, caf::typed_response_promise<task> rp,
             int attempt) {
    with_task(id, rp, [=, this](task t) mutable {
      if (t.status != task_status::failed && t.status != task_status::cancelled) {
        rp.deliver(make_error(errc::conflict, "task " + id + " is " + to_string(t.status)
                                                + "; only Failed or Cancelled tasks can be "
                                                  "retried"));
        return;
      }
      auto tr = retry_transition(t, ctx(principal));
      request(storage_, storage_timeout, commit_atom_v, tr.batch)
        .then(
          [=, this](uint64_t) mutable {
            publish(tr.events);
            if (t.status == task_status::pending)
              check_pending(t);
            else
              fill();
            rp.deliver(t);
          },
          [=, this](caf::error& e) mutable {
            if (error_code(e) == errc::conflict && attempt < max_conflict_retries)
              retry(id, principal, rp, attempt + 1);
            else
              rp.deliver(e);
          });
    });
  }

  // -- dependencies ---------------------------------------------------------------------

  /// A Pending task: queue it if its dependencies all completed, fail it if
  /// one of them failed or was cancelled, leave it otherwise.
  void check_pending(const task& t) {
    fetch_tasks(t.dependencies, [=, this](std::map<std::string, task> found, caf::error failure) {
      if (failure)
        return;
      std::string reason;
      auto state = evaluate(t, found, reason);
      if (state == dependency_state::waiting)
        return;
      auto copy = t;
      auto tr = dependency_transition(copy, state == dependency_state::ready, reason,
                                      ctx(self_principal()));
      request(storage_, storage_timeout, commit_atom_v, tr.batch)
        .then(
          [=, this](uint64_t) {
            publish(tr.events);
            if (copy.status == task_status::queued) {
              fill();
            } else {
              count("orchestrator_tasks_finished_total", "status=\"Failed\"");
              resolve_dependants(copy.id);
            }
          },
          [](caf::error&) {
            // Changed meanwhile (another instance decided): nothing to do.
          });
    });
  }

  /// A task reached a terminal state: look at the Pending tasks that depend on it.
  void resolve_dependants(const std::string& id) {
    record_query q;
    q.kind = record_kind::task;
    q.field = "dependencies";
    q.value = id;
    q.limit = dependants_page;
    request(storage_, storage_timeout, query_atom_v, q)
      .then(
        [=, this](const record_page& page) {
          for (auto& r : page.items) {
            task d;
            if (decode(r.json, d) && d.status == task_status::pending)
              check_pending(d);
          }
        },
        [=, this](caf::error& e) {
          log_warn("scheduler", "looking up the dependants of " + id
                                  + " failed: " + error_text(e));
        });
  }

  /// Safety net for races (two dependencies finishing on two instances at
  /// once, a crash between writes): look at every Pending task now and then.
  void check_pending_tasks() {
    record_query q;
    q.kind = record_kind::task;
    q.field = "status";
    q.value = "Pending";
    q.limit = dependants_page;
    request(storage_, storage_timeout, query_atom_v, q)
      .then(
        [=, this](const record_page& page) {
          for (auto& r : page.items) {
            task d;
            if (decode(r.json, d) && d.status == task_status::pending)
              check_pending(d);
          }
        },
        [](caf::error&) {});
  }

  storage_actor storage_;
  events_actor events_;
  metrics_actor metrics_;
  scheduler_config cfg_;
  queue_actor queue_;
  std::map<std::string, running_task> running_;
  bool claiming_ = false;
  bool draining_ = false;
  bool drain_requested_ = false;
  caf::typed_response_promise<bool> drain_promise_;
  int inflight_ = 0;
  uint64_t started_ = 0;
  uint64_t finished_ = 0;
  struct pending_commit {
    task t;
    transition tr;
    int attempt;
  };
  std::map<uint64_t, pending_commit> pending_commits_;
  uint64_t retry_token_ = 0;
};

} // namespace

scheduler_actor spawn_scheduler(caf::actor_system& sys, storage_actor storage,
                                events_actor events, metrics_actor metrics,
                                scheduler_config cfg) {
  return sys.spawn<scheduler_impl>(std::move(storage), std::move(events), std::move(metrics),
                                   std::move(cfg));
}

} // namespace orch
