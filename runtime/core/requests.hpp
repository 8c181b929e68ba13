// The plain data that actors exchange besides records and storage requests
// (records.hpp): what a client asks the scheduler, what the metrics actor is
// told, what GET /health reports. Plain structs, so they need no CAF; their
// inspect functions and type IDs are in runtime/messages/types.hpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/records.hpp"
#include "runtime/core/task.hpp"

namespace orch {

/// A new task and who submits it.
struct submit_request {
  task submitted;
  std::string principal;                     // "api:127.0.0.1", ...
  /// Writes committed with the new task, all or none: a schedule's firing
  /// advances the schedule in the task's commit.
  write_batch with;
};

/// Several new tasks from one principal, stored together or not at all.
struct submit_batch_request {
  std::vector<task> submitted;
  std::string principal;
  /// Writes committed with the tasks, all or none: a workflow's record.
  write_batch with;
};

/// Cancel or retry one task, on behalf of `principal`.
struct task_action {
  std::string task_id;
  std::string principal;
};

/// One change to a metric: counters add, gauges set, histograms observe.
/// Names follow Prometheus conventions; `labels` is the label text without
/// braces, e.g. `status="Completed"` (empty for none).
struct metric_update {
  enum kind_type : uint8_t { counter = 0, gauge = 1, histogram = 2 };
  kind_type kind = counter;
  std::string name;
  std::string labels;
  double value = 0;

  static metric_update count(std::string name, std::string labels = {}, double by = 1) {
    return {counter, std::move(name), std::move(labels), by};
  }
  static metric_update set(std::string name, std::string labels, double value) {
    return {gauge, std::move(name), std::move(labels), value};
  }
  static metric_update observe(std::string name, std::string labels, double value) {
    return {histogram, std::move(name), std::move(labels), value};
  }
};

/// What GET /health reports about the scheduler of this process.
struct runtime_stats {
  std::string instance;                      // this process's worker id
  uint32_t running = 0;                      // tasks executing here now
  uint32_t slots = 0;                        // --max-concurrent-tasks
  bool draining = false;                     // shutting down
  uint64_t started = 0;                      // attempts started since start-up
  uint64_t finished = 0;                     // attempts finished since start-up
};

} // namespace orch
