#include "actors/queue.hpp"

#include <limits>
#include <set>

#include "caf/all.hpp"

#include "runtime/core/log.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/transitions.hpp"
#include "runtime/messages/guarded.hpp"

namespace orch {

namespace {

constexpr uint32_t sweep_batch = 500;

struct queue_state {
  // Not an aggregate: CAF constructs a state from the self pointer when it
  // can, and C++20 would let it initialise the first handle member with it.
  queue_state() = default;
  storage_actor storage;
  wake_listener_actor listener;
  queue_config cfg;
  std::set<std::string> held;                // tasks this process runs
  micros next_wake = 0;                      // earliest scheduled wake-up; 0: none
  bool sweeping = false;
  static inline const char* name = "queue";
};

// Its own timers: a wake-up is due, look for lost claims, renew leases.
using queue_impl_actor = queue_actor::extend<
  caf::reacts_to<wake_due_atom>,
  caf::reacts_to<sweep_atom>,
  caf::reacts_to<renew_due_atom>>;

using queue_ptr = queue_impl_actor::stateful_pointer<queue_state>;

caf::timespan until(micros t) {
  auto d = t - now_us();
  return std::chrono::microseconds(d > 0 ? d : 0);
}

void recover(queue_ptr self, const queue_entry& stale, bool attempt_ran) {
  auto& st = self->state;
  self->request(st.storage, st.cfg.storage_timeout, caf::get_atom_v, record_kind::task,
                stale.task_id)
    .then(
      guarded("queue", [=](const record& r) {
        task t;
        if (auto decoded = decode(r.json, t); !decoded) {
          log_error("queue", "cannot recover task " + stale.task_id + ": " + decoded.message());
          return;
        }
        auto& st = self->state;
        auto why = !attempt_ran
                     ? "this process claimed it but never started it (the reply to the claim "
                       "was lost)"
                   : stale.claimed_by == st.cfg.instance || !st.cfg.shared_backend
                     ? "the orchestrator process running attempt " + std::to_string(t.attempts)
                         + " (" + stale.claimed_by + ") stopped before it finished"
                     : "the lease of " + stale.claimed_by + " on attempt "
                         + std::to_string(t.attempts) + " expired at "
                         + format_rfc3339(stale.lease_until)
                         + " (that process stopped or lost its connection)";
        actor_context ctx{"queue:" + st.cfg.instance, now_us()};
        auto tr = recover_transition(t, stale, why, ctx, attempt_ran);
        self->request(st.storage, st.cfg.storage_timeout, commit_atom_v, std::move(tr.batch))
          .then(
            guarded("queue", [=](uint64_t) {
              log_warn("queue", "task " + stale.task_id + ": " + why + "; "
                                  + (t.status == task_status::queued ? "queued again"
                                                                     : "failed: no retries left"));
              self->send(self->state.listener, wake_atom_v);
            }),
            [=](caf::error& e) {
              if (error_code(e) != errc::conflict)
                log_warn("queue", "recovering task " + stale.task_id
                                    + " failed: " + error_text(e));
            });
      }),
      [=](caf::error& e) {
        if (error_code(e) == errc::not_found) {
          // A queue entry without its task: nothing to run, remove it.
          write_batch b;
          b.ops.push_back({record_op::remove, {record_kind::queue, stale.task_id, {}}});
          self->request(self->state.storage, self->state.cfg.storage_timeout, commit_atom_v, b)
            .then([](uint64_t) {}, [](caf::error&) {});
          return;
        }
        log_warn("queue", "recovering task " + stale.task_id + " failed: " + error_text(e));
      });
}

void sweep(queue_ptr self) {
  auto& st = self->state;
  if (st.sweeping)
    return;
  st.sweeping = true;
  record_query q;
  q.kind = record_kind::queue;
  q.since = 1;
  auto now = now_us();
  // On a single-owner backend every claim not made by this process is stale;
  // on a shared one only claims whose lease has run out.
  q.until = st.cfg.shared_backend ? now : std::numeric_limits<micros>::max();
  q.limit = sweep_batch;
  self->request(st.storage, 2 * st.cfg.storage_timeout, query_atom_v, q)
    .then(
      guarded("queue", [=](const record_page& page) {
        auto& st = self->state;
        st.sweeping = false;
        auto now = now_us();
        for (auto& r : page.items) {
          queue_entry e;
          if (!decode(r.json, e) || e.claimed_by.empty())
            continue;
          bool ours = e.claimed_by == st.cfg.instance;
          bool expired = e.lease_until != 0 && e.lease_until < now;
          // A claim of ours that the scheduler does not hold never ran here:
          // it holds every attempt it starts until the outcome is stored.
          if (ours && expired && !st.held.count(e.task_id))
            recover(self, e, false);
          else if (!ours && (!st.cfg.shared_backend || expired))
            recover(self, e, true);
        }
      }),
      [=](caf::error& e) {
        self->state.sweeping = false;
        log_warn("queue", "looking for lost claims failed: " + error_text(e));
      });
}

/// Renews the leases of the tasks this process runs; those it lost (cancelled,
/// or recovered by another instance) are reported to the scheduler.
void renew_held(queue_ptr self) {
  auto& st = self->state;
  auto lease = std::chrono::microseconds(st.cfg.lease);
  if (st.held.empty())
    return;
  renew_request req{st.cfg.instance, {st.held.begin(), st.held.end()}, now_us() + st.cfg.lease};
  self->request(st.storage, lease / 3, renew_atom_v, std::move(req))
    .then(guarded("queue",
                  [=](const std::vector<std::string>& lost) {
                    if (lost.empty())
                      return;
                    // Not warned here: a renewal that crosses the commit of
                    // an attempt's outcome finds its entry gone too. The
                    // scheduler warns for the attempts it has to stop.
                    for (auto& id : lost)
                      self->state.held.erase(id);
                    self->send(self->state.listener, lost_atom_v, lost);
                  }),
          [=](caf::error& e) { log_warn("queue", "renewing leases failed: " + error_text(e)); });
}

queue_impl_actor::behavior_type queue_fn(queue_ptr self, storage_actor storage,
                                         wake_listener_actor listener, queue_config cfg) {
  auto& st = self->state;
  st.storage = std::move(storage);
  st.listener = std::move(listener);
  st.cfg = std::move(cfg);
  auto lease = std::chrono::microseconds(st.cfg.lease);
  // Renew at a third of the lease, so two renewals can fail before it expires.
  self->delayed_send(self, lease / 3, renew_due_atom_v);
  // Claims left by a previous run are recovered at once.
  self->send(self, sweep_atom_v);
  return {
    [=](claim_atom, claim_request req) -> caf::delegated<claim_result> {
      auto& st = self->state;
      req.worker = st.cfg.instance;
      req.now = now_us();
      req.lease = st.cfg.lease;
      return self->delegate(st.storage, claim_atom_v, std::move(req));
    },
    guarded("queue", [=](hold_atom, const std::string& id) { self->state.held.insert(id); }),
    guarded("queue", [=](release_atom, const std::string& id) { self->state.held.erase(id); }),
    guarded("queue",
            [=](wake_at_atom, micros at) {
              auto& st = self->state;
              if (st.next_wake != 0 && st.next_wake <= at)
                return;  // an earlier wake-up is already scheduled
              st.next_wake = at;
              self->delayed_send(self, until(at), wake_due_atom_v);
            }),
    guarded("queue",
            [=](wake_due_atom) {
              self->state.next_wake = 0;
              self->send(self->state.listener, wake_atom_v);
            }),
    guarded("queue",
            [=](renew_due_atom) {
              auto lease = std::chrono::microseconds(self->state.cfg.lease);
              self->delayed_send(self, lease / 3, renew_due_atom_v);
              // Expired claims of other processes are looked for on the same beat.
              sweep(self);
              renew_held(self);
            }),
    guarded("queue", [=](sweep_atom) { sweep(self); }),
  };
}

} // namespace

queue_actor spawn_queue(caf::actor_system& sys, storage_actor storage,
                        wake_listener_actor listener, queue_config cfg) {
  return sys.spawn([=](queue_ptr self) { return queue_fn(self, storage, listener, cfg); });
}

} // namespace orch
