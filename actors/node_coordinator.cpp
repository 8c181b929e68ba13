#include "actors/node_coordinator.hpp"

#include <algorithm>
#include <map>

#include "caf/all.hpp"

#include "actors/node_session.hpp"
#include "runtime/auth/roles.hpp"
#include "runtime/auth/sessions.hpp"
#include "runtime/auth/tokens.hpp"
#include "runtime/auth/user_changes.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/event_kinds.hpp"
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

namespace {

using welcome_promise = caf::typed_response_promise<node_welcome>;

/// The registration checked: to the worker's session (made at its first).
void admit(coordinator_ptr self, node_listener_actor scheduler, const coordinator_config& cfg,
           node_hello hello, node_worker_actor worker, welcome_promise rp) {
  auto& sessions = self->state.sessions;
  auto found = sessions.find(hello.name);
  if (found == sessions.end()) {
    node_status st;
    st.name = hello.name;
    st.registration = new_uuid_v4();
    st.joined_at = now_us();
    auto handles = spawn_node_session(
      self->system(), st, node_session_config{cfg.instance, cfg.lease, scheduler, cfg.audit, cfg.storage});
    // Linked: the sessions end with the coordinator (at shutdown); one that
    // ends on its own (its worker lost) ends normally, which a link ignores.
    self->link_to(handles.control);
    self->monitor(handles.control);
    found = sessions.emplace(hello.name, handles).first;
  }
  hello.token.clear();  // the session has no use for it
  self->request(found->second.control, rejoin_timeout, rejoin_atom_v, std::move(hello),
                std::move(worker))
    .then([rp](node_welcome& w) mutable { rp.deliver(std::move(w)); },
          [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
}

/// Refused for good (the worker exits with the reason), and audited.
void refuse(const coordinator_config& cfg, const node_hello& hello, welcome_promise rp,
            const std::string& why) {
  log_warn("nodes", "refused worker '" + hello.name + "': " + why);
  if (cfg.audit)
    caf::anon_send(cfg.audit, audit_atom_v,
                   auth::audit_entry({"node:" + hello.name, now_us()}, audit_action::node_join,
                                     "node:" + hello.name, "denied", why));
  rp.deliver(make_error(errc::invalid, why));
}

/// --auth required: the token must be a live one of a user with the worker
/// role (a named token, POST /auth/tokens, is what a worker is given).
void check_token_then_admit(coordinator_ptr self, node_listener_actor scheduler,
                            const coordinator_config& cfg, node_hello hello,
                            node_worker_actor worker, welcome_promise rp) {
  auth::token_parts t;
  if (hello.token.empty() || !auth::parse_token(hello.token, t))
    return refuse(cfg, hello, rp,
                  hello.token.empty()
                    ? "this orchestrator requires authentication: give the worker a token of a "
                      "user with the worker role (--token-file; an admin makes one with POST "
                      "/auth/tokens)"
                    : "the worker token is not a token this orchestrator makes");
  self->request(cfg.storage, cfg.storage_timeout, caf::get_atom_v, record_kind::user, t.username)
    .then(
      [=](const record& r) mutable {
        auto u = decode<user>(r.json);
        if (!u || !auth::check_token(*u, t, now_us()).empty())
          return refuse(cfg, hello, rp, "the worker token is invalid, expired or revoked");
        if (!(auth::roles_of(u->roles) & auth::bit(auth::role::worker)))
          return refuse(cfg, hello, rp,
                        "the worker token's user '" + u->username
                          + "' does not have the worker role");
        admit(self, scheduler, cfg, std::move(hello), std::move(worker), rp);
      },
      [=](caf::error& e) mutable {
        if (error_code(e) == errc::not_found)
          return refuse(cfg, hello, rp, "the worker token is invalid, expired or revoked");
        // Storage could not answer: the worker tries again.
        rp.deliver(make_error(errc::unavailable, "cannot check the worker token now: "
                                                   + error_text(e)));
      });
}

} // namespace

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
      [=](version_atom) -> caf::result<uint32_t, std::string> {
        return {node_protocol_version, cfg.release};
      },
      guarded("node coordinator",
              [=](register_atom, node_hello& hello,
                  node_worker_actor& worker) -> caf::result<node_welcome> {
                auto rp = self->make_response_promise<node_welcome>();
                if (auto problem = registration_problem(hello); !problem.empty())
                  refuse(cfg, hello, rp, problem);
                else if (!worker)
                  refuse(cfg, hello, rp, "a registration needs the worker's handle");
                else if (cfg.auth_required)
                  check_token_then_admit(self, scheduler, cfg, std::move(hello),
                                         std::move(worker), rp);
                else
                  admit(self, scheduler, cfg, std::move(hello), std::move(worker), rp);
                return rp;
              }),
    };
  });
}

} // namespace orch
