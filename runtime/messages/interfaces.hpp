// Typed interfaces of the orchestrator's actors (storage is in
// storage_actor.hpp). Each actor has a public interface for those that hold
// its handle, and interfaces for the roles others play towards it (the queue
// wakes the scheduler, an executor reports to it). Messages an actor only
// sends itself are added with extend<> to its own type, defined where it is
// implemented, so no holder of a public handle can send them: nobody but the
// scheduler ends its drain.
// Cheap to include: forward declarations only.
#pragma once

#include <string>
#include <vector>

#include "caf/fwd.hpp"
#include "caf/replies_to.hpp"

#include "runtime/messages/node_types.hpp"
#include "runtime/messages/types.hpp"

namespace orch {

// -- events ----------------------------------------------------------------------

/// Receives task events from the events actor.
using event_sink_actor = caf::typed_actor<caf::reacts_to<task_event>>;

/// A stream's subscription (GET /events, output followers): each event
/// rendered once for all of them.
using event_stream_sink_actor = caf::typed_actor<caf::reacts_to<event_ref>>;

/// Fan-out of task events (state changes) to subscribers.
using events_actor = caf::typed_actor<
  caf::reacts_to<publish_atom, std::vector<task_event>>,
  caf::reacts_to<subscribe_atom, event_sink_actor>,
  caf::reacts_to<unsub_atom, event_sink_actor>,
  caf::reacts_to<subscribe_atom, event_stream_sink_actor>,
  caf::reacts_to<unsub_atom, event_stream_sink_actor>>;

// -- audit ---------------------------------------------------------------------

/// The audit trail's side that belongs to no change. A change's own record
/// is committed in the change's write batch (no change without its record);
/// the records of what changes nothing (refused requests, backups) are sent
/// here and stored in batches, one commit for all that arrive while the
/// previous one is out. The answer comes once the record is stored (or
/// counted and not stored: an anonymous flood, a storage that failed);
/// callers that need not wait send and forget. It serves the trail's reads
/// (GET /audit).
using audit_actor = caf::typed_actor<
  caf::replies_to<audit_atom, audit_record>::with<bool>,
  caf::replies_to<query_atom, record_query>::with<record_page>>;

// -- credentials -----------------------------------------------------------------

/// Argon2id hashing and checking, off the gateway's thread (one hash takes
/// tens of milliseconds, and the gateway serves every request).
using credentials_actor = caf::typed_actor<
  caf::replies_to<hash_atom, std::string>::with<std::string>,
  caf::replies_to<verify_atom, std::string, std::string>::with<bool>>;

// -- metrics ---------------------------------------------------------------------

/// Counters, gauges and latency histograms; Prometheus text on request.
using metrics_actor = caf::typed_actor<
  caf::reacts_to<metric_update>,
  caf::replies_to<render_atom>::with<std::string>>;

// -- queue -----------------------------------------------------------------------

/// What the queue calls back on the scheduler.
using wake_listener_actor = caf::typed_actor<
  caf::reacts_to<wake_atom>,                          // claimable work may be there
  caf::reacts_to<lost_atom, std::vector<std::string>>>;  // these claims are no longer ours

/// Claims for this process, lease renewal for the tasks it runs, recovery of
/// claims whose holder died, and wake-ups when delayed work becomes ready.
using queue_actor = caf::typed_actor<
  // Claims up to `limit` tasks for `node`'s free slots (the queue fills in
  // the claimer, the time and the lease).
  caf::replies_to<claim_atom, claim_request>::with<claim_result>,
  caf::reacts_to<hold_atom, std::string>,             // this process runs the task
  caf::reacts_to<release_atom, std::string>,          // ... no longer
  caf::reacts_to<wake_at_atom, micros>>;              // wake the scheduler then

// -- executor --------------------------------------------------------------------

/// Where an executor reports the end of its attempt.
using exec_listener_actor = caf::typed_actor<caf::reacts_to<done_atom, exec_result>>;

/// Runs one attempt of one task.
using executor_actor = caf::typed_actor<caf::reacts_to<cancel_atom>>;

// -- scheduler -------------------------------------------------------------------

/// The scheduler as the API sees it: submissions, cancellation, retries,
/// what it runs and where (its slots and the worker nodes'), and the drain
/// at shutdown.
using scheduler_actor = caf::typed_actor<
  caf::replies_to<submit_atom, submit_request>::with<task>,
  caf::replies_to<submit_atom, submit_batch_request>::with<std::vector<task>>,
  caf::replies_to<cancel_atom, task_action>::with<task>,
  caf::replies_to<retry_atom, task_action>::with<task>,
  caf::replies_to<stats_atom>::with<runtime_stats>,
  caf::replies_to<nodes_atom>::with<std::vector<node_status>>,  // where tasks run
  // The live output of the task's attempt running here (null: not here).
  caf::replies_to<output_atom, std::string>::with<output_tap>,
  caf::replies_to<drain_atom, uint32_t>::with<bool>>;

// -- schedules -------------------------------------------------------------------

/// Fires recurring schedules (actors/schedules.hpp). It is an event sink too:
/// the end of a task a held firing waits for lets that firing go.
using schedules_actor = caf::typed_actor<
  caf::reacts_to<task_event>,
  caf::reacts_to<schedule_changed_atom, std::string>,  // read this schedule again
  caf::reacts_to<fire_due_atom, uint64_t>,             // own: the timer of this generation
  caf::reacts_to<reload_atom>>;                        // own: read every schedule again

// -- gateway ---------------------------------------------------------------------

/// Routes REST requests; each is answered through its http_answer (sent to
/// the connection straight from where the answer is decided).
using gateway_actor = caf::typed_actor<caf::reacts_to<http_atom, http_request, http_answer>>;

} // namespace orch
