// The kinds of task events and the actions of their audit records, named
// once: what transitions.cpp writes is what the scheduler, the soak check
// and the API compare with. A status is compared through
// to_string(task_status) (task.hpp), never as a literal.
#pragma once

namespace orch {

namespace event_kind {
inline constexpr const char* created = "created";
inline constexpr const char* queued = "queued";
inline constexpr const char* started = "started";
inline constexpr const char* completed = "completed";
inline constexpr const char* failed = "failed";
inline constexpr const char* retry_scheduled = "retry_scheduled";  // failed; runs again later
inline constexpr const char* requeued = "requeued";
inline constexpr const char* cancelled = "cancelled";
inline constexpr const char* retried = "retried";
// A worker node's, not a task's (task_id empty, node its name): stored like
// the others, so a stream that resumes misses none of them either.
inline constexpr const char* node_joined = "node_joined";              // (re)connected
inline constexpr const char* node_disconnected = "node_disconnected";  // its connection broke
inline constexpr const char* node_lost = "node_lost";                  // not back within the lease
inline constexpr const char* node_left = "node_left";                  // stopped by its operator
/// Every kind above: what GET /events?kind= accepts.
inline constexpr const char* all[] = {
  created,  queued,  started,     completed,         failed,    retry_scheduled, requeued,
  cancelled, retried, node_joined, node_disconnected, node_lost, node_left};
} // namespace event_kind

namespace audit_action {
inline constexpr const char* task_submit = "task.submit";
inline constexpr const char* task_queue = "task.queue";
inline constexpr const char* task_start = "task.start";
inline constexpr const char* task_complete = "task.complete";
inline constexpr const char* task_fail = "task.fail";
inline constexpr const char* task_requeue = "task.requeue";
inline constexpr const char* task_cancel = "task.cancel";
inline constexpr const char* task_retry = "task.retry";
inline constexpr const char* task_retry_scheduled = "task.retry_scheduled";
inline constexpr const char* node_join = "node.join";            // a worker node registered
inline constexpr const char* node_loss = "node.loss";            // ... and was lost
inline constexpr const char* node_leave = "node.leave";          // ... or left (SIGTERM)
inline constexpr const char* node_result_discarded = "node.result_discarded";  // fenced
inline constexpr const char* schedule_create = "schedule.create";
inline constexpr const char* schedule_update = "schedule.update";
inline constexpr const char* schedule_delete = "schedule.delete";
inline constexpr const char* schedule_fire = "schedule.fire";    // a firing created its task
inline constexpr const char* schedule_skip = "schedule.skip";    // ... or was passed over
inline constexpr const char* workflow_submit = "workflow.submit";
inline constexpr const char* workflow_cancel = "workflow.cancel";
inline constexpr const char* workflow_retry = "workflow.retry";
} // namespace audit_action

} // namespace orch
