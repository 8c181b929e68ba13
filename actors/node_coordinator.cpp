#include "actors/node_coordinator.hpp"

#include <algorithm>
#include <map>

#include "caf/all.hpp"

#include "runtime/core/ids.hpp"
#include "runtime/core/log.hpp"
#include "runtime/messages/guarded.hpp"

namespace orch {

namespace {

struct coordinator_state {
  coordinator_state() = default;  // not an aggregate (see the metrics actor's state)
  /// Registration id -> the worker's handle and name, while connected.
  struct member {
    node_worker_actor handle;
    std::string name;
  };
  std::map<std::string, member> members;
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
    // A worker's connection ended (the process died, the network broke, or
    // it stopped answering heartbeats): its slots are gone.
    self->set_down_handler([=](caf::down_msg& dm) {
      auto& members = self->state.members;
      for (auto i = members.begin(); i != members.end(); ++i)
        if (i->second.handle.address() == dm.source) {
          auto why = caf::to_string(dm.reason);
          log_warn("nodes", "worker '" + i->second.name + "' left (" + why + ")");
          self->send(scheduler, node_down_atom_v, i->first, why);
          members.erase(i);
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
                // The same name again: that worker reconnected before this
                // side saw its old connection end. The old one is over.
                auto& members = self->state.members;
                for (auto i = members.begin(); i != members.end();)
                  if (i->second.name == hello.name) {
                    self->demonitor(i->second.handle.address());
                    self->send(scheduler, node_down_atom_v, i->first,
                               std::string{"registered again"});
                    i = members.erase(i);
                  } else {
                    ++i;
                  }
                node_status st;
                st.name = hello.name;
                st.registration = new_uuid_v4();
                st.address = hello.host + " (pid " + std::to_string(hello.pid) + ")";
                st.version = hello.version;
                st.labels = hello.labels;
                st.slots = hello.slots;
                st.joined_at = now_us();
                members[st.registration] = {worker, hello.name};
                self->monitor(worker);
                log_info("nodes", "worker '" + hello.name + "' joined from " + st.address + " with "
                                    + std::to_string(hello.slots) + " slot(s)");
                self->send(scheduler, node_up_atom_v, st, worker);
                return node_welcome{cfg.instance, st.registration};
              }),
    };
  });
}

} // namespace orch
