// The events actor: fan-out of task events (every state change) to
// subscribers: the scheduler, and the streams of GET /events and output
// followers. Events are published after the write that contains them has
// committed; events of other processes arrive from the storage's live feed,
// so each is passed on once however often it arrives. A stream gets each
// event rendered once for all streams (event_ref): a hundred subscribers
// cost a hundred pointers, not a hundred encodings.
#pragma once

#include <memory>
#include <vector>

#include "runtime/messages/interfaces.hpp"

namespace orch {

/// Who is subscribed. It lives outside the actor: an events actor that is
/// restarted goes on with the same subscribers, streams included.
struct event_subscribers {
  std::vector<event_sink_actor> sinks;            // every event as it is
  std::vector<event_stream_sink_actor> streams;   // every event, rendered
};

events_actor spawn_events(caf::actor_system& sys,
                          std::shared_ptr<event_subscribers> subscribers
                          = std::make_shared<event_subscribers>());

} // namespace orch
