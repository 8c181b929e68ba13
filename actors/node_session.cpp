#include "actors/node_session.hpp"

#include <map>
#include <set>

#include "caf/all.hpp"

#include "actors/remote_attempt.hpp"
#include "runtime/auth/user_changes.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/event_kinds.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/core/log.hpp"
#include "runtime/core/recent_ids.hpp"
#include "runtime/messages/guarded.hpp"

namespace orch {

namespace {

constexpr auto run_timeout = std::chrono::seconds(5);
constexpr auto lease_check_interval = std::chrono::milliseconds(250);
constexpr size_t delivered_kept = 4096;
constexpr auto store_timeout = std::chrono::seconds(30);

using node_session_impl_actor = node_session_actor::extend_with<node_session_remote_actor>
  ::extend_with<node_session_control_actor>
  ::extend<caf::reacts_to<node_tick_atom>>;

struct live_attempt {
  remote_attempt_actor stand_in;
  std::string task_id;
  uint32_t attempt = 0;
  std::shared_ptr<live_output> output;       // relayed by the worker as it comes
};

struct node_session_state {
  node_session_state() = default;  // not an aggregate (see the metrics actor's state)
  node_status status;
  node_worker_actor worker;                  // while connected
  bool connected = false;
  bool leaving = false;                      // said so (SIGTERM): no new attempts
  std::chrono::steady_clock::time_point last_seen;
  std::map<std::string, live_attempt> attempts;  // by attempt id
  /// Attempts whose result was used, newest last: a worker that hands one
  /// back again (its first hand-back's answer was lost in a reconnect) is
  /// told "taken" without a false discard in the audit log.
  recent_ids delivered{delivered_kept};
  static inline const char* name = "node session";
};

using session_ptr = node_session_impl_actor::stateful_pointer<node_session_state>;

void audit(session_ptr self, const node_session_config& cfg, const char* action,
           const std::string& target, const std::string& outcome, const std::string& details) {
  if (!cfg.audit)
    return;
  auth::change_context by{"node:" + self->state.status.name, now_us()};
  caf::anon_send(cfg.audit, audit_atom_v, auth::audit_entry(by, action, target, outcome, details));
}

/// What happened to the node, as an event in the stream (stored, so a
/// subscriber that resumes later sees it too) and, for `action`, in the
/// audit log. The storage gives the event its id as it commits and
/// publishes it then.
void announce(session_ptr self, const node_session_config& cfg, const char* kind,
              const char* action, const std::string& details) {
  if (action)
    audit(self, cfg, action, "node:" + self->state.status.name, "ok", details);
  if (!cfg.storage)
    return;
  task_event ev;
  ev.time = now_us();
  ev.id = new_uuid_v7(ev.time);
  ev.kind = kind;
  ev.node = self->state.status.name;
  ev.details = details;
  write_batch b;
  put(b, to_record(ev));
  b.stamp_events = true;
  self->request(cfg.storage, store_timeout, commit_atom_v, std::move(b))
    .then([](uint64_t) {},
          [kind, name = ev.node](caf::error& e) {
            log_warn("nodes", std::string{"could not store the event "} + kind + " of worker '"
                                + name + "': " + error_text(e));
          });
}

/// The worker was heard of now: its lease starts again. The scheduler (for
/// GET /nodes) is told at each renewal, once a second, not at each result.
void heard_of(session_ptr self) {
  auto& s = self->state;
  s.last_seen = std::chrono::steady_clock::now();
  s.status.last_heartbeat = now_us();
}

/// The attempt ends here as lost: its stand-in reports it to the scheduler.
void lose(session_ptr self, const std::string& id, const std::string& why) {
  auto& attempts = self->state.attempts;
  auto i = attempts.find(id);
  if (i == attempts.end())
    return;
  self->send(i->second.stand_in, done_atom_v,
             lost_on_node(i->second.task_id, i->second.attempt, self->state.status.name, why,
                          i->second.output.get()));
  attempts.erase(i);
}

void lose_all(session_ptr self, const std::string& why) {
  std::vector<std::string> ids;
  for (auto& [id, a] : self->state.attempts)
    ids.push_back(id);
  for (auto& id : ids)
    lose(self, id, why);
}

/// Not heard of for the lease: every attempt is lost, the session ends.
void give_up(session_ptr self, const node_session_config& cfg, const std::string& why) {
  auto& s = self->state;
  log_warn("nodes", "worker '" + s.status.name + "' is lost (" + why + "); "
                      + std::to_string(s.attempts.size()) + " attempt(s) it ran are taken back");
  announce(self, cfg, event_kind::node_lost, audit_action::node_loss,
           why + "; attempts taken back: " + std::to_string(s.attempts.size()));
  lose_all(self, why);
  if (s.connected)
    self->send(cfg.scheduler, node_down_atom_v, s.status.registration, why);
  self->quit();
}

} // namespace

node_session_handles spawn_node_session(caf::actor_system& sys, node_status status,
                                        node_session_config cfg) {
  auto impl = sys.spawn([status, cfg](session_ptr self) -> node_session_impl_actor::behavior_type {
    self->state.status = status;
    self->state.last_seen = std::chrono::steady_clock::now();
    self->set_down_handler([=](caf::down_msg& dm) {
      auto& s = self->state;
      if (s.worker && dm.source == s.worker.address()) {
        if (s.leaving && s.attempts.empty()) {
          // It said it was leaving and handed everything back: gone for good.
          log_info("nodes", "worker '" + s.status.name + "' left");
          self->quit();
          return;
        }
        // Its slots leave the pool now; its attempts wait out the lease.
        auto why = caf::to_string(dm.reason);
        log_warn("nodes", "the connection to worker '" + s.status.name + "' broke (" + why
                            + "); its " + std::to_string(s.attempts.size())
                            + " attempt(s) wait for it to come back");
        s.worker = nullptr;
        s.connected = false;
        announce(self, cfg, event_kind::node_disconnected, nullptr,
                 "the connection broke (" + why + "); "
                   + std::to_string(s.attempts.size())
                   + " attempt(s) wait out the lease for it to come back");
        self->send(cfg.scheduler, node_down_atom_v, s.status.registration,
                   "connection lost: " + why);
        return;
      }
      for (auto& [id, a] : s.attempts)  // a stand-in ended without its result
        if (a.stand_in.address() == dm.source) {
          if (s.worker)
            self->send(s.worker, cancel_atom_v, id);
          s.attempts.erase(id);
          return;
        }
    });
    self->send(self, node_tick_atom_v);
    return {
      // -- the coordinator: a (re)connection of this worker -------------------------
      guarded("node session",
              [=](rejoin_atom, node_hello& hello,
                  node_worker_actor& worker) -> caf::result<node_welcome> {
                auto& s = self->state;
                if (s.worker && s.worker != worker)
                  self->demonitor(s.worker.address());
                bool was_connected = s.connected;
                s.leaving = false;
                s.worker = worker;
                s.connected = true;
                s.status.last_heartbeat = now_us();
                s.last_seen = std::chrono::steady_clock::now();
                self->monitor(worker);
                node_welcome w;
                w.coordinator = cfg.instance;
                w.registration = s.status.registration;
                w.session = caf::actor_cast<node_session_remote_actor>(self);
                w.lease_ms = static_cast<uint32_t>(cfg.lease.count());
                // What it still has that is no longer its: kill, drop.
                std::set<std::string> reported;
                for (auto* list : {&hello.running, &hello.finished})
                  for (auto& id : *list) {
                    reported.insert(id);
                    if (!s.attempts.count(id))
                      w.cancel.push_back(id);
                  }
                // What it should have and does not (it restarted): lost.
                std::vector<std::string> missing;
                for (auto& [id, a] : s.attempts)
                  if (!reported.count(id))
                    missing.push_back(id);
                for (auto& id : missing)
                  lose(self, id, "the worker came back without it (restarted?)");
                s.status.address = hello.host + " (pid " + std::to_string(hello.pid) + ")";
                s.status.version = hello.version;
                s.status.caf_version = hello.caf_version;
                s.status.labels = hello.labels;
                s.status.slots = hello.slots;
                if (!was_connected) {
                  auto st = s.status;
                  st.running = static_cast<uint32_t>(s.attempts.size());
                  self->send(cfg.scheduler, node_up_atom_v, st,
                             caf::actor_cast<node_session_actor>(self));
                  announce(self, cfg, event_kind::node_joined, audit_action::node_join,
                           s.status.address + ", " + std::to_string(hello.slots) + " slot(s)"
                          + (w.cancel.empty() ? std::string{}
                                              : ", told to drop "
                                                  + std::to_string(w.cancel.size())
                                                  + " attempt(s) taken back"));
                }
                log_info("nodes", "worker '" + s.status.name + "' joined from "
                                    + s.status.address + " with " + std::to_string(hello.slots)
                                    + " slot(s)");
                return w;
              }),
      // -- the scheduler's stand-ins ---------------------------------------------------
      guarded("node session",
              [=](run_atom, node_attempt& a, remote_attempt_actor& stand_in, output_tap& tap) {
                auto& s = self->state;
                live_attempt live{stand_in, a.spec.task_id, a.spec.attempt, std::move(tap.live)};
                auto id = a.attempt_id;
                s.attempts[id] = live;
                self->monitor(stand_in);
                if (!s.connected)
                  return lose(self, id, "its connection had just broken");
                self->request(s.worker, run_timeout, run_atom_v, std::move(a))
                  .then([](bool) {},
                        [=](caf::error& e) { lose(self, id, "it did not start: " + error_text(e)); });
              }),
      guarded("node session",
              [=](cancel_atom, const std::string& id) {
                auto& s = self->state;
                if (s.connected) {
                  self->send(s.worker, cancel_atom_v, id);
                  return;
                }
                // Unreachable: the attempt is over for the scheduler now; the
                // worker is told to kill it if it comes back.
                lose(self, id, "cancelled while its worker was unreachable");
              }),
      // -- the worker ----------------------------------------------------------------------
      guarded("node session",
              [=](done_atom, const std::string& id, exec_result& r) -> caf::result<bool> {
                auto& s = self->state;
                heard_of(self);
                auto i = s.attempts.find(id);
                if (i == s.attempts.end() && s.delivered.contains(id))
                  return true;  // handed back twice: the first one was used
                if (i == s.attempts.end()) {
                  // Taken back (or from before this orchestrator started):
                  // another attempt owns the task's outcome now.
                  log_warn("nodes", "discarded a late result from worker '" + s.status.name
                                      + "' for task " + r.task_id + " attempt "
                                      + std::to_string(r.attempt) + ": taken back earlier");
                  audit(self, cfg, audit_action::node_result_discarded, "task:" + r.task_id,
                        "denied",
                        "attempt " + std::to_string(r.attempt) + " (" + id + ") from worker '"
                          + s.status.name + "', taken back earlier");
                  return true;
                }
                self->send(i->second.stand_in, done_atom_v, std::move(r));
                self->demonitor(i->second.stand_in.address());
                s.attempts.erase(i);
                s.delivered.insert(id);
                return true;
              }),
      guarded("node session",
              [=](output_atom, const std::string& id, bool is_stderr, uint64_t offset,
                  const std::string& piece) {
                // A piece past a gap (cut off meanwhile) is dropped here; the
                // worker sends everything again once it is back.
                auto i = self->state.attempts.find(id);
                if (i != self->state.attempts.end() && i->second.output)
                  i->second.output->append_at(is_stderr ? output_stream::err : output_stream::out,
                                              offset, piece);
              }),
      guarded("node session",
              [=](renew_atom) -> caf::result<bool> {
                auto& s = self->state;
                heard_of(self);
                self->send(cfg.scheduler, renew_atom_v, s.status.registration,
                           s.status.last_heartbeat);
                return true;
              }),
      guarded("node session",
              [=](drain_atom) -> caf::result<bool> {
                auto& s = self->state;
                heard_of(self);
                if (s.leaving)
                  return true;
                s.leaving = true;
                log_info("nodes", "worker '" + s.status.name + "' is leaving; "
                                    + std::to_string(s.attempts.size())
                                    + " attempt(s) it runs may finish");
                announce(self, cfg, event_kind::node_left, audit_action::node_leave,
                         "stopping; attempts still running there: "
                           + std::to_string(s.attempts.size()));
                if (s.connected)
                  self->send(cfg.scheduler, node_down_atom_v, s.status.registration,
                             std::string{"leaving (stopped by its operator)"});
                return true;
              }),
      guarded("node session",
              [=](node_tick_atom) {
                auto& s = self->state;
                auto silent = std::chrono::steady_clock::now() - s.last_seen;
                if (silent > cfg.lease) {
                  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(silent).count();
                  give_up(self, cfg, "not heard of for " + std::to_string(ms) + " ms");
                  return;
                }
                self->delayed_send(self, lease_check_interval, node_tick_atom_v);
              }),
    };
  });
  return {caf::actor_cast<node_session_control_actor>(impl),
          caf::actor_cast<node_session_actor>(impl)};
}

} // namespace orch
