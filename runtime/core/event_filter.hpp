// What a subscriber of the event stream (GET /events) asks for, and the
// Server-Sent Events text of one event. Pure: parsed from the query, tested
// on its own.
#pragma once

#include <map>
#include <memory>
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
  /// The task's labels must include all of these (`label=team=infra,env=prod`).
  /// Events carry no labels: the stream looks the task up (labels_match).
  std::map<std::string, std::string> labels;
  std::string after;                         // resume: events with a larger id only

  bool matches(const task_event& ev) const;
};

/// Do a task's `labels` have every label the filter asks for?
bool labels_match(const event_filter& f, const std::map<std::string, std::string>& labels);

/// The filter of `GET /events?task=&status=&kind=&node=&label=&after=` (each a comma
/// list; `after`, or the Last-Event-ID header, is an event id). Refused
/// with what is wrong: an id that is not one, a status or kind that does
/// not exist.
result<event_filter> parse_event_filter(const std::map<std::string, std::string>& query,
                                        const std::string& last_event_id);

/// An event as every stream writes it, rendered once for all of them: its
/// JSON (as GET /tasks/{id}/events has it; a WebSocket message) and its
/// Server-Sent Events text (`id:`, which Last-Event-ID sends back, and
/// `data:`, the JSON).
struct published_event {
  task_event ev;
  std::string json;
  std::string sse;
};

std::shared_ptr<const published_event> publish_form(task_event ev);

/// What the events actor hands each stream: one shared, immutable event.
struct event_ref {
  std::shared_ptr<const published_event> event;
};

} // namespace orch
