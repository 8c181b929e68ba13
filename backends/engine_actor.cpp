// The storage actor for synchronous engines: owns the engine on a detached
// thread (blocking file and RocksDB I/O never runs on CAF's shared
// scheduler), and groups concurrent writes into one durable round.
//
// Group commit works through the mailbox: the first write of a round queues
// a `flush` message to ourselves behind everything already waiting, so every
// commit and claim that arrived while the previous round was syncing joins
// this round.

#include <exception>
#include <set>

#include "caf/all.hpp"

#include "backends/storage_engine.hpp"
#include "runtime/log.hpp"

namespace orch {

storage_engine::~storage_engine() = default;

namespace {

using engine_actor = storage_actor::extend<caf::reacts_to<caf::flush_atom>>;

/// A write waiting for the next round: a batch, or a claim.
struct pending_write {
  bool is_claim = false;
  write_batch batch;
  caf::typed_response_promise<uint64_t> commit_promise;
  claim_request claim;
  caf::typed_response_promise<claim_result> claim_promise;
};

struct engine_state {
  std::unique_ptr<storage_engine> engine;
  std::vector<pending_write> pending;
  bool flush_queued = false;
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
  decltype(f()) value;
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

/// One round of group commit: plan the claims, then commit every waiting
/// batch and every claim with one durable sync, and answer each caller.
void flush(engine_ptr self) {
  auto& st = self->state;
  st.flush_queued = false;
  auto group = std::move(st.pending);
  st.pending.clear();
  if (group.empty())
    return;
  caf::error failure = st.engine ? caf::error{} : closed_error();
  std::vector<claim_plan> plans(group.size());
  std::vector<const write_batch*> batches;
  std::vector<size_t> first_batch(group.size());
  if (!failure)
    failure = guarded_run([&] {
      std::set<std::string> reserved;  // tasks claimed earlier in this round
      for (size_t i = 0; i < group.size(); ++i) {
        first_batch[i] = batches.size();
        if (!group[i].is_claim) {
          batches.push_back(&group[i].batch);
          continue;
        }
        plans[i] = st.engine->plan_claims(group[i].claim, reserved);
        for (auto& t : plans[i].tasks)
          reserved.insert(t.claimed.id);
        for (auto& b : plans[i].batches)
          batches.push_back(&b);
      }
    });
  std::vector<batch_outcome> outcomes;
  if (!failure && !batches.empty())
    failure = guarded_run([&] { outcomes = st.engine->commit_group(batches); });
  for (size_t i = 0; i < group.size(); ++i) {
    auto& w = group[i];
    if (!w.is_claim) {
      if (failure)
        w.commit_promise.deliver(failure);
      else if (auto& o = outcomes[first_batch[i]]; o.ok)
        w.commit_promise.deliver(o.applied);
      else
        w.commit_promise.deliver(make_error(o.code, o.message));
      continue;
    }
    if (failure) {
      w.claim_promise.deliver(failure);
      continue;
    }
    // A claim whose write failed (a cancel earlier in the same round changed
    // the task) is simply left out of the result.
    claim_result res;
    res.next_ready = plans[i].next_ready;
    for (size_t k = 0; k < plans[i].tasks.size(); ++k)
      if (outcomes[first_batch[i] + k].ok)
        res.tasks.push_back(std::move(plans[i].tasks[k]));
    w.claim_promise.deliver(std::move(res));
  }
}

engine_actor::behavior_type engine_behavior(engine_ptr self,
                                            std::shared_ptr<std::unique_ptr<storage_engine>> box) {
  self->state.engine = std::move(*box);
  return {
    [=](commit_atom, write_batch& b) -> caf::result<uint64_t> {
      if (!self->state.engine)
        return closed_error();
      pending_write w;
      w.batch = std::move(b);
      w.commit_promise = self->make_response_promise<uint64_t>();
      auto rp = w.commit_promise;
      enqueue(self, std::move(w));
      return rp;
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
    [=](info_atom) -> caf::result<storage_info> {
      return guarded(self, [&] { return self->state.engine->info(); });
    },
    [=](caf::close_atom) -> caf::result<bool> {
      auto& st = self->state;
      // Writes still waiting for their round were accepted and must not be
      // lost: their flush is already queued, so close again behind it.
      if (st.engine && !st.pending.empty())
        return self->delegate(caf::actor_cast<engine_actor>(self), caf::close_atom_v);
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

} // namespace

storage_actor spawn_engine_actor(caf::actor_system& sys, std::unique_ptr<storage_engine> engine) {
  // spawn copies its arguments; a shared box hands over the unique_ptr.
  auto box = std::make_shared<std::unique_ptr<storage_engine>>(std::move(engine));
  return sys.spawn<caf::detached>(engine_behavior, box);
}

} // namespace orch
