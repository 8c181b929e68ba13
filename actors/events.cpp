#include "actors/events.hpp"

#include <algorithm>

#include "caf/all.hpp"

namespace orch {

namespace {

struct events_state {
  std::vector<event_sink_actor> subscribers;
  static inline const char* name = "events";
};

events_actor::behavior_type events_fn(events_actor::stateful_pointer<events_state> self) {
  // A subscriber that terminates is dropped.
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& subs = self->state.subscribers;
    subs.erase(std::remove_if(subs.begin(), subs.end(),
                              [&](const event_sink_actor& s) { return s.address() == dm.source; }),
               subs.end());
  });
  return {
    [=](publish_atom, const std::vector<task_event>& events) {
      for (auto& sub : self->state.subscribers)
        for (auto& ev : events)
          self->send(sub, ev);
    },
    [=](subscribe_atom, event_sink_actor sink) {
      self->monitor(sink);
      self->state.subscribers.push_back(std::move(sink));
    },
    [=](unsub_atom, const event_sink_actor& sink) {
      auto& subs = self->state.subscribers;
      subs.erase(std::remove(subs.begin(), subs.end(), sink), subs.end());
    },
  };
}

} // namespace

events_actor spawn_events(caf::actor_system& sys) {
  return sys.spawn(events_fn);
}

} // namespace orch
