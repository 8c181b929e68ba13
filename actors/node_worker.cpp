#include "actors/node_worker.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "caf/all.hpp"
#include "caf/io/middleman.hpp"

#include "actors/executor.hpp"
#include "runtime/core/log.hpp"
#include "runtime/messages/guarded.hpp"

namespace orch {

namespace {

constexpr auto request_timeout = std::chrono::seconds(5);
constexpr auto first_retry = std::chrono::milliseconds(250);
constexpr auto longest_retry = std::chrono::seconds(5);

using node_worker_impl_actor = node_worker_actor::extend_with<exec_listener_actor>
  ::extend<caf::reacts_to<reconnect_atom>>;

struct running_attempt {
  executor_actor executor;
  caf::typed_response_promise<exec_result> promise;
  std::string task_id;
  uint32_t attempt = 0;
};

struct node_worker_state {
  node_worker_state() = default;  // not an aggregate (see the metrics actor's state)
  node_coordinator_actor coordinator;        // while registered
  std::string registration;
  size_t next_endpoint = 0;
  std::chrono::milliseconds retry = first_retry;
  bool connecting = false;
  std::map<std::string, running_attempt> attempts;  // by attempt id
  static inline const char* name = "node worker";
};

using node_worker_ptr = node_worker_impl_actor::stateful_pointer<node_worker_state>;

void connect(node_worker_ptr self, const node_worker_config& cfg);

/// Try again later: the next coordinator address, a longer wait each time.
void retry_later(node_worker_ptr self) {
  auto& s = self->state;
  s.connecting = false;
  self->delayed_send(self, s.retry, reconnect_atom_v);
  s.retry = std::min<std::chrono::milliseconds>(s.retry * 2, longest_retry);
}

void register_with(node_worker_ptr self, const node_worker_config& cfg,
                   node_coordinator_actor coordinator, const node_endpoint& at) {
  self->request(coordinator, request_timeout, register_atom_v, cfg.hello,
                caf::actor_cast<node_worker_actor>(self))
    .then(
      [=](node_welcome& welcome) {
        auto& s = self->state;
        s.connecting = false;
        s.coordinator = coordinator;
        s.registration = welcome.registration;
        s.retry = first_retry;
        self->monitor(coordinator);
        log_info("worker", "registered with orchestrator " + welcome.coordinator + " at "
                             + at.host + ":" + std::to_string(at.port) + " as '" + cfg.hello.name
                             + "' with " + std::to_string(cfg.hello.slots) + " slot(s)");
      },
      [=](caf::error& e) {
        if (error_code(e) == errc::invalid) {
          // Refused for what this worker is: trying again changes nothing.
          self->state.connecting = false;
          if (cfg.refused)
            cfg.refused(error_text(e));
          return;
        }
        log_warn("worker", "registering at " + at.host + ":" + std::to_string(at.port)
                             + " failed: " + error_text(e) + "; trying again");
        retry_later(self);
      });
}

void connect(node_worker_ptr self, const node_worker_config& cfg) {
  auto& s = self->state;
  if (s.connecting || s.coordinator)
    return;
  s.connecting = true;
  auto at = cfg.coordinators[s.next_endpoint++ % cfg.coordinators.size()];
  // connect_atom to the middleman does not block this actor's thread, as
  // remote_actor() would; the handshake has no timeout of its own, so the
  // request's is the one.
  auto mm = self->system().middleman().actor_handle();
  self->request(mm, request_timeout, caf::connect_atom_v, at.host, at.port)
    .then(
      [=](const caf::node_id&, caf::strong_actor_ptr& ptr, const std::set<std::string>& ifs) {
        if (!ptr || !self->system().assignable<node_coordinator_actor>(ifs)) {
          log_warn("worker", at.host + ":" + std::to_string(at.port)
                               + " is not an orchestrator's node port (--node-port); trying "
                                 "again");
          retry_later(self);
          return;
        }
        register_with(self, cfg, caf::actor_cast<node_coordinator_actor>(std::move(ptr)), at);
      },
      [=](caf::error& e) {
        log_warn("worker", "cannot reach the orchestrator at " + at.host + ":"
                             + std::to_string(at.port) + ": " + error_text(e)
                             + "; trying again");
        retry_later(self);
      });
}

void finish(node_worker_ptr self, exec_result r) {
  auto& attempts = self->state.attempts;
  for (auto i = attempts.begin(); i != attempts.end(); ++i)
    if (i->second.task_id == r.task_id && i->second.attempt == r.attempt) {
      i->second.promise.deliver(std::move(r));
      attempts.erase(i);
      return;
    }
}

} // namespace

bool parse_node_endpoint(const std::string& text, node_endpoint& out, std::string& error) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    error = "'" + text + "' is not HOST:PORT";
    return false;
  }
  auto port_text = text.substr(colon + 1);
  if (port_text.size() > 5
      || !std::all_of(port_text.begin(), port_text.end(), [](char c) { return c >= '0' && c <= '9'; })
      || std::stoul(port_text) == 0 || std::stoul(port_text) > 65535) {
    error = "'" + port_text + "' in '" + text + "' is not a port (1 to 65535)";
    return false;
  }
  out.host = text.substr(0, colon);
  if (out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']')
    out.host = out.host.substr(1, out.host.size() - 2);
  out.port = static_cast<uint16_t>(std::stoul(port_text));
  return true;
}

node_worker_actor spawn_node_worker(caf::actor_system& sys, node_worker_config cfg) {
  auto impl = sys.spawn([cfg](node_worker_ptr self) -> node_worker_impl_actor::behavior_type {
    self->set_down_handler([=](caf::down_msg& dm) {
      auto& s = self->state;
      if (s.coordinator && dm.source == s.coordinator.address()) {
        log_warn("worker", "lost the orchestrator (" + caf::to_string(dm.reason)
                             + "); connecting again");
        s.coordinator = nullptr;
        s.registration.clear();
        self->send(self, reconnect_atom_v);
        return;
      }
      // An executor that ended without reporting took its process with it.
      for (auto& [id, a] : s.attempts)
        if (a.executor.address() == dm.source) {
          exec_result r;
          r.task_id = a.task_id;
          r.attempt = a.attempt;
          r.started = true;
          r.error = "the worker's executor stopped without reporting ("
                    + caf::to_string(dm.reason) + ")";
          r.started_at = r.finished_at = now_us();
          finish(self, std::move(r));
          return;
        }
    });
    // Stopped (SIGTERM): what runs here stops too; the orchestrator sees
    // this node leave and runs those attempts again.
    self->set_exit_handler([=](caf::exit_msg& msg) {
      for (auto& [id, a] : self->state.attempts)
        self->send(a.executor, cancel_atom_v);
      self->quit(msg.reason);
    });
    self->send(self, reconnect_atom_v);
    return {
      guarded("node worker",
              [=](run_atom, node_attempt& a) -> caf::result<exec_result> {
                auto spec = std::move(a.spec);
                spec.max_output_bytes = std::min(spec.max_output_bytes, cfg.max_output_bytes);
                if (a.nushell) {
                  if (cfg.nu_path.empty()) {
                    exec_result r;
                    r.task_id = spec.task_id;
                    r.attempt = spec.attempt;
                    r.error = "Nushell ('nu') was not found on worker '" + cfg.hello.name
                              + "': install it there or start the worker with --nu-path";
                    r.started_at = r.finished_at = now_us();
                    return r;
                  }
                  spec.argv.at(0) = cfg.nu_path;
                }
                running_attempt run;
                run.task_id = spec.task_id;
                run.attempt = spec.attempt;
                run.promise = self->make_response_promise<exec_result>();
                run.executor = spawn_executor(self->system(), std::move(spec),
                                              exec_listener_actor{self});
                self->monitor(run.executor);
                auto promise = run.promise;
                self->state.attempts[a.attempt_id] = std::move(run);
                return promise;
              }),
      guarded("node worker",
              [=](cancel_atom, const std::string& attempt_id) {
                if (auto i = self->state.attempts.find(attempt_id); i != self->state.attempts.end())
                  self->send(i->second.executor, cancel_atom_v);
              }),
      guarded("node worker", [=](done_atom, exec_result& r) { finish(self, std::move(r)); }),
      guarded("node worker", [=](reconnect_atom) { connect(self, cfg); }),
    };
  });
  return caf::actor_cast<node_worker_actor>(impl);
}

} // namespace orch
