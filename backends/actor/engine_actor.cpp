// The engine actor: detached (its own thread, since file and RocksDB I/O
// block), it owns a synchronous engine and commits in rounds (group commit).
//
// Group commit works through the mailbox: the first write of a round queues
// a `flush` message to ourselves behind everything already waiting, so every
// commit and claim that arrived while the previous round was busy joins this
// round. Engines that defer their sync (RocksDB) are synced by the syncer
// thread while the next round is prepared; a round's writers are answered
// once a sync covering it has finished.
#include <map>
#include <memory>
#include <set>

#include "caf/all.hpp"

#include "backends/actor/engine_messages.hpp"
#include "backends/actor/syncer.hpp"
#include "backends/engine/event_stamps.hpp"
#include "backends/engine/storage_engine.hpp"
#include "runtime/core/clock.hpp"
#include "runtime/core/log.hpp"
#include "runtime/messages/guarded.hpp"

namespace orch {

namespace {

/// A write waiting for the next round: a prepared batch, or a claim.
struct pending_write {
  bool is_claim = false;
  prepared_batch_ptr batch;
  caf::typed_response_promise<uint64_t> commit_promise;
  claim_request claim;
  caf::typed_response_promise<claim_result> claim_promise;
};

/// A round that has been written: the replies it owes.
struct written_round {
  std::vector<pending_write> group;
  std::vector<claim_plan> plans;
  std::vector<size_t> first_batch;           // group[i]'s first batch in `outcomes`
  std::vector<batch_outcome> outcomes;
  std::vector<caf::error> plan_failures;     // group[i]'s claim could not be planned
  caf::error failure;                        // of the whole round
  std::vector<std::vector<task_event>> events;  // per batch (outcomes' order)
};

struct engine_state {
  std::unique_ptr<storage_engine> engine;
  std::vector<pending_write> pending;
  bool flush_queued = false;
  std::unique_ptr<syncer> sync;                 // engines with deferred_sync() only
  std::map<uint64_t, written_round> unsynced;  // written, waiting for their sync
  uint64_t rounds = 0;
  event_feed_actor feed;                       // told every committed event (the events actor)
  static inline const char* name = "storage";
};

using engine_ptr = engine_actor::stateful_pointer<engine_state>;

caf::error closed_error() {
  return make_error(errc::unavailable, "the storage backend has been closed");
}


template <class T>
caf::result<T> as_reply(result<T> r) {
  if (!r)
    return to_error(r.error());
  return std::move(r).value();
}

void enqueue(engine_ptr self, pending_write w) {
  auto& st = self->state;
  st.pending.push_back(std::move(w));
  if (!st.flush_queued) {
    st.flush_queued = true;
    self->send(engine_actor{self}, caf::flush_atom_v);
  }
}

/// Answers every caller of a written (and durable, or failed) round.
void answer_callers(written_round& r) {
  for (size_t i = 0; i < r.group.size(); ++i) {
    auto& w = r.group[i];
    if (!w.is_claim) {
      if (r.failure)
        w.commit_promise.deliver(r.failure);
      else if (auto& o = r.outcomes[r.first_batch[i]]; o.ok())
        w.commit_promise.deliver(o.applied);
      else
        w.commit_promise.deliver(to_error(o.st));
      continue;
    }
    if (r.failure || r.plan_failures[i]) {
      w.claim_promise.deliver(r.failure ? r.failure : r.plan_failures[i]);
      continue;
    }
    // A claim whose write failed (a cancel earlier in the same round changed
    // the task) is simply left out of the result.
    claim_result res;
    res.next_ready = r.plans[i].next_ready;
    for (size_t k = 0; k < r.plans[i].tasks.size(); ++k)
      if (r.outcomes[r.first_batch[i] + k].ok())
        res.tasks.push_back(std::move(r.plans[i].tasks[k]));
    w.claim_promise.deliver(std::move(res));
  }
}

/// The events of a round's batches that committed, in commit order: for
/// the feed once they are durable.
std::vector<task_event> committed_events(written_round& r) {
  std::vector<task_event> out;
  if (r.failure)
    return out;
  for (size_t bi = 0; bi < r.events.size() && bi < r.outcomes.size(); ++bi)
    if (r.outcomes[bi].ok())
      for (auto& ev : r.events[bi])
        out.push_back(std::move(ev));
  return out;
}

/// Answers every caller of a written (and durable, or failed) round, and
/// tells the feed what it committed.
void answer(engine_ptr self, written_round& r) {
  if (self->state.feed)
    if (auto events = committed_events(r); !events.empty())
      self->send(self->state.feed, publish_atom_v, std::move(events));
  answer_callers(r);
}

/// Rounds up to `upto` are durable (or their sync failed): answer them.
void answer_synced(engine_ptr self, uint64_t upto, const std::string& failure) {
  auto& waiting = self->state.unsynced;
  while (!waiting.empty() && waiting.begin()->first <= upto) {
    auto& round = waiting.begin()->second;
    if (!failure.empty())
      round.failure = make_error(errc::io_error, "the write could not be made durable: " + failure);
    answer(self, round);
    waiting.erase(waiting.begin());
  }
}

/// The round's claims are planned (each from the entries the ones before it
/// left), and every batch of the round is collected: the writes as they came,
/// and each claim's batches (kept in `claim_batches`, reserved up front so the
/// pointers stay valid). A claim that cannot be planned (a task file
/// unreadable) fails alone: the round's writes go on without it.
void plan_round(storage_engine& engine, written_round& round,
                std::vector<prepared_batch>& claim_batches, std::vector<prepared_batch*>& batches) {
  auto& group = round.group;
  round.plan_failures.resize(group.size());
  std::set<std::string> reserved;  // tasks claimed earlier in this round
  for (size_t i = 0; i < group.size(); ++i)
    if (group[i].is_claim) {
      auto plan = engine.plan_claims(group[i].claim, reserved);
      if (!plan) {
        round.plan_failures[i] = to_error(plan.error());
        continue;
      }
      round.plans[i] = std::move(*plan);
      for (auto& t : round.plans[i].tasks)
        reserved.insert(t.claimed.id);
    }
  size_t claim_count = 0;
  for (auto& p : round.plans)
    claim_count += p.batches.size();
  claim_batches.reserve(claim_count);
  for (size_t i = 0; i < group.size(); ++i) {
    round.first_batch[i] = batches.size();
    if (!group[i].is_claim) {
      batches.push_back(group[i].batch.get());
      continue;
    }
    for (auto& b : round.plans[i].batches) {
      claim_batches.push_back(prepare_batch(b));
      batches.push_back(&claim_batches.back());
    }
  }
}

/// The round's events get their ids in commit order (event_stamps.hpp);
/// a claim's started event, which its caller is given, follows.
void stamp(written_round& round, const std::vector<prepared_batch*>& batches) {
  auto stamped = stamp_round_events(batches, now_us());
  round.events = std::move(stamped.per_batch);
  if (stamped.renamed.empty())
    return;
  for (auto& plan : round.plans)
    for (auto& t : plan.tasks)
      if (auto i = stamped.renamed.find(t.started_event.id); i != stamped.renamed.end())
        t.started_event.id = i->second;
}

/// One round of group commit: plan the claims, then commit every waiting
/// batch and every claim together, and answer each caller once durable.
void flush(engine_ptr self) {
  auto& st = self->state;
  st.flush_queued = false;
  written_round round;
  round.group = std::move(st.pending);
  st.pending.clear();
  if (round.group.empty())
    return;
  round.plans.resize(round.group.size());
  round.first_batch.resize(round.group.size());
  std::vector<prepared_batch> claim_batches;
  std::vector<prepared_batch*> batches;
  round.plan_failures.resize(round.group.size());
  if (!st.engine) {
    round.failure = closed_error();
  } else {
    plan_round(*st.engine, round, claim_batches, batches);
    stamp(round, batches);
    if (!batches.empty()) {
      auto outcomes = st.engine->commit_group(batches);
      if (outcomes)
        round.outcomes = std::move(*outcomes);
      else
        round.failure = to_error(outcomes.error());
    }
  }
  if (!round.failure && st.sync) {
    auto id = ++st.rounds;
    st.unsynced.emplace(id, std::move(round));
    st.sync->request(id);
  } else {
    answer(self, round);
  }
}

/// Closed for good: writes still waiting are committed first (they were
/// accepted and must not be lost), pending syncs are finished, then the
/// engine closes.
caf::result<bool> close_engine(engine_ptr self) {
  auto& st = self->state;
  // Their flush is already queued: close again behind it.
  if (st.engine && !st.pending.empty())
    return self->delegate(engine_actor{self}, caf::close_atom_v);
  if (st.sync) {
    st.sync.reset();  // joins its thread
    std::string failure;
    if (!st.unsynced.empty())
      if (auto synced = st.engine->sync(); !synced)
        failure = synced.message();
    answer_synced(self, st.rounds, failure);
  }
  if (st.engine) {
    if (auto closed = st.engine->close(); !closed)
      log_error("storage", "closing the backend failed: " + closed.message());
    st.engine.reset();
  }
  self->quit();
  return true;
}

caf::result<uint64_t> accept_commit(engine_ptr self, prepared_batch_ptr b) {
  if (!self->state.engine)
    return closed_error();
  pending_write w;
  w.batch = std::move(b);
  w.commit_promise = self->make_response_promise<uint64_t>();
  auto rp = w.commit_promise;
  enqueue(self, std::move(w));
  return rp;
}

caf::result<claim_result> accept_claim(engine_ptr self, const claim_request& req) {
  if (!self->state.engine)
    return closed_error();
  pending_write w;
  w.is_claim = true;
  w.claim = req;
  w.claim_promise = self->make_response_promise<claim_result>();
  auto rp = w.claim_promise;
  enqueue(self, std::move(w));
  return rp;
}

engine_actor::behavior_type engine_behavior(engine_ptr self,
                                            std::shared_ptr<std::unique_ptr<storage_engine>> box) {
  self->state.engine = std::move(*box);
  if (self->state.engine->deferred_sync())
    self->state.sync = std::make_unique<syncer>(self->state.engine.get(), engine_actor{self});
  // Every call below needs the engine; after close, each says it is closed.
  auto engine = [self]() -> storage_engine* { return self->state.engine.get(); };
  auto closed = [] { return closed_error(); };
  return {
    guarded("storage",
            [=](commit_atom, prepared_batch_ptr& b) -> caf::result<uint64_t> {
              return accept_commit(self, std::move(b));
            }),
    guarded("storage",
            [=](commit_atom, const write_batch& b) -> caf::result<uint64_t> {
              return accept_commit(self, std::make_shared<prepared_batch>(prepare_batch(b)));
            }),
    guarded("storage",
            [=](claim_atom, const claim_request& req) -> caf::result<claim_result> {
              return accept_claim(self, req);
            }),
    guarded("storage", [=](caf::flush_atom) { flush(self); }),
    guarded("storage",
            [=](synced_atom, uint64_t upto, const std::string& failure) {
              answer_synced(self, upto, failure);
            }),
    guarded("storage",
            [=](caf::get_atom, record_kind kind, const std::string& key) -> caf::result<record> {
              return engine() ? as_reply(engine()->get(kind, key)) : closed();
            }),
    guarded("storage",
            [=](query_atom, const record_query& q) -> caf::result<record_page> {
              return engine() ? as_reply(engine()->query(q)) : closed();
            }),
    guarded("storage",
            [=](scan_atom, const scan_request& r) -> caf::result<std::vector<record>> {
              return engine() ? as_reply(engine()->scan(r.kind, r.after, r.limit)) : closed();
            }),
    guarded("storage",
            [=](count_atom, record_kind kind) -> caf::result<uint64_t> {
              return engine() ? as_reply(engine()->count(kind)) : closed();
            }),
    guarded("storage",
            [=](renew_atom, const renew_request& r) -> caf::result<std::vector<std::string>> {
              return engine() ? as_reply(engine()->renew(r.worker, r.task_ids, r.until)) : closed();
            }),
    guarded("storage",
            [=](backup_atom, const std::string& to) -> caf::result<std::string> {
              return engine() ? as_reply(engine()->backup(to)) : closed();
            }),
    guarded("storage",
            [=](info_atom) -> caf::result<storage_info> {
              return engine() ? as_reply(engine()->info()) : closed();
            }),
    guarded("storage",
            [=](subscribe_atom, event_feed_actor feed) {
              // Every committed event goes there once durable, in commit order.
              self->state.feed = std::move(feed);
            }),
    guarded("storage", [=](caf::close_atom) -> caf::result<bool> { return close_engine(self); }),
  };
}

} // namespace

engine_actor spawn_engine_core(caf::actor_system& sys, std::unique_ptr<storage_engine> engine) {
  // spawn copies its arguments; a shared box hands over the unique_ptr.
  auto box = std::make_shared<std::unique_ptr<storage_engine>>(std::move(engine));
  return sys.spawn<caf::detached>(engine_behavior, box);
}

} // namespace orch
