#include "runtime/core/transitions.hpp"

#include <algorithm>

#include "runtime/core/codec.hpp"
#include "runtime/core/event_kinds.hpp"
#include "runtime/core/ids.hpp"

namespace orch {

namespace {

task_event make_event(const task& t, const std::string& kind, const std::string& details,
                      const actor_context& ctx) {
  task_event ev;
  ev.id = new_uuid_v7(ctx.now);
  ev.time = ctx.now;
  ev.task_id = t.id;
  ev.kind = kind;
  ev.status = to_string(t.status);
  ev.attempt = t.attempts;
  ev.details = details;
  if (kind == event_kind::started)
    ev.node = t.node;
  return ev;
}

audit_record make_audit(const task& t, const std::string& action, const std::string& details,
                        const actor_context& ctx) {
  audit_record a;
  a.id = new_uuid_v7(ctx.now);
  a.time = ctx.now;
  a.principal = ctx.principal;
  a.action = action;
  a.target = "task:" + t.id;
  a.outcome = "ok";
  a.details = details;
  return a;
}

precondition expect_revision(const task& t) {
  return expect_revision(record_kind::task, t.id, t.revision);
}

precondition expect_claimed_by(const std::string& task_id, const std::string& worker) {
  return {precondition::field_in, record_kind::queue, task_id, "claimed_by", {worker}};
}

void remove(write_batch& b, record_kind kind, const std::string& key) {
  b.ops.push_back({record_op::remove, {kind, key, {}}});
}

/// Stores the task (revision bumped) plus one event and one audit record.
transition finish_batch(task& t, write_batch b, const std::string& event_kind,
                        const std::string& action, const std::string& details,
                        const actor_context& ctx) {
  ++t.revision;
  put(b, to_record(t));
  auto ev = make_event(t, event_kind, details, ctx);
  put(b, to_record(ev));
  b.stamp_events = true;
  put(b, to_record(make_audit(t, action, details, ctx)));
  return {std::move(b), {std::move(ev)}};
}

queue_entry ready_entry(const task& t, micros now, micros not_before) {
  queue_entry e;
  e.task_id = t.id;
  e.priority = t.priority;
  e.enqueued_at = now;
  e.not_before = not_before;
  e.attempt = t.attempts;
  e.node_labels = t.node_labels;
  return e;
}

/// The queue entry of a task ready for its first attempt: it waits for its
/// run_at, if that is still to come.
queue_entry first_entry(task& t, micros now) {
  t.not_before = t.run_at > now ? t.run_at : 0;
  return ready_entry(t, now, t.not_before);
}

/// "; to start at ..." when the task waits for its run_at; else nothing.
std::string start_note(const task& t) {
  return t.not_before ? "; to start at " + format_rfc3339(t.not_before) : "";
}

} // namespace

transition submit_transition(task& t, task_status initial, const std::string& reason,
                             const actor_context& ctx) {
  t.status = initial;
  t.created_at = ctx.now;
  t.revision = 0;
  write_batch b;
  b.expect.push_back({precondition::absent, record_kind::task, t.id, {}, {}});
  if (initial == task_status::queued)
    put(b, to_record(first_entry(t, ctx.now)));
  if (initial == task_status::failed) {
    t.error = reason;
    t.completed_at = ctx.now;
  }
  return finish_batch(t, std::move(b), event_kind::created, audit_action::task_submit,
                      std::string{"status "} + to_string(initial)
                        + (reason.empty() ? "" : ": " + reason) + start_note(t),
                      ctx);
}

transition claim_transition(task& t, queue_entry& e, const claim_request& req,
                            const actor_context& ctx) {
  write_batch b;
  b.expect.push_back(expect_revision(t));
  e.claimed_by = req.worker;
  e.lease_until = ctx.now + req.lease;
  put(b, to_record(e));
  t.status = task_status::running;
  ++t.attempts;
  t.started_at = ctx.now;
  t.completed_at = 0;
  t.not_before = 0;
  t.node = req.node;
  return finish_batch(t, std::move(b), event_kind::started, audit_action::task_start,
                      "attempt " + std::to_string(t.attempts) + " on " + req.worker
                        + (req.node.empty() || req.node == req.worker ? "" : ", node " + req.node),
                      ctx);
}

transition finish_transition(task& t, const attempt_outcome& out, const std::string& worker,
                             micros backoff, const actor_context& ctx) {
  write_batch b;
  b.expect.push_back(expect_revision(t));
  b.expect.push_back(expect_claimed_by(t.id, worker));
  t.has_exit_code = out.has_exit_code;
  t.exit_code = out.exit_code;
  t.output = out.output;
  t.error_output = out.error_output;
  t.error = out.error;
  if (out.success) {
    t.status = task_status::completed;
    t.completed_at = ctx.now;
    remove(b, record_kind::queue, t.id);
    return finish_batch(t, std::move(b), event_kind::completed, audit_action::task_complete,
                        "attempt " + std::to_string(t.attempts) + " succeeded", ctx);
  }
  if (t.attempts <= t.max_retries) {
    t.status = task_status::queued;
    t.not_before = ctx.now + backoff;
    put(b, to_record(ready_entry(t, ctx.now, t.not_before)));
    return finish_batch(t, std::move(b), event_kind::retry_scheduled,
                        audit_action::task_retry_scheduled,
                        "attempt " + std::to_string(t.attempts) + " failed (" + out.error
                          + "); retry " + std::to_string(t.attempts) + " of "
                          + std::to_string(t.max_retries) + " at " + format_rfc3339(t.not_before),
                        ctx);
  }
  t.status = task_status::failed;
  t.completed_at = ctx.now;
  remove(b, record_kind::queue, t.id);
  return finish_batch(t, std::move(b), event_kind::failed, audit_action::task_fail,
                      "attempt " + std::to_string(t.attempts) + " failed (" + out.error
                        + "); no retries left",
                      ctx);
}

transition recover_transition(task& t, const queue_entry& stale, const std::string& why,
                              const actor_context& ctx, bool attempt_ran) {
  write_batch b;
  b.expect.push_back(expect_revision(t));
  // The claim we recover must be the one we saw: another instance may have
  // recovered and re-claimed it meanwhile.
  b.expect.push_back(expect_claimed_by(t.id, stale.claimed_by));
  b.expect.push_back({precondition::field_in, record_kind::queue, t.id, "lease_until",
                      {stale.lease_until == 0 ? "" : format_rfc3339(stale.lease_until)}});
  if (!attempt_ran) {
    if (t.status == task_status::running && t.attempts > 0)
      --t.attempts;  // its start was stored, but nothing ran
    t.status = task_status::queued;
    t.started_at = 0;
    t.not_before = 0;
    put(b, to_record(ready_entry(t, ctx.now, 0)));
    return finish_batch(t, std::move(b), event_kind::requeued, audit_action::task_requeue,
                        why + "; the attempt never ran, queued again without counting it", ctx);
  }
  if (t.attempts <= t.max_retries) {
    t.status = task_status::queued;
    t.error = why;
    t.not_before = 0;
    put(b, to_record(ready_entry(t, ctx.now, 0)));
    return finish_batch(t, std::move(b), event_kind::requeued, audit_action::task_requeue,
                        why + "; attempt " + std::to_string(t.attempts)
                          + " is counted, queued again",
                        ctx);
  }
  t.status = task_status::failed;
  t.error = why + "; no retries left";
  t.completed_at = ctx.now;
  remove(b, record_kind::queue, t.id);
  return finish_batch(t, std::move(b), event_kind::failed, audit_action::task_fail, t.error, ctx);
}

transition cancel_transition(task& t, const actor_context& ctx) {
  write_batch b;
  b.expect.push_back(expect_revision(t));
  auto was = std::string{to_string(t.status)};
  t.status = task_status::cancelled;
  t.completed_at = ctx.now;
  t.error = "cancelled by " + ctx.principal;
  remove(b, record_kind::queue, t.id);
  return finish_batch(t, std::move(b), event_kind::cancelled, audit_action::task_cancel, "was " + was, ctx);
}

transition retry_transition(task& t, const actor_context& ctx) {
  write_batch b;
  b.expect.push_back(expect_revision(t));
  auto was = std::string{to_string(t.status)};
  t.status = t.dependencies.empty() ? task_status::queued : task_status::pending;
  t.attempts = 0;
  t.started_at = 0;
  t.completed_at = 0;
  t.not_before = 0;
  t.has_exit_code = false;
  t.exit_code = 0;
  t.output.clear();
  t.error_output.clear();
  t.error.clear();
  if (t.status == task_status::queued)  // a run_at still to come holds again
    put(b, to_record(first_entry(t, ctx.now)));
  return finish_batch(t, std::move(b), event_kind::retried, audit_action::task_retry, "was " + was, ctx);
}

transition interrupt_transition(task& t, const std::string& worker, const actor_context& ctx,
                                const std::string& why) {
  write_batch b;
  b.expect.push_back(expect_revision(t));
  b.expect.push_back(expect_claimed_by(t.id, worker));
  t.status = task_status::queued;
  if (t.attempts > 0)
    --t.attempts;
  t.started_at = 0;
  t.not_before = 0;
  put(b, to_record(ready_entry(t, ctx.now, 0)));
  return finish_batch(t, std::move(b), "interrupted", "task.interrupt",
                      (why.empty() ? "the orchestrator shut down during the attempt" : why)
                        + "; queued again, the attempt is not counted",
                      ctx);
}

transition dependency_transition(task& t, bool ready, const std::string& reason,
                                 const actor_context& ctx) {
  write_batch b;
  b.expect.push_back(expect_revision(t));
  if (ready) {
    t.status = task_status::queued;
    put(b, to_record(first_entry(t, ctx.now)));
    return finish_batch(t, std::move(b), event_kind::queued, audit_action::task_queue,
                        "dependencies completed" + start_note(t), ctx);
  }
  t.status = task_status::failed;
  t.error = reason;
  t.completed_at = ctx.now;
  return finish_batch(t, std::move(b), event_kind::failed, audit_action::task_fail, reason, ctx);
}

micros backoff_delay(uint32_t retry, micros base, micros cap) {
  if (retry == 0)
    retry = 1;
  micros d = base;
  for (uint32_t i = 1; i < retry && d < cap; ++i)
    d *= 2;
  return std::min(d, cap);
}

bool claim_order_before(const queue_entry& a, const queue_entry& b) {
  if (a.priority != b.priority)
    return a.priority > b.priority;
  if (a.enqueued_at != b.enqueued_at)
    return a.enqueued_at < b.enqueued_at;
  return a.task_id < b.task_id;
}

} // namespace orch
