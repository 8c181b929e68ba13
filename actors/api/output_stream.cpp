#include "actors/api/output_stream.hpp"

#include <deque>
#include <vector>

#include "caf/all.hpp"

#include "runtime/core/codec.hpp"
#include "runtime/core/event_kinds.hpp"
#include "runtime/core/output_text.hpp"
#include "runtime/messages/guarded.hpp"

namespace orch::api {

namespace {

/// Pushed and unwritten bytes above this: what follows waits here.
constexpr size_t backlog = 256 * 1024;
constexpr auto pace = std::chrono::milliseconds(20);

using output_stream_actor = event_stream_sink_actor::extend<
  caf::reacts_to<output_atom, bool, std::string>,  // a piece of live output (true: stderr)
  caf::reacts_to<done_atom>,                       // the followed attempt's output is complete
  caf::reacts_to<render_atom>,                     // keepalive due
  caf::reacts_to<poll_atom>>;                      // write what waits

struct output_stream_state {
  output_stream_state() = default;  // not an aggregate (see the metrics actor's state)
  std::shared_ptr<http_stream> out;
  output_stream_config cfg;
  bool looking = true;                       // an answer is on its way: events wait
  std::vector<task_event> held;              // the task's events that came meanwhile
  uint32_t attempt = 0;                      // the attempt followed; 0: none yet
  bool live = false;                         // ... through its live output
  bool live_complete = false;                // ... which is all here
  std::string carry[2];                      // an unfinished UTF-8 character per stream
  std::deque<std::string> waiting;           // rendered, not pushed yet
  bool poll_due = false;
  bool ending = false;                       // the end is queued: close once written
  static inline const char* name = "output stream";
};

using output_ptr = output_stream_actor::stateful_pointer<output_stream_state>;

void flush(output_ptr self) {
  auto& s = self->state;
  while (!s.waiting.empty() && s.out->queued() < backlog) {
    if (!s.out->push(std::move(s.waiting.front())))
      return self->quit();  // gone, or too slow
    s.waiting.pop_front();
  }
  if (!s.waiting.empty()) {
    if (!s.poll_due) {
      s.poll_due = true;
      self->delayed_send(self, pace, poll_atom_v);
    }
    return;
  }
  if (s.ending) {
    s.out->close();
    self->quit();
  }
}

void queue(output_ptr self, const std::string& type, std::string json) {
  auto& s = self->state;
  s.waiting.push_back(s.out->messages() ? std::move(json) : sse_message(type, json));
  flush(self);
}

/// A piece of `which`; a UTF-8 character cut at its end waits for the
/// next piece (`last`: there is none).
void piece(output_ptr self, output_stream which, const std::string& text, bool last) {
  auto& carry = self->state.carry[which == output_stream::err ? 1 : 0];
  carry += text;
  auto whole = last ? carry.size() : utf8_whole_prefix(carry);
  if (whole == 0)
    return;
  queue(self, "output", output_piece_message(which, std::string_view{carry}.substr(0, whole)));
  carry.erase(0, whole);
}

void flush_carry(output_ptr self) {
  piece(self, output_stream::out, {}, true);
  piece(self, output_stream::err, {}, true);
}

/// The task has ended: what the client has not had of its last attempt
/// (it ran elsewhere, or was not followed live), then its outcome.
void conclude(output_ptr self, const task& t) {
  auto& s = self->state;
  if (s.ending)
    return;
  flush_carry(self);
  bool had_it = s.live && s.live_complete && s.attempt == t.attempts;
  if (t.attempts > 0 && !had_it) {
    if (s.attempt != t.attempts)
      queue(self, "attempt", attempt_message(t.attempts, t.node, false));
    piece(self, output_stream::out, t.output, true);
    piece(self, output_stream::err, t.error_output, true);
  }
  queue(self, "end", end_message(t));
  s.ending = true;
  flush(self);
}

void end_early(output_ptr self, const std::string& why) {
  auto& out = self->state.out;
  out->close(out->messages() ? std::string{} : ": " + why + "\n\n", why);
  self->quit();
}

/// Reads the task as it is now and hands it to `then`; a task that cannot
/// be read ends the stream, saying why.
template <class F>
void read_task(output_ptr self, F then) {
  auto& s = self->state;
  self->request(s.cfg.storage, s.cfg.storage_timeout, caf::get_atom_v, record_kind::task,
                s.cfg.task_id)
    .then(
      [=](const record& r) {
        task t;
        if (!decode(r.json, t))
          return end_early(self, "the task's record could not be read");
        then(t);
      },
      [=](caf::error& e) {
        end_early(self, "the task could not be read (" + error_text(e) + ")");
      });
}

void read_and_conclude(output_ptr self) {
  read_task(self, [=](const task& t) { conclude(self, t); });
}

void resume_held(output_ptr self);

/// Attempt `attempt` has begun: its live output (here or relayed). Later
/// events wait for the scheduler's answer, so the attempt is announced
/// before anything of it.
void follow(output_ptr self, uint32_t attempt, const std::string& node) {
  auto& s = self->state;
  if (attempt == s.attempt)
    return;
  flush_carry(self);  // the previous attempt's last character
  s.attempt = attempt;
  s.live = false;
  s.live_complete = false;
  s.looking = true;
  self->request(s.cfg.scheduler, s.cfg.storage_timeout, output_atom_v, s.cfg.task_id)
    .then(
      [=](output_tap& tap) {
        auto& st = self->state;
        if (st.attempt != attempt || st.ending)
          return;  // ended meanwhile
        bool live = false;
        if (tap.live) {
          auto weak = caf::actor_cast<caf::weak_actor_ptr>(self);
          // Called on the process's reading thread: hand each piece over.
          live = tap.live->follow(
            [weak](output_stream which, std::string_view text) {
              auto strong = weak.lock();
              if (!strong)
                return false;
              caf::anon_send(caf::actor_cast<caf::actor>(strong), output_atom_v,
                             which == output_stream::err, std::string{text});
              return true;
            },
            [weak] {
              if (auto strong = weak.lock())
                caf::anon_send(caf::actor_cast<caf::actor>(strong), done_atom_v);
            });
        }
        st.live = live;
        queue(self, "attempt", attempt_message(attempt, node, live));
        resume_held(self);
      },
      [=](caf::error&) {
        // The scheduler did not answer: this attempt's output comes at the end.
        if (self->state.attempt == attempt && !self->state.ending) {
          queue(self, "attempt", attempt_message(attempt, node, false));
          resume_held(self);
        }
      });
}

void on_event(output_ptr self, const task_event& ev);

/// Events held while a read was on its way, now in their order.
void resume_held(output_ptr self) {
  auto& s = self->state;
  s.looking = false;
  auto held = std::move(s.held);
  s.held.clear();
  size_t i = 0;
  while (i < held.size() && !s.looking)
    on_event(self, held[i++]);
  // A read began again (an attempt ended): the rest waits for it, first.
  s.held.insert(s.held.begin(), held.begin() + static_cast<std::ptrdiff_t>(i), held.end());
}

/// The followed attempt `n` ended and the task waits to run again: what
/// the client has not had of it is in the stored record until the next
/// attempt ends. Later events wait for the read, so the order holds.
void catch_up(output_ptr self, uint32_t n) {
  auto& s = self->state;
  flush_carry(self);
  if (s.attempt != n || (s.live && s.live_complete))
    return;
  s.looking = true;
  read_task(self, [=](const task& t) {
    if (t.attempts == n || (t.attempts == n + 1 && t.status == task_status::running)) {
      piece(self, output_stream::out, t.output, true);
      piece(self, output_stream::err, t.error_output, true);
    }
    resume_held(self);
  });
}

void on_event(output_ptr self, const task_event& ev) {
  auto& s = self->state;
  if (ev.task_id != s.cfg.task_id || s.ending)
    return;
  if (s.looking) {
    s.held.push_back(ev);
    return;
  }
  task_status st;
  if (ev.kind == event_kind::started)
    follow(self, ev.attempt, ev.node);
  else if (parse_status(ev.status, st) && is_terminal(st))
    read_and_conclude(self);
  else if (ev.kind == event_kind::retry_scheduled || ev.kind == event_kind::requeued)
    catch_up(self, ev.attempt);
}

/// The task as it is now: ended, running, or waiting to run.
void look(output_ptr self) {
  read_task(self, [=](const task& t) {
    if (is_terminal(t.status))
      return conclude(self, t);
    if (t.status == task_status::running)
      return follow(self, t.attempts, t.node);
    resume_held(self);
  });
}

output_stream_actor::behavior_type output_stream_fn(output_ptr self,
                                                    std::shared_ptr<http_stream> out,
                                                    output_stream_config cfg) {
  auto& s = self->state;
  s.out = std::move(out);
  s.cfg = std::move(cfg);
  auto weak = caf::actor_cast<caf::weak_actor_ptr>(self);
  s.out->on_ended([weak](const std::string&) {
    if (auto strong = weak.lock())
      caf::anon_send_exit(strong, caf::exit_reason::normal);
  });
  self->monitor(s.cfg.events);
  self->set_down_handler([=](caf::down_msg&) {
    end_early(self, "the event feed stopped; ask again to follow the task");
  });
  // Subscribed before the first look: nothing that happens after it is missed.
  self->send(s.cfg.events, subscribe_atom_v, caf::actor_cast<event_stream_sink_actor>(self));
  if (!s.out->messages()) {
    s.out->push("retry: 1000\n: following task " + s.cfg.task_id + "\n\n");
    self->delayed_send(self, s.cfg.keepalive, render_atom_v);
  }
  look(self);
  return {
    [=](const event_ref& ref) { on_event(self, ref.event->ev); },
    [=](output_atom, bool is_err, std::string& text) {
      piece(self, is_err ? output_stream::err : output_stream::out, text, false);
    },
    [=](done_atom) {
      self->state.live_complete = true;
      flush_carry(self);
    },
    [=](render_atom) {
      auto& st = self->state;
      if (st.waiting.empty() && !st.out->push(": keepalive\n\n"))
        return self->quit();
      self->delayed_send(self, st.cfg.keepalive, render_atom_v);
    },
    [=](poll_atom) {
      self->state.poll_due = false;
      flush(self);
    },
  };
}

} // namespace

void spawn_output_stream(caf::actor_system& sys, std::shared_ptr<http_stream> out,
                         output_stream_config cfg) {
  sys.spawn(output_stream_fn, std::move(out), std::move(cfg));
}

} // namespace orch::api
