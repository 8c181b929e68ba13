#include "actors/metric_catalog.hpp"

#include <array>
#include <utility>

namespace orch {

namespace {

constexpr std::array<std::pair<std::string_view, std::string_view>, 16> catalog{{
  {"orchestrator_http_requests_total", "HTTP requests answered, by status code"},
  {"orchestrator_http_request_duration_seconds",
   "Time from a request's arrival to its answer (streams: to their first byte)"},
  {"orchestrator_tasks_submitted_total", "Tasks stored by POST /tasks and POST /tasks/batch"},
  {"orchestrator_tasks_finished_total", "Tasks that reached a final status, by status"},
  {"orchestrator_tasks_running", "Attempts running now, here and on worker nodes"},
  {"orchestrator_task_attempts_started_total", "Attempts started"},
  {"orchestrator_task_attempts_finished_total", "Attempts finished, by outcome"},
  {"orchestrator_task_attempt_duration_seconds", "How long attempts ran, start to end"},
  {"orchestrator_task_retries_total", "Failed attempts queued again for a retry"},
  {"orchestrator_queue_depth",
   "Tasks in the queue (ready, waiting for a retry's backoff, or claimed), all instances"},
  {"orchestrator_storage_operation_duration_seconds",
   "Time a storage operation took as its caller saw it (queueing, group commit and sync "
   "included), by backend and operation"},
  {"orchestrator_node_slots", "Execution slots a node offers (this orchestrator's own too)"},
  {"orchestrator_node_running", "Attempts running on a node"},
  {"orchestrator_node_attempts_finished_total", "Attempts a node finished, by outcome"},
  {"orchestrator_event_streams_cut_total",
   "Event streams cut off because their client read slower than events came"},
  {"orchestrator_schedule_firings_total",
   "Due schedule firings this orchestrator decided, by outcome: made (it created the task), "
   "lost (another orchestrator had, or the schedule changed first), skipped, failed"},
}};

} // namespace

std::string_view metric_help(std::string_view name) {
  for (auto& [known, help] : catalog)
    if (known == name)
      return help;
  return {};
}

} // namespace orch
