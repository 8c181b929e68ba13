// The scheduler's actor class, shared by the files that implement it:
// scheduler.cpp (the work loop: claims, attempts, outcomes, the drain),
// scheduler_requests.cpp (submit, cancel, retry),
// scheduler_dependencies.cpp (Pending tasks and their dependencies) and
// scheduler_children.cpp (a parent's end cancels its children).
// Internal to actors/: everyone else uses scheduler.hpp.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "caf/typed_event_based_actor.hpp"

#include "actors/attempts.hpp"
#include "actors/metric_registry.hpp"
#include "actors/scheduler.hpp"
#include "actors/worker_pool.hpp"
#include "runtime/core/live_output.hpp"
#include "runtime/core/transitions.hpp"

namespace orch {

/// Everything the scheduler receives: the API, the roles it plays for the
/// queue, its executors and the events actor, and its own timers.
using scheduler_impl_actor = scheduler_actor::extend_with<wake_listener_actor>
  ::extend_with<exec_listener_actor>
  ::extend_with<event_sink_actor>
  ::extend_with<node_listener_actor>
  ::extend<caf::reacts_to<drain_over_atom>,             // the drain's grace period ended
           caf::reacts_to<store_again_atom, uint64_t>,  // retry storing an outcome
           caf::reacts_to<pending_check_atom>,          // look at every Pending task (start-up)
           caf::reacts_to<pending_check_atom, bool>,    // look again: a lookup failed
           caf::reacts_to<poll_atom>>;                  // look for work (shared storage)

class scheduler_impl : public scheduler_impl_actor::base {
public:
  scheduler_impl(caf::actor_config& cfg, storage_actor storage,
                 std::shared_ptr<metric_registry> metrics, scheduler_config config);

  const char* name() const override { return "scheduler"; }

  behavior_type make_behavior() override;

  using task_promise = caf::typed_response_promise<task>;
  using batch_promise = caf::typed_response_promise<std::vector<task>>;

private:
  /// One attempt this process runs.
  struct running_task {
    executor_actor executor;                 // here, or the stand-in of a node's attempt
    std::string registration;                // the node's, or "" here
    std::string node_name;                   // the node's, or this instance's
    std::shared_ptr<live_output> output;     // its output as it comes (relayed from a node)
    task t;
    bool cancelled = false;                  // by the API: its outcome is already stored
    bool lost = false;                       // claim lost: the outcome must not be stored
    bool interrupted = false;                // stopped by shutdown: requeue uncounted
  };

  /// An outcome waiting to be stored again after a storage failure.
  struct pending_commit {
    task t;
    transition tr;
    int attempt;
  };

  // -- scheduler.cpp: the work loop --------------------------------------------------
  actor_context ctx(const std::string& principal) const { return {principal, now_us()}; }
  std::string self_principal() const { return "scheduler:" + cfg_.instance; }
  void count(const std::string& name, const std::string& labels = {});
  void update_running_gauge();
  /// A storage request made at `since` answered: its latency, by operation.
  void observe_storage(const char* operation, micros since);
  void update_node_gauge(const std::string& registration);
  bool drained() const { return running_.empty() && inflight_ == 0 && !claiming_; }
  void maybe_finish_drain();
  caf::result<bool> begin_drain(uint32_t grace_s);
  void interrupt_running();
  void on_event(const task_event& ev);
  void on_lost(const std::vector<std::string>& ids);
  void fill();
  void on_claimed(const std::string& registration, uint32_t asked, claim_result& res);
  void hand_back(task t);
  void start(claimed_task res, placement where);
  void on_done(exec_result r);
  void on_executor_down(const caf::down_msg& dm);
  void on_node_up(node_status st, node_session_actor node);
  void on_node_down(const std::string& registration, const std::string& why);
  void on_node_seen(const std::string& registration, micros at);
  void commit_outcome(task t, transition tr, int attempt);
  void on_outcome_stored(const task& t);
  void store_again(uint64_t token);

  // -- scheduler_requests.cpp: the API ------------------------------------------------
  transition new_task_transition(task& t, const std::map<std::string, task>& found,
                                 const actor_context& c);
  void after_submitted(const std::vector<task>& created);
  /// A new task, committed with `with` (a schedule's advance), all or none.
  void submit(task t, std::string principal, write_batch with, task_promise rp);
  void submit_batch(std::vector<task> ts, std::string principal, write_batch with,
                    batch_promise rp);
  void with_task(const std::string& id, task_promise rp, std::function<void(task)> then);
  void cancel(std::string id, std::string principal, task_promise rp, int attempt);
  void retry(std::string id, std::string principal, task_promise rp, int attempt);

  // -- scheduler_children.cpp --------------------------------------------------------
  /// Cancels the children of a task that was cancelled or failed.
  void cancel_children(const std::string& parent_id, const std::string& principal);
  void cancel_if_orphaned(const task& child);

  // -- scheduler_dependencies.cpp ----------------------------------------------------
  using found_tasks = std::function<void(std::map<std::string, task>, caf::error)>;
  void fetch_tasks(const std::vector<std::string>& ids, found_tasks done);
  void check_pending(const task& t, const std::string& ended = {});
  void check_if_pending(const record& r, const std::string& ended);
  void decide_pending(const task& t, bool ready, const std::string& reason);
  void store_decision(const task& t, bool ready, const std::string& reason);
  void resolve_dependants(const std::string& id, uint64_t offset = 0);
  /// `end`: where the pages still to read end; UINT64_MAX: count them first.
  void sweep_pending(uint64_t end = UINT64_MAX);
  void recheck_later(const std::string& task_id, const std::string& ended);
  void recheck_now();

  storage_actor storage_;
  std::shared_ptr<metric_registry> metrics_;
  scheduler_config cfg_;
  attempt_settings attempts_;
  queue_actor queue_;
  worker_pool pool_;
  std::map<std::string, running_task> running_;
  bool claiming_ = false;
  bool fill_again_ = false;                  // work arrived while a claim was in flight
  std::set<std::string> round_done_;         // nodes this round of claims has asked
  micros round_next_ready_ = 0;              // earliest delayed work the round saw
  bool draining_ = false;
  /// Per Pending task being checked: how many of its first dependencies are
  /// known to be Completed, so no later check reads them again.
  std::map<std::string, size_t> dependency_cursors_;
  std::set<std::string> recheck_tasks_;      // Pending tasks to look at again
  std::set<std::string> recheck_dependants_; // ended tasks whose dependants to look up again
  bool recheck_armed_ = false;
  bool drain_requested_ = false;
  caf::typed_response_promise<bool> drain_promise_;
  int inflight_ = 0;
  uint64_t started_ = 0;
  uint64_t finished_ = 0;
  std::map<uint64_t, pending_commit> pending_commits_;
  uint64_t retry_token_ = 0;
};

/// Ready (all Completed), blocked (some still to run) or failed (`reason`).
enum class dependency_state { ready, waiting, failed };

dependency_state evaluate_dependencies(const task& t, const std::map<std::string, task>& deps,
                                       std::string& reason);

/// Why `t`'s {{tasks.KEY.output}} references cannot be filled from `deps`
/// (one names no dependency, or sits outside args and env), or "".
std::string unresolved_output_reference(const task& t, const std::map<std::string, task>& deps);

/// Fills `t`'s {{tasks.KEY.output}} references from its dependencies as
/// found; "" if done, else why it cannot be (`t` is then unchanged).
std::string fill_outputs(task& t, const std::map<std::string, task>& deps);

} // namespace orch
