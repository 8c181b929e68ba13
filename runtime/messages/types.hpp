// The CAF vocabulary of the orchestrator: the error category, the inspect
// functions of every message type (CAF 0.17 style), their type-ID block and
// the atoms. Cheap to include: no actor headers, only type_id/meta/error.
//
// Atoms name one thing each. Those an actor only sends itself are listed
// with it; they appear in no public interface (runtime/messages/interfaces.hpp
// adds them with extend<> to the actor's own type only).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "caf/error.hpp"
#include "caf/make_message.hpp"  // CAF_ERROR_CODE_ENUM builds its context with it
#include "caf/meta/load_callback.hpp"
#include "caf/meta/type_name.hpp"
#include "caf/type_id.hpp"

#include "runtime/core/event_filter.hpp"
#include "runtime/core/exec_types.hpp"
#include "runtime/core/status.hpp"
#include "runtime/core/http_types.hpp"
#include "runtime/core/live_output.hpp"
#include "runtime/core/records.hpp"
#include "runtime/core/requests.hpp"
#include "runtime/core/schema.hpp"
#include "runtime/core/task.hpp"

CAF_ERROR_CODE_ENUM(orch::errc, "orch")

namespace orch {

/// make_error(errc::not_found, "task 1234 does not exist")
caf::error make_error(errc code, std::string message);

/// The user-facing message of an error made by make_error(), or CAF's
/// rendering of any other error (timeouts, dead actors, ...).
std::string error_text(const caf::error& e);

/// The orch::errc of an error, or errc::internal / errc::unavailable for
/// CAF's own errors (request timeouts and dead actors are "unavailable").
errc error_code(const caf::error& e);

/// The same failure in the other vocabulary: a status becomes an error
/// (none for success), an error a status (with error_text's message).
caf::error to_error(const status& s);
status to_status(const caf::error& e);

// -- inspect functions ----------------------------------------------------------

/// A record struct as CAF sees it: every member, in the order of its
/// schema (runtime/core/schema.hpp), so the field list is the only one.
template <class Inspector, class T>
typename Inspector::result_type inspect_record(Inspector& f, T& x) {
  return std::apply(
    [&](auto&... members) {
      return f(caf::meta::type_name(schema::of<T>::type_name), members...);
    },
    schema::all_members(x));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, task& x) {
  return inspect_record(f, x);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, queue_entry& x) {
  return inspect_record(f, x);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, task_event& x) {
  return inspect_record(f, x);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, audit_record& x) {
  return inspect_record(f, x);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, metric_sample& x) {
  return inspect_record(f, x);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, user& x) {
  return inspect_record(f, x);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, record& x) {
  return f(caf::meta::type_name("orch::record"), x.kind, x.key, x.json);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, record_op& x) {
  return f(caf::meta::type_name("orch::record_op"), x.op, x.rec);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, precondition& x) {
  return f(caf::meta::type_name("orch::precondition"), x.check, x.kind, x.key, x.field, x.values);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, write_batch& x) {
  return f(caf::meta::type_name("orch::write_batch"), x.ops, x.expect, x.stamp_events);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, record_query& x) {
  return f(caf::meta::type_name("orch::record_query"), x.kind, x.field, x.value, x.since,
           x.until, x.limit, x.offset, x.newest_first, x.search);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, record_page& x) {
  return f(caf::meta::type_name("orch::record_page"), x.items, x.total);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, claim_request& x) {
  return f(caf::meta::type_name("orch::claim_request"), x.worker, x.now, x.lease, x.limit, x.node,
           x.labels);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, claimed_task& x) {
  return f(caf::meta::type_name("orch::claimed_task"), x.claimed, x.entry, x.started_event);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, claim_result& x) {
  return f(caf::meta::type_name("orch::claim_result"), x.tasks, x.next_ready);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, storage_info& x) {
  return f(caf::meta::type_name("orch::storage_info"), x.backend, x.location, x.ns, x.db,
           x.shared, x.notes);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, http_request& x) {
  return f(caf::meta::type_name("orch::http_request"), x.method, x.path, x.query, x.body,
           x.remote, x.authorization, x.host, x.origin);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, http_response& x) {
  return f(caf::meta::type_name("orch::http_response"), x.status, x.content_type, x.body,
           x.headers);
}

/// Local only (a running attempt's output, shared with its reading thread):
/// nothing of it is serialized.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, output_tap&) {
  return f(caf::meta::type_name("orch::output_tap"));
}

/// Local only (one rendered event shared by every stream): not serialized.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, event_ref&) {
  return f(caf::meta::type_name("orch::event_ref"));
}

/// Local only (where a request's answer goes): not serialized.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, http_answer&) {
  return f(caf::meta::type_name("orch::http_answer"));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, scan_request& x) {
  return f(caf::meta::type_name("orch::scan_request"), x.kind, x.after, x.limit);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, renew_request& x) {
  return f(caf::meta::type_name("orch::renew_request"), x.worker, x.task_ids, x.until);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, submit_request& x) {
  return f(caf::meta::type_name("orch::submit_request"), x.submitted, x.principal, x.with);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, submit_batch_request& x) {
  return f(caf::meta::type_name("orch::submit_batch_request"), x.submitted, x.principal, x.with);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, task_action& x) {
  return f(caf::meta::type_name("orch::task_action"), x.task_id, x.principal);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, metric_update& x) {
  return f(caf::meta::type_name("orch::metric_update"), x.kind, x.name, x.labels, x.value);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, runtime_stats& x) {
  return f(caf::meta::type_name("orch::runtime_stats"), x.instance, x.running, x.slots,
           x.draining, x.started, x.finished);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, exec_spec& x) {
  return f(caf::meta::type_name("orch::exec_spec"), x.task_id, x.attempt, x.argv, x.env,
           x.workdir, x.timeout_s, x.max_output_bytes);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, exec_result& x) {
  return f(caf::meta::type_name("orch::exec_result"), x.task_id, x.attempt, x.started, x.exited,
           x.exit_code, x.term_signal, x.timed_out, x.cancelled, x.output, x.error_output,
           x.error, x.interrupted, x.started_at, x.finished_at);
}

} // namespace orch

CAF_BEGIN_TYPE_ID_BLOCK(orch, caf::first_custom_type_id)
  CAF_ADD_TYPE_ID(orch, (orch::task))
  CAF_ADD_TYPE_ID(orch, (orch::queue_entry))
  CAF_ADD_TYPE_ID(orch, (orch::task_event))
  CAF_ADD_TYPE_ID(orch, (orch::audit_record))
  CAF_ADD_TYPE_ID(orch, (orch::metric_sample))
  CAF_ADD_TYPE_ID(orch, (orch::user))
  CAF_ADD_TYPE_ID(orch, (orch::record_kind))
  CAF_ADD_TYPE_ID(orch, (orch::record))
  CAF_ADD_TYPE_ID(orch, (std::vector<orch::record>))
  CAF_ADD_TYPE_ID(orch, (orch::write_batch))
  CAF_ADD_TYPE_ID(orch, (orch::record_query))
  CAF_ADD_TYPE_ID(orch, (orch::record_page))
  CAF_ADD_TYPE_ID(orch, (orch::claim_request))
  CAF_ADD_TYPE_ID(orch, (orch::claimed_task))
  CAF_ADD_TYPE_ID(orch, (orch::claim_result))
  CAF_ADD_TYPE_ID(orch, (orch::storage_info))
  CAF_ADD_TYPE_ID(orch, (orch::http_request))
  CAF_ADD_TYPE_ID(orch, (orch::http_response))
  CAF_ADD_TYPE_ID(orch, (orch::exec_spec))
  CAF_ADD_TYPE_ID(orch, (orch::exec_result))
  CAF_ADD_TYPE_ID(orch, (std::vector<orch::task_event>))
  CAF_ADD_TYPE_ID(orch, (std::vector<std::string>))
  CAF_ADD_TYPE_ID(orch, (orch::runtime_stats))

  CAF_ADD_TYPE_ID(orch, (orch::scan_request))
  CAF_ADD_TYPE_ID(orch, (orch::renew_request))
  CAF_ADD_TYPE_ID(orch, (orch::submit_request))
  CAF_ADD_TYPE_ID(orch, (orch::task_action))
  CAF_ADD_TYPE_ID(orch, (orch::metric_update))
  CAF_ADD_TYPE_ID(orch, (orch::submit_batch_request))
  CAF_ADD_TYPE_ID(orch, (std::vector<orch::task>))
  CAF_ADD_TYPE_ID(orch, (orch::output_tap))
  CAF_ADD_TYPE_ID(orch, (orch::event_ref))
  CAF_ADD_TYPE_ID(orch, (orch::http_answer))

  // storage
  CAF_ADD_ATOM(orch, orch, commit_atom, "commit")            // a write batch
  CAF_ADD_ATOM(orch, orch, query_atom, "query")
  CAF_ADD_ATOM(orch, orch, scan_atom, "scan")
  CAF_ADD_ATOM(orch, orch, count_atom, "count")
  CAF_ADD_ATOM(orch, orch, claim_atom, "claim")
  CAF_ADD_ATOM(orch, orch, renew_atom, "renew")              // extend leases
  CAF_ADD_ATOM(orch, orch, info_atom, "info")
  CAF_ADD_ATOM(orch, orch, backup_atom, "backup")
  CAF_ADD_ATOM(orch, orch, synced_atom, "synced")            // engine actor: rounds durable
  CAF_ADD_ATOM(orch, orch, rpc_reply_atom, "rpcreply")       // SurrealDB actor: a reply arrived
  CAF_ADD_ATOM(orch, orch, rpc_retry_atom, "rpcretry")       // SurrealDB actor: run a query again
  CAF_ADD_ATOM(orch, orch, live_event_atom, "liveevent")     // SurrealDB actor: a live notification
  CAF_ADD_ATOM(orch, orch, connected_atom, "connected")      // SurrealDB actor: set up a connection
  // scheduler
  CAF_ADD_ATOM(orch, orch, submit_atom, "submit")
  CAF_ADD_ATOM(orch, orch, cancel_atom, "cancel")
  CAF_ADD_ATOM(orch, orch, retry_atom, "retry")
  CAF_ADD_ATOM(orch, orch, stats_atom, "stats")
  CAF_ADD_ATOM(orch, orch, drain_atom, "drain")
  CAF_ADD_ATOM(orch, orch, output_atom, "output")            // a running attempt's live output
  CAF_ADD_ATOM(orch, orch, drain_over_atom, "drainover")     // own: the grace period ended
  CAF_ADD_ATOM(orch, orch, store_again_atom, "storeagain")   // own: retry storing an outcome
  CAF_ADD_ATOM(orch, orch, pending_check_atom, "pendcheck")  // own: look at Pending tasks
  CAF_ADD_ATOM(orch, orch, poll_atom, "poll")                // own: look for work (shared storage)
  CAF_ADD_ATOM(orch, orch, wake_atom, "wake")                // from the queue: work may be ready
  CAF_ADD_ATOM(orch, orch, lost_atom, "lost")                // from the queue: claims lost
  CAF_ADD_ATOM(orch, orch, done_atom, "done")                // from an executor: attempt over
  // queue
  CAF_ADD_ATOM(orch, orch, hold_atom, "hold")
  CAF_ADD_ATOM(orch, orch, release_atom, "release")
  CAF_ADD_ATOM(orch, orch, wake_at_atom, "wakeat")           // wake the scheduler at a time
  CAF_ADD_ATOM(orch, orch, wake_due_atom, "wakedue")         // own: that time has come
  CAF_ADD_ATOM(orch, orch, sweep_atom, "sweep")              // own: look for lost claims
  CAF_ADD_ATOM(orch, orch, renew_due_atom, "renewdue")       // own: renew the leases held
  // executor
  CAF_ADD_ATOM(orch, orch, started_atom, "started")          // own: the process is running
  CAF_ADD_ATOM(orch, orch, deadline_atom, "deadline")        // own: the task's timeout
  CAF_ADD_ATOM(orch, orch, grace_over_atom, "graceover")     // own: SIGTERM ignored, SIGKILL now
  // events and metrics
  CAF_ADD_ATOM(orch, orch, publish_atom, "publish")
  CAF_ADD_ATOM(orch, orch, subscribe_atom, "subscribe")
  CAF_ADD_ATOM(orch, orch, unsub_atom, "unsub")
  CAF_ADD_ATOM(orch, orch, render_atom, "render")
  CAF_ADD_ATOM(orch, orch, snapshot_atom, "snapshot")        // own: persist metric samples
  // gateway
  CAF_ADD_ATOM(orch, orch, http_atom, "http")
  // credentials
  CAF_ADD_ATOM(orch, orch, hash_atom, "hash")                // a new Argon2id hash
  CAF_ADD_ATOM(orch, orch, verify_atom, "verify")            // does a password match a hash
  // audit
  CAF_ADD_ATOM(orch, orch, audit_atom, "audit")              // store this audit record
  // supervision
  CAF_ADD_ATOM(orch, orch, fail_atom, "fail")                // fault injection: die as in a crash
  // schedules
  CAF_ADD_ATOM(orch, orch, schedule_changed_atom, "schedchg") // the API wrote this schedule
  CAF_ADD_ATOM(orch, orch, fire_due_atom, "firedue")         // own: a firing's time has come
  CAF_ADD_ATOM(orch, orch, reload_atom, "reload")            // own: read every schedule again
CAF_END_TYPE_ID_BLOCK(orch)
