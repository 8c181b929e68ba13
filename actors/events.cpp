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
  events_state() = default;  // not an aggregate (see the metrics actor's state)
  std::shared_ptr<event_subscribers> subs;
  recent_ids seen{remembered_events};
  static inline const char* name = "events";
};

using events_ptr = events_actor::stateful_pointer<events_state>;

template <class Handle>
void add(events_ptr self, std::vector<Handle>& list, Handle h) {
  if (!h || std::find(list.begin(), list.end(), h) != list.end())
    return;
  self->monitor(h);
  list.push_back(std::move(h));
}

template <class Handle>
void remove_where(std::vector<Handle>& list, const caf::actor_addr& who) {
  list.erase(std::remove_if(list.begin(), list.end(),
                            [&](const Handle& h) { return h.address() == who; }),
             list.end());
}

events_actor::behavior_type events_fn(events_ptr self, std::shared_ptr<event_subscribers> subs) {
  self->state.subs = subs;
  // A restarted actor watches the subscribers its predecessor had.
  for (auto& s : subs->sinks)
    self->monitor(s);
  for (auto& s : subs->streams)
    self->monitor(s);
  // A subscriber that terminates is dropped.
  self->set_down_handler([=](caf::down_msg& dm) {
    remove_where(subs->sinks, dm.source);
    remove_where(subs->streams, dm.source);
  });
  return {
    guarded("events", [=](publish_atom, std::vector<task_event>& events) {
      for (auto& ev : events) {
        if (!self->state.seen.insert(ev.id))
          continue;
        for (auto& sub : subs->sinks)
          self->send(sub, ev);
        if (subs->streams.empty())
          continue;
        event_ref ref{publish_form(std::move(ev))};
        for (auto& sub : subs->streams)
          self->send(sub, ref);
      }
    }),
    guarded("events", [=](subscribe_atom, event_sink_actor sink) {
      add(self, subs->sinks, std::move(sink));
    }),
    guarded("events", [=](unsub_atom, const event_sink_actor& sink) {
      remove_where(subs->sinks, sink.address());
    }),
    guarded("events", [=](subscribe_atom, event_stream_sink_actor sink) {
      add(self, subs->streams, std::move(sink));
    }),
    guarded("events", [=](unsub_atom, const event_stream_sink_actor& sink) {
      remove_where(subs->streams, sink.address());
    }),
  };
}

} // namespace

events_actor spawn_events(caf::actor_system& sys, std::shared_ptr<event_subscribers> subscribers) {
  return sys.spawn(
    [subscribers](events_ptr self) { return events_fn(self, subscribers); });
}

} // namespace orch
