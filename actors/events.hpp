// The events actor: fan-out of task events (every state change) to
// subscribers, e.g. the scheduler and, later, clients of GET /events. Events
// are published after the write that contains them has committed; events of
// other processes arrive from the storage's live feed, so each is passed on
// once however often it arrives.
#pragma once

#include <vector>

#include "runtime/messages/interfaces.hpp"

namespace orch {

/// `subscribers` are subscribed from the start.
events_actor spawn_events(caf::actor_system& sys, std::vector<event_sink_actor> subscribers = {});

} // namespace orch
