// The storage actor for synchronous engines (filesystem, RocksDB). Two actors
// behind one storage_actor handle:
//
//  - the front (an ordinary actor on CAF's scheduler) decodes and validates
//    every write batch, the part of a commit that needs no state, so that
//    work runs in parallel with the engine; everything else it forwards;
//  - the engine actor (detached: its own thread, since file and RocksDB I/O
//    block) owns the engine and commits in rounds (group commit).
//
// Group commit works through the mailbox: the first write of a round queues
// a `flush` message to ourselves behind everything already waiting, so every
// commit and claim that arrived while the previous round was busy joins this
// round. Engines that defer their sync (RocksDB) are synced on a thread of
// their own while the next round is prepared; a round's writers are answered
// once a sync covering it has finished.

#include <condition_variable>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "caf/all.hpp"

#include "backends/engine/group_plan.hpp"
#include "backends/actor/engine_actor.hpp"
#include "backends/engine/storage_engine.hpp"
#include "runtime/core/log.hpp"

namespace orch {

using prepared_batch_ptr = std::shared_ptr<prepared_batch>;

} // namespace orch

// Only ever sent between the two local actors below.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(orch::prepared_batch_ptr)

namespace orch {

namespace {

// Internal messages: a prepared commit; a round is due; rounds up to N are
// durable (or their sync failed with the given message).
using engine_actor = storage_actor::extend<
  caf::replies_to<commit_atom, prepared_batch_ptr>::with<uint64_t>,
  caf::reacts_to<caf::flush_atom>, caf::reacts_to<synced_atom, uint64_t, std::string>>;

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
  std::vector<size_t> first_batch;
  std::vector<batch_outcome> outcomes;
  caf::error failure;
};

/// Runs engine->sync() on a thread of its own for engines that defer it, so
/// the next round is planned and written while the disk syncs. One sync
/// covers every round written before it.
class syncer {
public:
  syncer(storage_engine* engine, engine_actor owner)
    : engine_(engine), owner_(std::move(owner)), thread_([this] { run(); }) {}

  ~syncer() {
    {
      std::lock_guard<std::mutex> g{m_};
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }

  void request(uint64_t round) {
    {
      std::lock_guard<std::mutex> g{m_};
      requested_ = round;
    }
    cv_.notify_one();
  }

private:
  void run() {
    uint64_t done = 0;
    for (;;) {
      uint64_t target;
      {
        std::unique_lock<std::mutex> g{m_};
        cv_.wait(g, [&] { return stop_ || requested_ > done; });
        if (requested_ <= done)
          break;  // stopping, nothing left to sync
        target = requested_;
      }
      std::string failure;
      try {
        engine_->sync();
      } catch (const storage_failure& e) {
        failure = e.message;
      } catch (const std::exception& e) {
        failure = e.what();
      }
      done = target;
      caf::anon_send(owner_, synced_atom_v, target, failure);
    }
    owner_ = nullptr;  // let the actor go
  }

  storage_engine* engine_;
  engine_actor owner_;
  std::mutex m_;
  std::condition_variable cv_;
  uint64_t requested_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

struct engine_state {
  std::unique_ptr<storage_engine> engine;
  std::vector<pending_write> pending;
  bool flush_queued = false;
  std::unique_ptr<syncer> sync;                 // engines with deferred_sync() only
  std::map<uint64_t, written_round> unsynced;  // written, waiting for their sync
  uint64_t rounds = 0;
  static inline const char* name = "storage";
};

using engine_ptr = engine_actor::stateful_pointer<engine_state>;

caf::error closed_error() {
  return make_error(errc::unavailable, "the storage backend has been closed");
}

/// Runs an engine call, turning storage_failure and stray exceptions into
/// errors, so that one bad request never kills the storage actor.
template <class F>
caf::error guarded_run(F&& f) {
  try {
    f();
    return {};
  } catch (const storage_failure& e) {
    return make_error(e.code, e.message);
  } catch (const std::exception& e) {
    return make_error(errc::internal, std::string{"storage engine failure: "} + e.what());
  }
}

template <class F>
auto guarded(engine_ptr self, F&& f) -> caf::result<decltype(f())> {
  if (!self->state.engine)
    return closed_error();
  decltype(f()) value{};
  if (auto err = guarded_run([&] { value = f(); }))
    return err;
  return value;
}

void enqueue(engine_ptr self, pending_write w) {
  auto& st = self->state;
  st.pending.push_back(std::move(w));
  if (!st.flush_queued) {
    st.flush_queued = true;
    self->send(caf::actor_cast<engine_actor>(self), caf::flush_atom_v);
  }
}

/// Answers every caller of a written (and durable, or failed) round.
void answer(written_round& r) {
  for (size_t i = 0; i < r.group.size(); ++i) {
    auto& w = r.group[i];
    if (!w.is_claim) {
      if (r.failure)
        w.commit_promise.deliver(r.failure);
      else if (auto& o = r.outcomes[r.first_batch[i]]; o.ok)
        w.commit_promise.deliver(o.applied);
      else
        w.commit_promise.deliver(make_error(o.code, o.message));
      continue;
    }
    if (r.failure) {
      w.claim_promise.deliver(r.failure);
      continue;
    }
    // A claim whose write failed (a cancel earlier in the same round changed
    // the task) is simply left out of the result.
    claim_result res;
    res.next_ready = r.plans[i].next_ready;
    for (size_t k = 0; k < r.plans[i].tasks.size(); ++k)
      if (r.outcomes[r.first_batch[i] + k].ok)
        res.tasks.push_back(std::move(r.plans[i].tasks[k]));
    w.claim_promise.deliver(std::move(res));
  }
}

/// Rounds up to `upto` are durable (or their sync failed): answer them.
void answer_synced(engine_ptr self, uint64_t upto, const std::string& failure) {
  auto& waiting = self->state.unsynced;
  while (!waiting.empty() && waiting.begin()->first <= upto) {
    auto& round = waiting.begin()->second;
    if (!failure.empty())
      round.failure = make_error(errc::io_error, "the write could not be made durable: " + failure);
    answer(round);
    waiting.erase(waiting.begin());
  }
}

/// One round of group commit: plan the claims, then commit every waiting
/// batch and every claim together, and answer each caller once durable.
void flush(engine_ptr self) {
  auto& st = self->state;
  st.flush_queued = false;
  written_round round;
  round.group = std::move(st.pending);
  st.pending.clear();
  auto& group = round.group;
  if (group.empty())
    return;
  round.failure = st.engine ? caf::error{} : closed_error();
  round.plans.resize(group.size());
  round.first_batch.resize(group.size());
  std::vector<prepared_batch> claim_batches;  // stable: reserved up front
  std::vector<prepared_batch*> batches;
  if (!round.failure)
    round.failure = guarded_run([&] {
      std::set<std::string> reserved;  // tasks claimed earlier in this round
      for (size_t i = 0; i < group.size(); ++i)
        if (group[i].is_claim) {
          round.plans[i] = st.engine->plan_claims(group[i].claim, reserved);
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
    });
  if (!round.failure && !batches.empty())
    round.failure = guarded_run([&] { round.outcomes = st.engine->commit_group(batches); });
  if (!round.failure && st.sync) {
    auto id = ++st.rounds;
    st.unsynced.emplace(id, std::move(round));
    st.sync->request(id);
  } else {
    answer(round);
  }
}

engine_actor::behavior_type engine_behavior(engine_ptr self,
                                            std::shared_ptr<std::unique_ptr<storage_engine>> box) {
  self->state.engine = std::move(*box);
  if (self->state.engine->deferred_sync())
    self->state.sync = std::make_unique<syncer>(self->state.engine.get(),
                                                caf::actor_cast<engine_actor>(self));
  auto commit = [=](prepared_batch_ptr b) -> caf::result<uint64_t> {
    if (!self->state.engine)
      return closed_error();
    pending_write w;
    w.batch = std::move(b);
    w.commit_promise = self->make_response_promise<uint64_t>();
    auto rp = w.commit_promise;
    enqueue(self, std::move(w));
    return rp;
  };
  return {
    [=](commit_atom, prepared_batch_ptr& b) -> caf::result<uint64_t> {
      return commit(std::move(b));
    },
    [=](commit_atom, const write_batch& b) -> caf::result<uint64_t> {
      return commit(std::make_shared<prepared_batch>(prepare_batch(b)));
    },
    [=](claim_atom, const claim_request& req) -> caf::result<claim_result> {
      if (!self->state.engine)
        return closed_error();
      pending_write w;
      w.is_claim = true;
      w.claim = req;
      w.claim_promise = self->make_response_promise<claim_result>();
      auto rp = w.claim_promise;
      enqueue(self, std::move(w));
      return rp;
    },
    [=](caf::flush_atom) { flush(self); },
    [=](synced_atom, uint64_t upto, const std::string& failure) {
      answer_synced(self, upto, failure);
    },
    [=](caf::get_atom, record_kind kind, const std::string& key) -> caf::result<record> {
      return guarded(self, [&] { return self->state.engine->get(kind, key); });
    },
    [=](query_atom, const record_query& q) -> caf::result<record_page> {
      return guarded(self, [&] { return self->state.engine->query(q); });
    },
    [=](scan_atom, record_kind kind, const std::string& after,
        uint32_t limit) -> caf::result<std::vector<record>> {
      return guarded(self, [&] { return self->state.engine->scan(kind, after, limit); });
    },
    [=](count_atom, record_kind kind) -> caf::result<uint64_t> {
      return guarded(self, [&] { return self->state.engine->count(kind); });
    },
    [=](renew_atom, const std::string& worker, const std::vector<std::string>& ids,
        micros until) -> caf::result<std::vector<std::string>> {
      return guarded(self, [&] { return self->state.engine->renew(worker, ids, until); });
    },
    [=](backup_atom, const std::string& to) -> caf::result<std::string> {
      return guarded(self, [&] { return self->state.engine->backup(to); });
    },
    [=](info_atom) -> caf::result<storage_info> {
      return guarded(self, [&] { return self->state.engine->info(); });
    },
    [=](subscribe_atom, const event_feed_actor&) {
      // Single-owner: every event is written, and published, by this process.
    },
    [=](caf::close_atom) -> caf::result<bool> {
      auto& st = self->state;
      // Writes still waiting for their round were accepted and must not be
      // lost: their flush is already queued, so close again behind it.
      if (st.engine && !st.pending.empty())
        return self->delegate(caf::actor_cast<engine_actor>(self), caf::close_atom_v);
      if (st.sync) {
        st.sync.reset();  // joins its thread
        std::string failure;
        if (!st.unsynced.empty())
          if (auto err = guarded_run([&] { st.engine->sync(); }))
            failure = error_text(err);
        answer_synced(self, st.rounds, failure);
      }
      if (st.engine) {
        try {
          st.engine->close();
        } catch (const std::exception& e) {
          log_error("storage", std::string{"closing the backend failed: "} + e.what());
        }
        st.engine.reset();
      }
      self->quit();
      return true;
    },
  };
}

// -- the front ---------------------------------------------------------------------

struct front_state {
  front_state() = default;  // not an aggregate (see the gateway's state)
  engine_actor engine;
  static inline const char* name = "storage-front";
};

using front_ptr = storage_actor::stateful_pointer<front_state>;

storage_actor::behavior_type front_behavior(front_ptr self, engine_actor engine) {
  self->state.engine = engine;
  // The engine decides the front's life: its exit is ours.
  self->link_to(engine);
  return {
    [=](commit_atom, const write_batch& b) -> caf::result<uint64_t> {
      auto prepared = std::make_shared<prepared_batch>(prepare_batch(b));
      if (!prepared->error.empty())
        return make_error(prepared->code, prepared->error);
      return self->delegate(self->state.engine, commit_atom_v, std::move(prepared));
    },
    [=](caf::get_atom, record_kind kind, std::string& key) -> caf::delegated<record> {
      return self->delegate(self->state.engine, caf::get_atom_v, kind, std::move(key));
    },
    [=](query_atom, record_query& q) -> caf::delegated<record_page> {
      return self->delegate(self->state.engine, query_atom_v, std::move(q));
    },
    [=](scan_atom, record_kind kind, std::string& after,
        uint32_t limit) -> caf::delegated<std::vector<record>> {
      return self->delegate(self->state.engine, scan_atom_v, kind, std::move(after), limit);
    },
    [=](count_atom, record_kind kind) -> caf::delegated<uint64_t> {
      return self->delegate(self->state.engine, count_atom_v, kind);
    },
    [=](claim_atom, claim_request& req) -> caf::delegated<claim_result> {
      return self->delegate(self->state.engine, claim_atom_v, std::move(req));
    },
    [=](renew_atom, std::string& worker, std::vector<std::string>& ids,
        micros until) -> caf::delegated<std::vector<std::string>> {
      return self->delegate(self->state.engine, renew_atom_v, std::move(worker), std::move(ids),
                            until);
    },
    [=](backup_atom, std::string& to) -> caf::delegated<std::string> {
      return self->delegate(self->state.engine, backup_atom_v, std::move(to));
    },
    [=](info_atom) -> caf::delegated<storage_info> {
      return self->delegate(self->state.engine, info_atom_v);
    },
    [=](subscribe_atom, const event_feed_actor&) {},
    [=](caf::close_atom) -> caf::result<bool> {
      // Closed for good: both actors end once the engine has closed.
      auto rp = self->make_response_promise<bool>();
      self->request(self->state.engine, caf::infinite, caf::close_atom_v)
        .then(
          [=](bool ok) mutable {
            rp.deliver(ok);
            self->quit();
          },
          [=](caf::error& e) mutable {
            rp.deliver(std::move(e));
            self->quit();
          });
      return rp;
    },
  };
}

} // namespace

storage_actor spawn_engine_actor(caf::actor_system& sys, std::unique_ptr<storage_engine> engine) {
  // spawn copies its arguments; a shared box hands over the unique_ptr.
  auto box = std::make_shared<std::unique_ptr<storage_engine>>(std::move(engine));
  auto core = sys.spawn<caf::detached>(engine_behavior, box);
  return sys.spawn([core](front_ptr self) { return front_behavior(self, core); });
}

} // namespace orch
