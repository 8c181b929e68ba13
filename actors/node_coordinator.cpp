#include "actors/node_coordinator.hpp"

#include <algorithm>
#include <map>

#include "caf/all.hpp"

#include "actors/node_session.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/core/log.hpp"
#include "runtime/messages/guarded.hpp"

namespace orch {

namespace {

constexpr auto rejoin_timeout = std::chrono::seconds(5);

struct coordinator_state {
  coordinator_state() = default;  // not an aggregate (see the metrics actor's state)
  std::map<std::string, node_session_handles> sessions;  // by worker name
  static inline const char* name = "node coordinator";
};

using coordinator_ptr = node_coordinator_actor::stateful_pointer<coordinator_state>;

} // namespace

std::string registration_problem(const node_hello& hello) {
  if (hello.protocol != node_protocol_version)
    return "the worker speaks node protocol " + std::to_string(hello.protocol)
           + " and this orchestrator " + std::to_string(node_protocol_version)
           + " (worker version " + hello.version + "): run the same release on both";
  auto allowed = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'
           || c == '_' || c == '.';
  };
  if (hello.name.empty() || hello.name.size() > 128
      || !std::all_of(hello.name.begin(), hello.name.end(), allowed))
    return "a worker's name (--name) is 1 to 128 letters, digits, '-', '_' or '.', not '"
           + hello.name.substr(0, 128) + "'";
  if (hello.slots == 0)
    return "a worker offers at least one slot (--slots)";
  return {};
}

node_coordinator_actor spawn_node_coordinator(caf::actor_system& sys,
                                              node_listener_actor scheduler,
                                              coordinator_config cfg) {
  return sys.spawn([=](coordinator_ptr self) -> node_coordinator_actor::behavior_type {
    // A session ends when its worker is lost: the name is free again.
    self->set_down_handler([=](caf::down_msg& dm) {
      auto& sessions = self->state.sessions;
      for (auto i = sessions.begin(); i != sessions.end(); ++i)
        if (i->second.control.address() == dm.source) {
          sessions.erase(i);
          return;
        }
    });
    return {
      guarded("node coordinator",
              [=](register_atom, node_hello& hello,
                  node_worker_actor& worker) -> caf::result<node_welcome> {
                if (auto problem = registration_problem(hello); !problem.empty()) {
                  log_warn("nodes", "refused worker '" + hello.name + "': " + problem);
                  return make_error(errc::invalid, problem);
                }
                if (!worker)
                  return make_error(errc::invalid, "a registration needs the worker's handle");
                auto& sessions = self->state.sessions;
                auto found = sessions.find(hello.name);
                if (found == sessions.end()) {
                  node_status st;
                  st.name = hello.name;
                  st.registration = new_uuid_v4();
                  st.joined_at = now_us();
                  auto handles = spawn_node_session(
                    self->system(), st, node_session_config{cfg.instance, cfg.lease, scheduler,
                                                            cfg.audit});
                  self->monitor(handles.control);
                  found = sessions.emplace(hello.name, handles).first;
                }
                auto rp = self->make_response_promise<node_welcome>();
                self->request(found->second.control, rejoin_timeout, rejoin_atom_v,
                              std::move(hello), std::move(worker))
                  .then([rp](node_welcome& w) mutable { rp.deliver(std::move(w)); },
                        [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
                return rp;
              }),
    };
  });
}

} // namespace orch
