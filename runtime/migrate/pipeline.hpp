// Migration as a streaming actor pipeline (CAF streams):
//
//   source  ->  stage  ->  sink
//
// The source scans the source backend in stable key order, kind by kind, in
// batches; the stage filters (kinds, task status and time), validates and
// counts; the sink writes batches to the target (one atomic write batch each,
// journalled first so that it can be resumed and undone). Credit-based
// backpressure bounds what is in flight, so memory does not grow with the
// size of the data. All three block on their backends, so they run on
// threads of their own.
//
// Ownership: each stage owns what it uses (the stage the filter, the sink
// the journal and the write in flight); the configuration is copied to each;
// the only state they share is the atomic progress counters, which the
// progress reporter's thread reads. A stage's end is a message to the caller.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "caf/typed_actor.hpp"

#include "runtime/core/status.hpp"
#include "runtime/messages/storage_actor.hpp"
#include "runtime/migrate/filter.hpp"
#include "runtime/migrate/journal.hpp"
#include "runtime/migrate/progress.hpp"

namespace orch::migration {

struct pipeline_config {
  storage_actor source;
  storage_actor target;
  std::vector<record_kind> order;                     // kinds, in migration order
  std::map<record_kind, std::string> resume_after;    // continue after these keys
  uint32_t batch_size = 500;
  bool dry_run = false;                               // count what would be written only
  bool compare_existing = false;                      // target may hold records (merge, resume)
  bool verbose = false;
  std::shared_ptr<record_filter> filter;              // moves to the stage
  std::shared_ptr<counters> counts;                   // atomics: the progress thread reads them
  std::shared_ptr<journal_writer> journal;            // the sink's; null in a dry run
};

/// What a finished run reports.
struct pipeline_report {
  std::map<record_kind, double> seconds;              // time spent per kind
};

/// How many records can be between the source's scan and the sink at most:
/// what bounds the pipeline's memory, whatever the size of the data.
size_t max_records_in_flight(size_t batch_size);

/// Runs the pipeline to its end or its first failure, and returns once no
/// stage runs any more (so no write to the target is in flight: a rollback
/// may follow). Blocking: call it from a thread that is not CAF's.
result<pipeline_report> run_pipeline(caf::actor_system& sys, pipeline_config cfg);

} // namespace orch::migration
