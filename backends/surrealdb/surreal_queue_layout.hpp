// How the queue is laid out on a SurrealDB server so that a claim costs the
// same at any depth. SurrealDB 3.0 does not use a compound index to answer
// `ORDER BY … LIMIT n` (it reads and sorts every match), but it reads a
// table in record-id order and stops at the LIMIT. So beside each queue entry
// (task_queue, keyed by task id, exactly the record the other backends store)
// two small tables hold the order:
//
//   queue_ready:[-priority, enqueued_at µs, task_id]     unclaimed and due
//   queue_delayed:[not_before µs, task_id]               unclaimed, waiting
//
// Array ids sort element by element, numbers numerically: the first row of
// queue_ready is the entry to claim next (higher priority first, FIFO within
// one), the first row of queue_delayed the next one to become due. A claimed
// entry has no row in either. The entry keeps the ids of its rows in two
// hidden fields (_ready, _delayed) so that any write can remove the old rows
// without a search; every read projects them away, so the record JSON is the
// same as on every other backend.
//
// An entry whose task requires node labels has them in its order rows too
// (`labels`): a claim offering a node's labels skips, in the same read, the
// rows it cannot take. Rows without labels are claimable by every node.
#pragma once

#include <string>

#include "backends/surrealdb/surreal_queries.hpp"

namespace orch::surreal {

/// The hidden fields of a stored queue entry, for projections: ", _ready, _delayed".
inline constexpr const char* queue_hidden_fields = ", _ready, _delayed";

/// The tables of the layout and what an older layout left behind.
std::string queue_layout_schema();

/// The statements, inside a batch, that store the entry bound to $d<n> under
/// the key $k<n> and keep its order rows in step.
std::string queue_put_text(const std::string& n);

/// The statements, inside a batch, that remove the entry $k<n> and its rows.
std::string queue_remove_text(const std::string& n);

/// Once per database: gives the order rows to entries that an older version
/// of the orchestrator stored without them, then marks the layout as built.
statement queue_layout_upgrade_statement();

/// One transaction: moves up to 100 due entries from queue_delayed to
/// queue_ready, claims the first `limit` ready ones, and returns
/// {got: [entries], next: [first not_before µs still waiting]} as its last
/// result.
statement claim_statement(const claim_request& req);

/// Gives back a claim: the entry is unclaimed (and ready) again if `worker`
/// still holds it.
statement release_statement(const std::string& task_id, const std::string& worker);

} // namespace orch::surreal
