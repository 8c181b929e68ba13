// The storage actor for synchronous engines: owns the engine on a detached
// thread (blocking file and RocksDB I/O never runs on CAF's shared
// scheduler), and groups concurrent commits into one durable round.
//
// Group commit works through the mailbox: the first commit of a round queues
// a `flush` message to ourselves behind everything already waiting, so every
// commit that arrived while the previous round was syncing joins this round.

#include <exception>

#include "caf/all.hpp"

#include "backends/storage_engine.hpp"
#include "runtime/log.hpp"

namespace orch {

storage_engine::~storage_engine() = default;

namespace {

using engine_actor = storage_actor::extend<caf::reacts_to<caf::flush_atom>>;

struct pending_commit {
  write_batch batch;
  caf::typed_response_promise<uint64_t> promise;
};

struct engine_state {
  std::unique_ptr<storage_engine> engine;
  std::vector<pending_commit> pending;
  bool flush_queued = false;
  static inline const char* name = "storage";
};

/// Runs an engine call, turning storage_failure and stray exceptions into
/// error replies so that one bad request never kills the storage actor.
template <class F>
auto guarded(F&& f) -> caf::result<decltype(f())> {
  try {
    return f();
  } catch (const storage_failure& e) {
    return make_error(e.code, e.message);
  } catch (const std::exception& e) {
    return make_error(errc::internal, std::string{"storage engine failure: "} + e.what());
  }
}

engine_actor::behavior_type engine_behavior(engine_actor::stateful_pointer<engine_state> self,
                                            std::shared_ptr<std::unique_ptr<storage_engine>> box) {
  self->state.engine = std::move(*box);
  auto closed_error = [] {
    return make_error(errc::unavailable, "the storage backend has been closed");
  };
  return {
    [=](commit_atom, write_batch& b) -> caf::result<uint64_t> {
      if (!self->state.engine)
        return closed_error();
      auto rp = self->make_response_promise<uint64_t>();
      self->state.pending.push_back({std::move(b), rp});
      if (!self->state.flush_queued) {
        self->state.flush_queued = true;
        self->send(caf::actor_cast<engine_actor>(self), caf::flush_atom_v);
      }
      return rp;
    },
    [=](caf::flush_atom) {
      auto& st = self->state;
      st.flush_queued = false;
      auto group = std::move(st.pending);
      st.pending.clear();
      if (group.empty())
        return;
      if (!st.engine) {
        for (auto& p : group)
          p.promise.deliver(closed_error());
        return;
      }
      std::vector<const write_batch*> batches;
      batches.reserve(group.size());
      for (auto& p : group)
        batches.push_back(&p.batch);
      std::vector<batch_outcome> outcomes;
      caf::error failure;
      try {
        outcomes = st.engine->commit_group(batches);
      } catch (const storage_failure& e) {
        failure = make_error(e.code, e.message);
      } catch (const std::exception& e) {
        failure = make_error(errc::internal, std::string{"storage engine failure: "} + e.what());
      }
      for (size_t i = 0; i < group.size(); ++i) {
        if (failure)
          group[i].promise.deliver(failure);
        else if (outcomes[i].ok)
          group[i].promise.deliver(outcomes[i].applied);
        else
          group[i].promise.deliver(make_error(outcomes[i].code, outcomes[i].message));
      }
    },
    [=](caf::get_atom, record_kind kind, const std::string& key) -> caf::result<record> {
      if (!self->state.engine)
        return closed_error();
      return guarded([&] { return self->state.engine->get(kind, key); });
    },
    [=](query_atom, const record_query& q) -> caf::result<record_page> {
      if (!self->state.engine)
        return closed_error();
      return guarded([&] { return self->state.engine->query(q); });
    },
    [=](scan_atom, record_kind kind, const std::string& after,
        uint32_t limit) -> caf::result<std::vector<record>> {
      if (!self->state.engine)
        return closed_error();
      return guarded([&] { return self->state.engine->scan(kind, after, limit); });
    },
    [=](count_atom, record_kind kind) -> caf::result<uint64_t> {
      if (!self->state.engine)
        return closed_error();
      return guarded([&] { return self->state.engine->count(kind); });
    },
    [=](claim_atom, const claim_request& req) -> caf::result<claim_result> {
      if (!self->state.engine)
        return closed_error();
      return guarded([&] { return self->state.engine->claim(req); });
    },
    [=](renew_atom, const std::string& worker, const std::vector<std::string>& ids,
        micros until) -> caf::result<std::vector<std::string>> {
      if (!self->state.engine)
        return closed_error();
      return guarded([&] { return self->state.engine->renew(worker, ids, until); });
    },
    [=](info_atom) -> caf::result<storage_info> {
      if (!self->state.engine)
        return closed_error();
      return guarded([&] { return self->state.engine->info(); });
    },
    [=](caf::close_atom) -> caf::result<bool> {
      auto& st = self->state;
      // Commits still waiting for their round were accepted and must not be
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
