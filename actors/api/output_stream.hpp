// One follower of a task's output (GET /tasks/{id}/output?follow=1): a
// small actor that writes the output of each attempt as it comes (the
// attempt's live output, when it runs on this orchestrator's slots), or the
// stored output once the attempt ends (a worker node's attempt), then an
// `end` message with the task's outcome, and closes. Each message is one
// JSON object (output_text.hpp): a WebSocket message, or an SSE event
// named by its type. What the client has not read yet waits here, paced
// by the connection's backlog; the output is bounded, and so is this.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "caf/fwd.hpp"

#include "runtime/core/http_types.hpp"
#include "runtime/messages/interfaces.hpp"
#include "runtime/messages/storage_actor.hpp"

namespace orch::api {

struct output_stream_config {
  std::string task_id;
  scheduler_actor scheduler;                 // the live output of an attempt running here
  storage_actor storage;
  events_actor events;                       // when attempts start and end
  std::chrono::seconds storage_timeout{30};
  std::chrono::milliseconds keepalive{15000};
};

/// Starts serving `out` (the answer's header is written already).
void spawn_output_stream(caf::actor_system& sys, std::shared_ptr<http_stream> out,
                         output_stream_config cfg);

} // namespace orch::api
