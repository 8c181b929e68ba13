// Typed interfaces of the orchestrator's actors (besides storage, which is in
// backends/storage.hpp). Cheap to include: forward declarations only.
#pragma once

#include <string>
#include <vector>

#include "caf/fwd.hpp"
#include "caf/replies_to.hpp"

#include "runtime/messages/types.hpp"

namespace orch {

/// Receives task events from the events actor.
using event_sink_actor = caf::typed_actor<caf::reacts_to<task_event>>;

/// Fan-out of task events (state changes) to subscribers.
using events_actor = caf::typed_actor<
  caf::reacts_to<publish_atom, std::vector<task_event>>,
  caf::reacts_to<subscribe_atom, event_sink_actor>,
  caf::reacts_to<unsub_atom, event_sink_actor>>;

/// Counters, gauges and latency histograms; Prometheus text on request.
/// Names follow Prometheus conventions; `labels` is the label text without
/// braces, e.g. `status="Completed"` (empty for none).
using metrics_actor = caf::typed_actor<
  caf::reacts_to<incr_atom, std::string, std::string, double>,
  caf::reacts_to<gauge_atom, std::string, std::string, double>,
  caf::reacts_to<observe_atom, std::string, std::string, double>,
  caf::replies_to<render_atom>::with<std::string>,
  caf::reacts_to<caf::tick_atom>>;

/// What the queue calls back on the scheduler.
using wake_listener_actor = caf::typed_actor<
  caf::reacts_to<wake_atom>,
  caf::reacts_to<lost_atom, std::vector<std::string>>>;

/// Claims for this process, lease renewal for the tasks it runs, recovery of
/// claims whose holder died, and wake-ups when delayed work becomes ready.
using queue_actor = caf::typed_actor<
  caf::replies_to<claim_atom, uint32_t>::with<claim_result>,
  caf::reacts_to<hold_atom, std::string>,
  caf::reacts_to<release_atom, std::string>,
  caf::reacts_to<wake_atom, micros>,           // wake the scheduler at this time (0: now)
  caf::reacts_to<sweep_atom>,
  caf::reacts_to<renew_atom>>;

/// The scheduler: submissions, cancellation, retries, slots, executors.
using scheduler_actor = caf::typed_actor<
  caf::replies_to<submit_atom, task, std::string>::with<task>,
  caf::replies_to<cancel_atom, std::string, std::string>::with<task>,
  caf::replies_to<retry_atom, std::string, std::string>::with<task>,
  caf::replies_to<stats_atom>::with<runtime_stats>,
  caf::replies_to<drain_atom, uint32_t>::with<bool>,
  caf::reacts_to<wake_atom>,
  caf::reacts_to<lost_atom, std::vector<std::string>>,
  caf::reacts_to<done_atom, exec_result>,
  caf::reacts_to<pending_atom>,                // periodic check of Pending tasks
  caf::reacts_to<caf::tick_atom>,              // periodic poll for work (shared backends)
  caf::reacts_to<timeout_atom>,                // drain grace period over
  caf::reacts_to<commit_atom, uint64_t>,       // retry storing an attempt's outcome
  caf::reacts_to<task_event>>;                 // state changes, also other processes' ones

/// Runs one attempt of one task.
using executor_actor = caf::typed_actor<
  caf::reacts_to<cancel_atom>,
  caf::reacts_to<timeout_atom>,
  caf::reacts_to<done_atom, exec_result>>;

/// Routes REST requests.
using gateway_actor = caf::typed_actor<caf::replies_to<http_atom, http_request>::with<http_response>>;

} // namespace orch
