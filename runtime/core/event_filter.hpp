// What a subscriber of the event stream (GET /events) asks for, and the
// Server-Sent Events text of one event. Pure: parsed from the query, tested
// on its own.
#pragma once

#include <map>
#include <set>
#include <string>

#include "runtime/core/status.hpp"
#include "runtime/core/task.hpp"

namespace orch {

struct event_filter {
  std::set<std::string> tasks;               // task ids; empty: every task
  std::set<std::string> statuses;            // the task's status after the event
  std::set<std::string> kinds;               // created, queued, started, ...
  std::set<std::string> nodes;               // the node named (started, node_*)
  std::string after;                         // resume: events with a larger id only

  bool matches(const task_event& ev) const;
};

/// The filter of `GET /events?task=&status=&kind=&node=&after=` (each a comma
/// list; `after`, or the Last-Event-ID header, is an event id). Refused
/// with what is wrong: an id that is not one, a status or kind that does
/// not exist.
result<event_filter> parse_event_filter(const std::map<std::string, std::string>& query,
                                        const std::string& last_event_id);

/// One event as Server-Sent Events: `id:` (its id, which Last-Event-ID
/// sends back) and `data:` (its JSON, as GET /tasks/{id}/events has it).
std::string sse_event_text(const task_event& ev);

} // namespace orch
