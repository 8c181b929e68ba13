// One open event stream (GET /events): a small actor per subscriber that
// holds its filter and writes the events it matches to the client's
// connection, as Server-Sent Events or, on a WebSocket, one JSON message
// per event. A resumed stream (Last-Event-ID / ?after=) first replays the
// stored events after that id, holding live ones meanwhile, then goes live
// without a gap or a repeat. The connection's queue is bounded: a client
// that does not keep up is cut off (http_stream::push), never slowing the
// events actor or the commits behind it.
#pragma once

#include <chrono>
#include <memory>

#include "caf/fwd.hpp"

#include "runtime/core/event_filter.hpp"
#include "runtime/core/http_types.hpp"
#include "runtime/messages/interfaces.hpp"
#include "runtime/messages/storage_actor.hpp"

namespace orch::api {

struct event_stream_config {
  events_actor events;
  storage_actor storage;
  metrics_actor metrics;                     // counts the streams cut off
  event_filter filter;
  std::chrono::seconds storage_timeout{30};
  /// A comment line this often keeps proxies from closing a quiet stream
  /// and finds clients that went away.
  std::chrono::milliseconds keepalive{15000};
};

/// Starts serving `out` (the answer's header is written already).
void spawn_event_stream(caf::actor_system& sys, std::shared_ptr<http_stream> out,
                        event_stream_config cfg);

} // namespace orch::api
