#include "actors/api/event_stream.hpp"

#include <algorithm>
#include <deque>
#include <unordered_map>
#include <vector>

#include "caf/all.hpp"

#include "runtime/core/codec.hpp"
#include "runtime/core/log.hpp"
#include "runtime/core/recent_ids.hpp"
#include "runtime/messages/guarded.hpp"

namespace orch::api {

namespace {

constexpr uint32_t replay_page = 500;
/// Live events held while a replay runs; a replay slower than the events
/// that come meanwhile ends the stream (the client resumes from where it got).
constexpr size_t max_held = 20000;
/// A replay waits while this much is still unwritten, rather than be cut off.
constexpr size_t replay_backlog = 256 * 1024;
constexpr auto replay_wait = std::chrono::milliseconds(20);
/// Replayed ids kept once live, against late live copies.
constexpr size_t kept_replayed = 2 * replay_page;
/// Replayed ids kept while the replay runs. A live copy of a replayed
/// event is one committed since the replay began, so among the newest it
/// read: no more of those than live events held (max_held, or the stream
/// ends), and the late ones kept afterwards.
constexpr size_t kept_replaying = max_held + kept_replayed;
/// Tasks whose label verdict a stream keeps (then it starts afresh).
constexpr size_t label_verdicts_kept = 10000;

using event_stream_actor = event_stream_sink_actor::extend<
  caf::reacts_to<render_atom>,               // keepalive due
  caf::reacts_to<poll_atom>>;                // the next replay page

struct event_stream_state {
  event_stream_state() = default;  // not an aggregate (see the metrics actor's state)
  std::shared_ptr<http_stream> out;
  event_stream_config cfg;
  bool replaying = false;
  std::string cursor;                        // the replay's last stored event
  /// Ids the replay wrote. The newest stay after it ends: an event can be
  /// read from the store before its live copy comes (published after its
  /// commit, or through another instance's live query).
  recent_ids replayed{kept_replaying};
  std::vector<event_ref> held;               // live events that came during the replay
  // A label filter: whether each task seen lately has the labels (a task's
  // labels never change), and the events waiting in order for their
  // task's to be read.
  std::unordered_map<std::string, bool> label_verdicts;
  std::deque<std::shared_ptr<const published_event>> awaiting_labels;
  bool reading_labels = false;
  static inline const char* name = "event stream";
};

using stream_ptr = event_stream_actor::stateful_pointer<event_stream_state>;

/// Ends the stream saying why: an event stream's last comment line, a
/// WebSocket's close reason.
void end(stream_ptr self, const std::string& why) {
  if (auto& out = self->state.out)
    out->close(out->messages() ? std::string{} : ": " + why + "\n\n", why);
  self->quit();
}

/// Sends `p`; false once the client is gone or too slow.
bool push_event(stream_ptr self, const published_event& p) {
  auto& s = self->state;
  // A WebSocket message is the event's JSON, as GET /tasks/{id}/events has it.
  if (s.out->push(s.out->messages() ? p.json : p.sse))
    return true;
  self->quit();
  return false;
}

void look_up_labels(stream_ptr self, const std::string& task_id);

/// Sends the events whose task's labels are known, in order, up to the
/// first whose are not (read now); false once the client is gone.
bool drain_labels(stream_ptr self) {
  auto& s = self->state;
  while (!s.awaiting_labels.empty()) {
    auto head = s.awaiting_labels.front();
    auto& task_id = head->ev.task_id;
    auto verdict = s.label_verdicts.find(task_id);
    if (!task_id.empty() && verdict == s.label_verdicts.end()) {
      look_up_labels(self, task_id);
      return true;
    }
    s.awaiting_labels.pop_front();
    // A node's event has no task, so no labels: it never matches.
    if (!task_id.empty() && verdict->second && !push_event(self, *head))
      return false;
  }
  return true;
}

void look_up_labels(stream_ptr self, const std::string& task_id) {
  auto& s = self->state;
  if (s.reading_labels)
    return;
  s.reading_labels = true;
  auto decided = [=](bool match) {
    auto& st = self->state;
    st.reading_labels = false;
    if (st.label_verdicts.size() >= label_verdicts_kept)
      st.label_verdicts.clear();
    st.label_verdicts[task_id] = match;
    drain_labels(self);
  };
  self->request(s.cfg.storage, s.cfg.storage_timeout, caf::get_atom_v, record_kind::task, task_id)
    .then(
      [=](const record& r) {
        task t;
        decided(decode(r.json, t) && labels_match(self->state.cfg.filter, t.labels));
      },
      [=](caf::error& e) {
        if (error_code(e) == errc::not_found)
          return decided(false);
        end(self, "the labels of task " + task_id + " could not be read (" + error_text(e)
                    + "); reconnect with Last-Event-ID to resume");
      });
}

/// Writes `p` if it matches; false once the client is gone or too slow.
bool write(stream_ptr self, std::shared_ptr<const published_event> p) {
  auto& s = self->state;
  if (!s.cfg.filter.matches(p->ev))
    return true;
  if (s.cfg.filter.labels.empty())
    return push_event(self, *p);
  if (s.awaiting_labels.size() >= max_held) {
    end(self, "more events waited for their tasks' labels than the stream holds; reconnect "
              "with Last-Event-ID to resume");
    return false;
  }
  s.awaiting_labels.push_back(std::move(p));
  return drain_labels(self);
}

void go_live(stream_ptr self) {
  auto& s = self->state;
  s.replaying = false;
  // Held live events the replay has not written, in id order (ids sort by
  // time); the replay's own are not written twice.
  std::sort(s.held.begin(), s.held.end(), [](const event_ref& a, const event_ref& b) {
    return a.event->ev.id < b.event->ev.id;
  });
  auto held = std::move(s.held);
  s.held.clear();
  for (auto& ref : held)
    if (!s.replayed.contains(ref.event->ev.id) && !write(self, ref.event))
      return;
  s.replayed.set_capacity(kept_replayed);
}

void replay_next(stream_ptr self) {
  auto& s = self->state;
  if (s.out->queued() > replay_backlog || s.awaiting_labels.size() > replay_page) {
    self->delayed_send(self, replay_wait, poll_atom_v);
    return;
  }
  self->request(s.cfg.storage, s.cfg.storage_timeout, scan_atom_v,
                scan_request{record_kind::event, s.cursor, replay_page})
    .then(
      [=](const std::vector<record>& page) {
        auto& st = self->state;
        for (auto& r : page) {
          st.cursor = r.key;
          task_event ev;
          if (auto ok = decode(r.json, ev); !ok) {
            log_warn("events", "event stream: skipping stored event " + r.key + ": "
                                 + ok.message());
            continue;
          }
          st.replayed.insert(ev.id);
          if (!write(self, publish_form(std::move(ev))))
            return;
        }
        if (page.size() < replay_page)
          go_live(self);
        else
          self->send(self, poll_atom_v);
      },
      [=](caf::error& e) {
        end(self, "the stored events could not be read (" + error_text(e)
                    + "); reconnect with Last-Event-ID to resume");
      });
}

event_stream_actor::behavior_type event_stream_fn(stream_ptr self, std::shared_ptr<http_stream> out,
                                                  event_stream_config cfg) {
  auto& s = self->state;
  s.out = std::move(out);
  s.cfg = std::move(cfg);
  // The connection ends (client gone, too slow, server stopping): so does
  // this actor. A weak handle: the stream must not keep its actor alive.
  caf::weak_actor_ptr weak = caf::actor_cast<caf::weak_actor_ptr>(self);
  s.out->on_ended([weak, metrics = s.cfg.metrics](const std::string& why) {
    if (why.rfind("the client read too slowly", 0) == 0) {
      log_warn("events", "an event stream was cut off: " + why
                           + " (--stream-buffer-bytes); it may resume with Last-Event-ID");
      if (metrics)
        caf::anon_send(metrics, metric_update::count("orchestrator_event_streams_cut_total"));
    }
    if (auto strong = weak.lock())
      caf::anon_send_exit(strong, caf::exit_reason::normal);
  });
  // The events front ends only when the process is going down (it restarts
  // the events actor itself, keeping its subscribers): the client is told
  // to come back and resume.
  self->monitor(s.cfg.events);
  self->set_down_handler([=](caf::down_msg&) {
    end(self, "the event feed stopped; reconnect with Last-Event-ID to resume");
  });
  self->send(s.cfg.events, subscribe_atom_v, caf::actor_cast<event_stream_sink_actor>(self));
  // EventSource reconnects after a second; the first bytes tell a client
  // (and any proxy) the stream is open. A WebSocket is open once its
  // handshake is done, and the server pings it when it is quiet.
  if (!s.out->messages()) {
    s.out->push("retry: 1000\n: stream open\n\n");
    self->delayed_send(self, s.cfg.keepalive, render_atom_v);
  }
  if (!s.cfg.filter.after.empty()) {
    s.replaying = true;
    s.cursor = s.cfg.filter.after;
    replay_next(self);
  }
  return {
    [=](const event_ref& ref) {
      auto& st = self->state;
      if (!st.replaying) {
        if (!st.replayed.contains(ref.event->ev.id))
          write(self, ref.event);
        return;
      }
      if (st.held.size() >= max_held)
        return end(self, "more events came during the replay than it could hold; reconnect "
                         "with Last-Event-ID to resume");
      st.held.push_back(ref);
    },
    [=](render_atom) {
      if (!self->state.out->push(": keepalive\n\n"))
        return self->quit();
      self->delayed_send(self, self->state.cfg.keepalive, render_atom_v);
    },
    [=](poll_atom) { replay_next(self); },
  };
}

} // namespace

void spawn_event_stream(caf::actor_system& sys, std::shared_ptr<http_stream> out,
                        event_stream_config cfg) {
  sys.spawn(event_stream_fn, std::move(out), std::move(cfg));
}

} // namespace orch::api
