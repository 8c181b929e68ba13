// The front of an engine's storage actor: an ordinary actor on CAF's
// scheduler that decodes and validates every write batch (the part of a
// commit that needs no state, so it runs in parallel with the engine) and
// passes everything on to the engine actor (engine_actor.cpp), which answers
// the callers directly.
#include "caf/all.hpp"

#include "backends/actor/engine_actor.hpp"
#include "backends/actor/engine_messages.hpp"
#include "runtime/messages/guarded.hpp"

namespace orch {

namespace {

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
    guarded("storage",
            [=](commit_atom, const write_batch& b) -> caf::result<uint64_t> {
              auto prepared = std::make_shared<prepared_batch>(prepare_batch(b));
              if (!prepared->error.empty())
                return make_error(prepared->code, prepared->error);
              return self->delegate(self->state.engine, commit_atom_v, std::move(prepared));
            }),
    [=](caf::get_atom, record_kind kind, std::string& key) -> caf::delegated<record> {
      return self->delegate(self->state.engine, caf::get_atom_v, kind, std::move(key));
    },
    [=](query_atom, record_query& q) -> caf::delegated<record_page> {
      return self->delegate(self->state.engine, query_atom_v, std::move(q));
    },
    [=](scan_atom, scan_request& r) -> caf::delegated<std::vector<record>> {
      return self->delegate(self->state.engine, scan_atom_v, std::move(r));
    },
    [=](count_atom, record_kind kind) -> caf::delegated<uint64_t> {
      return self->delegate(self->state.engine, count_atom_v, kind);
    },
    [=](claim_atom, claim_request& req) -> caf::delegated<claim_result> {
      return self->delegate(self->state.engine, claim_atom_v, std::move(req));
    },
    [=](renew_atom, renew_request& r) -> caf::delegated<std::vector<std::string>> {
      return self->delegate(self->state.engine, renew_atom_v, std::move(r));
    },
    [=](backup_atom, std::string& to) -> caf::delegated<std::string> {
      return self->delegate(self->state.engine, backup_atom_v, std::move(to));
    },
    [=](info_atom) -> caf::delegated<storage_info> {
      return self->delegate(self->state.engine, info_atom_v);
    },
    [=](subscribe_atom, event_feed_actor& feed) {
      self->send(self->state.engine, subscribe_atom_v, std::move(feed));
    },
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
  auto core = spawn_engine_core(sys, std::move(engine));
  return sys.spawn([core](front_ptr self) { return front_behavior(self, core); });
}

} // namespace orch
