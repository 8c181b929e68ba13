#include "actors/events.hpp"

#include <algorithm>

#include "caf/all.hpp"

#include "runtime/core/recent_ids.hpp"
#include "runtime/messages/guarded.hpp"

namespace orch {

namespace {

/// Events can arrive twice: published by this process after its commit, and
/// again through the storage's live feed. The ids of recent ones are kept to
/// pass each on once.
constexpr size_t remembered_events = 16384;

struct events_state {
  std::vector<event_sink_actor> subscribers;
  recent_ids seen{remembered_events};
  static inline const char* name = "events";
};

using events_ptr = events_actor::stateful_pointer<events_state>;

void add_subscriber(events_ptr self, event_sink_actor sink) {
  auto& subs = self->state.subscribers;
  if (!sink || std::find(subs.begin(), subs.end(), sink) != subs.end())
    return;
  self->monitor(sink);
  subs.push_back(std::move(sink));
}

events_actor::behavior_type events_fn(events_ptr self, std::vector<event_sink_actor> initial) {
  // A subscriber that terminates is dropped.
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& subs = self->state.subscribers;
    subs.erase(std::remove_if(subs.begin(), subs.end(),
                              [&](const event_sink_actor& s) { return s.address() == dm.source; }),
               subs.end());
  });
  for (auto& sink : initial)
    add_subscriber(self, sink);
  return {
    guarded("events", [=](publish_atom, const std::vector<task_event>& events) {
      for (auto& ev : events)
        if (self->state.seen.insert(ev.id))
          for (auto& sub : self->state.subscribers)
            self->send(sub, ev);
    }),
    guarded("events", [=](subscribe_atom, event_sink_actor sink) {
      add_subscriber(self, std::move(sink));
    }),
    guarded("events", [=](unsub_atom, const event_sink_actor& sink) {
      auto& subs = self->state.subscribers;
      subs.erase(std::remove(subs.begin(), subs.end(), sink), subs.end());
    }),
  };
}

} // namespace

events_actor spawn_events(caf::actor_system& sys, std::vector<event_sink_actor> subscribers) {
  return sys.spawn(
    [subscribers](events_ptr self) { return events_fn(self, subscribers); });
}

} // namespace orch
