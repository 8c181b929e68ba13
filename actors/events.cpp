#include "actors/events.hpp"

#include <algorithm>
#include <deque>
#include <unordered_set>

#include "caf/all.hpp"

namespace orch {

namespace {

/// Events can arrive twice: published by this process after its commit, and
/// again through the storage's live feed. The ids of recent ones are kept to
/// pass each on once.
constexpr size_t remembered_events = 16384;

struct events_state {
  std::vector<event_sink_actor> subscribers;
  std::unordered_set<std::string> seen;
  std::deque<std::string> seen_order;
  static inline const char* name = "events";

  bool first_time(const std::string& id) {
    if (!seen.insert(id).second)
      return false;
    seen_order.push_back(id);
    if (seen_order.size() > remembered_events) {
      seen.erase(seen_order.front());
      seen_order.pop_front();
    }
    return true;
  }
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
      for (auto& ev : events)
        if (self->state.first_time(ev.id))
          for (auto& sub : self->state.subscribers)
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
