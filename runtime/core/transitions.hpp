// Task state changes as atomic write batches. Each function takes the task as
// last read, changes it, and returns the batch that stores the new task
// together with its queue entry, its event and its audit record. Every batch
// carries an optimistic-concurrency precondition on the task's revision, so
// two writers that read the same revision cannot both commit.
#pragma once

#include <string>
#include <vector>

#include "runtime/core/records.hpp"
#include "runtime/core/task.hpp"

namespace orch {

struct actor_context {
  std::string principal;                     // who: "api:127.0.0.1", "scheduler:<instance>"
  micros now = 0;
};

/// The batch and the events it appends (to publish once it has committed).
struct transition {
  write_batch batch;
  std::vector<task_event> events;
};

/// A new task. `initial` is Queued (ready), Pending (waiting for
/// dependencies) or Failed (a dependency already failed; `reason` says which).
transition submit_transition(task& t, task_status initial, const std::string& reason,
                             const actor_context& ctx);

/// Claim: the queue entry is claimed by `req.worker` until now + req.lease;
/// the task becomes Running on `req.node` with one more attempt, and its
/// `started` event names the node. Used by every backend's claim.
transition claim_transition(task& t, queue_entry& e, const claim_request& req,
                            const actor_context& ctx);

/// Outcome of one attempt, decided by the scheduler.
struct attempt_outcome {
  bool success = false;
  bool has_exit_code = false;
  int32_t exit_code = 0;
  std::string output;
  std::string error_output;
  std::string error;                         // why it failed; empty on success
};

/// Finish an attempt: Completed, Failed (no retries left) or Queued again
/// with not_before = now + backoff. Requires the claim still held by `worker`.
transition finish_transition(task& t, const attempt_outcome& out, const std::string& worker,
                             micros backoff, const actor_context& ctx);

/// A claim that was lost (its holder died or its lease expired): requeue the
/// task (the attempt stays counted) or fail it if no retries are left. With
/// `attempt_ran` false the claimer knows it never started the attempt (the
/// reply to its claim was lost): the task is queued again without counting it.
transition recover_transition(task& t, const queue_entry& stale, const std::string& why,
                              const actor_context& ctx, bool attempt_ran = true);

/// Cancel a Pending, Queued or Running task.
transition cancel_transition(task& t, const actor_context& ctx);

/// Queue a Failed or Cancelled task again, with a fresh budget of retries.
/// A task with dependencies goes back to Pending, to be checked again.
transition retry_transition(task& t, const actor_context& ctx);

/// The orchestrator is shutting down and stopped a running attempt: queue the
/// task again without counting that attempt (it was not the task's fault).
/// `why` says what shut down, for the event and the audit record.
transition interrupt_transition(task& t, const std::string& worker, const actor_context& ctx,
                                const std::string& why = {});

/// A Pending task whose dependencies are now all Completed (`ready`), or one
/// of which ended without completing (`!ready`, `reason` names it).
transition dependency_transition(task& t, bool ready, const std::string& reason,
                                 const actor_context& ctx);

/// Exponential backoff for retry number `retry` (1-based): base * 2^(retry-1),
/// capped at `cap`.
micros backoff_delay(uint32_t retry, micros base, micros cap);

/// Ordering of queue entries: higher priority first, then earlier enqueue,
/// then task id (a total order, identical on every backend).
bool claim_order_before(const queue_entry& a, const queue_entry& b);

} // namespace orch
