// Event ids in commit order. Events are made where a change is decided (many
// actors, many threads) and committed later in whatever order their batches
// reach the engine; the event stream resumes "after id X", so an id must
// sort after every event committed before it. The engine's one thread gives
// the events of a round's batches their ids just before the round is
// written, in batch order: ids then sort exactly as commits happen.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "backends/engine/group_plan.hpp"

namespace orch {

struct round_events {
  /// Each batch's task events (stamped or kept), decoded: what is published
  /// once the batch is durable.
  std::vector<std::vector<task_event>> per_batch;
  /// Old id -> new id of every stamped event (a claim's started event).
  std::map<std::string, std::string> renamed;
};

/// Gives the events of the batches that ask for it (stamp_events) new ids
/// made now, in order, in their keys, JSON and decoded copies alike, and
/// moves every batch's events out (prepared_batch::events). Call before the
/// round is planned: planning moves the staged records out.
round_events stamp_round_events(const std::vector<prepared_batch*>& batches, micros now);

} // namespace orch
