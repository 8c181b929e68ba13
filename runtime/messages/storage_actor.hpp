// The storage actor interface: the one contract every backend implements
// (filesystem, surrealdb-embedded = RocksDB, surrealdb-server). Swapping the
// backend is spawning a different actor behind this handle.
//
// Every write is durable when its reply arrives (fsync / synced WAL / database
// commit). Errors are orch::errc values (runtime/core/status.hpp):
//   not_found  - get of a missing record
//   conflict   - a precondition of a write batch failed; nothing was written
//   invalid    - malformed key, kind or record
//   unavailable- backend closed or unreachable (retry later)
//   io_error / corrupted / locked
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "caf/fwd.hpp"
#include "caf/replies_to.hpp"

#include "runtime/messages/types.hpp"

namespace orch {

/// Receives task events (the events actor is one).
using event_feed_actor = caf::typed_actor<caf::reacts_to<publish_atom, std::vector<task_event>>>;

using storage_actor = caf::typed_actor<
  // Apply all operations of the batch atomically if every precondition holds.
  // Replies with the number of operations applied.
  caf::replies_to<commit_atom, write_batch>::with<uint64_t>,
  // One record by kind and key.
  caf::replies_to<caf::get_atom, record_kind, std::string>::with<record>,
  // Filtered, ordered, paginated listing.
  caf::replies_to<query_atom, record_query>::with<record_page>,
  // Up to `limit` records with key > `after` in ascending key order (stable:
  // what migration and verification use). An empty result means the end.
  caf::replies_to<scan_atom, scan_request>::with<std::vector<record>>,
  // Number of records of a kind.
  caf::replies_to<count_atom, record_kind>::with<uint64_t>,
  // Atomically claim up to `limit` of the best ready queue entries (priority
  // desc, then FIFO; not_before honoured), in one durable write: see
  // claimed_task.
  caf::replies_to<claim_atom, claim_request>::with<claim_result>,
  // Extend the leases a worker holds. Replies with the ids whose lease is no
  // longer held by that worker.
  caf::replies_to<renew_atom, renew_request>::with<std::vector<std::string>>,
  // A consistent copy of everything into the new directory `to`, taken while
  // the backend keeps serving. Replies with what was written.
  caf::replies_to<backup_atom, std::string>::with<std::string>,
  // Forward task events that other processes write to `feed` (backends
  // shared by several processes; the others have nothing to forward).
  caf::reacts_to<subscribe_atom, event_feed_actor>,
  // Backend name, location, whether it is shared, start-up findings.
  caf::replies_to<info_atom>::with<storage_info>,
  // Flush, release locks and files. Later requests fail with unavailable.
  caf::replies_to<caf::close_atom>::with<bool>>;

} // namespace orch
