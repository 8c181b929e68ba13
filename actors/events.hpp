// The events actor: fan-out of task events (every state change) to
// subscribers, e.g. WebSocket clients of GET /events. Events are published
// after the write that contains them has committed.
#pragma once

#include "runtime/messages/interfaces.hpp"

namespace orch {

events_actor spawn_events(caf::actor_system& sys);

} // namespace orch
