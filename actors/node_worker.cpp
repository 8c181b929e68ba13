#include "actors/node_worker.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "caf/all.hpp"
#include "caf/io/middleman.hpp"
#include "caf/openssl/manager.hpp"

#include "actors/executor.hpp"
#include "runtime/core/log.hpp"
#include "runtime/messages/guarded.hpp"

namespace orch {

namespace {

constexpr auto request_timeout = std::chrono::seconds(5);
constexpr auto first_retry = std::chrono::milliseconds(250);
constexpr auto longest_retry = std::chrono::seconds(5);
constexpr auto renew_interval = std::chrono::seconds(1);

using clock = std::chrono::steady_clock;

using node_worker_impl_actor = node_worker_actor::extend_with<exec_listener_actor>
  ::extend_with<node_worker_control_actor>
  ::extend<caf::reacts_to<reconnect_atom>, caf::reacts_to<node_tick_atom>,
           caf::reacts_to<drain_over_atom>,
           // from an attempt's reading thread: a piece of its output
           caf::reacts_to<output_atom, std::string, bool, uint64_t, std::string>>;

struct running_attempt {
  executor_actor executor;
  std::shared_ptr<live_output> output;       // relayed to the session as it comes
  std::string task_id;
  uint32_t attempt = 0;
  bool abandoned = false;                    // killed here: its result goes nowhere
  bool interrupted = false;                  // stopped by this worker's shutdown
};

struct node_worker_state {
  node_worker_state() = default;  // not an aggregate (see the metrics actor's state)
  node_coordinator_actor coordinator;        // while registered
  node_session_remote_actor session;         // ... and where results go
  std::chrono::milliseconds lease{0};        // from the welcome
  clock::time_point renewed;                 // sent time of the last renewal answered
  size_t next_endpoint = 0;
  std::chrono::milliseconds retry = first_retry;
  bool connecting = false;
  bool lease_lost_logged = false;
  std::map<std::string, running_attempt> attempts;  // by attempt id
  std::map<std::string, exec_result> held;   // results not handed back yet
  std::string worker_name;                   // --name
  bool leaving = false;                      // SIGTERM: finishing what runs
  caf::typed_response_promise<bool> drained; // delivered once nothing is left
  static inline const char* name = "node worker";
};

using node_worker_ptr = node_worker_impl_actor::stateful_pointer<node_worker_state>;

/// Try again later: the next coordinator address, a longer wait each time.
void retry_later(node_worker_ptr self) {
  auto& s = self->state;
  s.connecting = false;
  self->delayed_send(self, s.retry, reconnect_atom_v);
  s.retry = std::min<std::chrono::milliseconds>(s.retry * 2, longest_retry);
}

/// Tells the session this worker is leaving (SIGTERM): nothing new is to
/// be placed here. Said again after a reconnect, to the new session.
void tell_leaving(node_worker_ptr self) {
  if (!self->state.session)
    return;
  self->request(self->state.session, request_timeout, drain_atom_v)
    .then([](bool) {},
          [](caf::error& e) {
            log_warn("worker", "could not tell the orchestrator this worker is leaving: "
                                 + error_text(e));
          });
}

/// Leaving, and nothing runs or waits to be handed back: done.
void maybe_drained(node_worker_ptr self) {
  auto& s = self->state;
  if (s.leaving && s.drained.pending() && s.attempts.empty() && s.held.empty())
    s.drained.deliver(true);
}

/// A result goes to the session; it is kept until the session took it.
void hand_back(node_worker_ptr self, const std::string& id) {
  auto& s = self->state;
  auto i = s.held.find(id);
  if (!s.session || i == s.held.end())
    return;
  self->request(s.session, request_timeout, done_atom_v, id, i->second)
    .then([=](bool) {
            self->state.held.erase(id);
            maybe_drained(self);
          },
          [=](caf::error& e) {
            log_warn("worker", "handing back the result of attempt " + id + " failed: "
                                 + error_text(e) + "; kept for the next connection");
          });
}

/// Follows an attempt's output from its reading thread, handing each piece
/// to this actor with its offset in its stream (the session relays it on).
void relay_output(node_worker_ptr self, const std::string& attempt_id, live_output& live) {
  auto weak = caf::actor_cast<caf::weak_actor_ptr>(self);
  uint64_t written[2] = {0, 0};
  live.follow(
    [weak, attempt_id, written](output_stream which, std::string_view piece) mutable {
      auto strong = weak.lock();
      if (!strong)
        return false;
      bool is_stderr = which == output_stream::err;
      caf::anon_send(caf::actor_cast<caf::actor>(strong), output_atom_v, attempt_id, is_stderr,
                     written[is_stderr], std::string{piece});
      written[is_stderr] += piece.size();
      return true;
    },
    nullptr);
}

/// After a reconnect: what each attempt wrote so far, from the start, as
/// pieces relayed while cut off were lost (the session keeps what it lacks).
void relay_output_again(node_worker_ptr self) {
  auto& s = self->state;
  for (auto& [id, a] : s.attempts)
    if (!a.abandoned && a.output)
      for (auto which : {output_stream::out, output_stream::err})
        if (auto text = a.output->text(which); !text.empty())
          self->send(s.session, output_atom_v, id, which == output_stream::err, uint64_t{0},
                     std::move(text));
}

/// Stops an attempt for good: the orchestrator took it back, or this worker
/// lost its lease. Its result, when it comes, is dropped.
void abandon(node_worker_ptr self, const std::string& id) {
  auto& s = self->state;
  s.held.erase(id);
  if (auto i = s.attempts.find(id); i != s.attempts.end() && !i->second.abandoned) {
    i->second.abandoned = true;
    self->send(i->second.executor, cancel_atom_v);
  }
}

void not_an_orchestrator(node_worker_ptr self, const node_endpoint& at) {
  log_warn("worker", at.host + ":" + std::to_string(at.port)
                       + " is not an orchestrator's node port (--node-port); trying again");
  retry_later(self);
}

/// Gives up for good: what this worker is or runs will not change by
/// trying again.
void refuse(node_worker_ptr self, const node_worker_config& cfg, const std::string& why) {
  self->state.connecting = false;
  if (cfg.refused)
    cfg.refused(why);
}

void register_with(node_worker_ptr self, const node_worker_config& cfg,
                   node_coordinator_actor coordinator, const node_endpoint& at) {
  auto hello = cfg.hello;
  for (auto& [id, a] : self->state.attempts)
    if (!a.abandoned)
      hello.running.push_back(id);
  for (auto& [id, r] : self->state.held)
    hello.finished.push_back(id);
  auto sent = clock::now();
  self->request(coordinator, request_timeout, register_atom_v, hello,
                caf::actor_cast<node_worker_actor>(self))
    .then(
      [=](node_welcome& welcome) {
        auto& s = self->state;
        s.connecting = false;
        s.coordinator = coordinator;
        s.session = welcome.session;
        s.lease = std::chrono::milliseconds(welcome.lease_ms);
        s.renewed = sent;
        s.lease_lost_logged = false;
        s.retry = first_retry;
        self->monitor(coordinator);
        log_info("worker", "registered with orchestrator " + welcome.coordinator + " at "
                             + at.host + ":" + std::to_string(at.port) + " as '" + cfg.hello.name
                             + "' with " + std::to_string(cfg.hello.slots) + " slot(s)");
        // Taken back while this worker was away: what still runs stops;
        // a result it holds is handed back all the same, for the
        // orchestrator to discard and audit.
        for (auto& id : welcome.cancel)
          if (s.attempts.count(id)) {
            log_warn("worker", "attempt " + id + " was taken back while this worker was away; "
                                                 "stopping it");
            abandon(self, id);
          }
        relay_output_again(self);
        std::vector<std::string> ids;
        for (auto& [id, r] : s.held)
          ids.push_back(id);
        for (auto& id : ids)
          hand_back(self, id);
        if (s.leaving)
          tell_leaving(self);
      },
      [=](caf::error& e) {
        if (error_code(e) == errc::invalid) {
          // Refused for what this worker is: trying again changes nothing.
          refuse(self, cfg, error_text(e));
          return;
        }
        log_warn("worker", "registering at " + at.host + ":" + std::to_string(at.port)
                             + " failed: " + error_text(e) + "; trying again");
        retry_later(self);
      });
}

/// The first question to any orchestrator: its node protocol and release
/// (version_atom never changes), so that two releases that cannot work
/// together say so, naming both, before a message whose layout differs.
void check_version_then_register(node_worker_ptr self, const node_worker_config& cfg,
                                 caf::strong_actor_ptr ptr, const std::set<std::string>& ifs,
                                 const node_endpoint& at) {
  auto where = at.host + ":" + std::to_string(at.port);
  self->request(caf::actor_cast<caf::actor>(ptr), request_timeout, version_atom_v)
    .then(
      [=](uint32_t protocol, const std::string& release) {
        if (protocol != cfg.hello.protocol) {
          refuse(self, cfg, "the orchestrator at " + where + " speaks node protocol "
                              + std::to_string(protocol) + " (release " + release
                              + ") and this worker node protocol "
                              + std::to_string(cfg.hello.protocol) + " (release "
                              + cfg.hello.version + "): run the same release on both");
          return;
        }
        if (!self->system().assignable<node_coordinator_actor>(ifs)) {
          not_an_orchestrator(self, at);
          return;
        }
        register_with(self, cfg, caf::actor_cast<node_coordinator_actor>(ptr), at);
      },
      [=](caf::error& e) {
        log_warn("worker", "the orchestrator at " + where + " did not say its version: "
                             + error_text(e) + "; trying again");
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
  // With --node-tls-* the OpenSSL module's middleman makes the connection:
  // the same interface, over mutual TLS.
  auto& sys = self->system();
  auto mm = sys.has_openssl_manager() ? sys.openssl_manager().actor_handle()
                                      : sys.middleman().actor_handle();
  self->request(mm, request_timeout, caf::connect_atom_v, at.host, at.port)
    .then(
      [=](const caf::node_id&, caf::strong_actor_ptr& ptr, const std::set<std::string>& ifs) {
        if (!ptr) {
          not_an_orchestrator(self, at);
          return;
        }
        check_version_then_register(self, cfg, std::move(ptr), ifs, at);
      },
      [=](caf::error& e) {
        if (e == caf::sec::incompatible_application_ids) {
          // Not an orchestrator (or one from before versions were asked):
          // trying again changes nothing.
          refuse(self, cfg, "the program at " + at.host + ":" + std::to_string(at.port)
                              + " is not an orchestrator of a release that works with this "
                                "worker (release " + cfg.hello.version + ", node protocol "
                              + std::to_string(cfg.hello.protocol)
                              + "): check the --connect address and run the same release");
          return;
        }
        log_warn("worker", "cannot reach the orchestrator at " + at.host + ":"
                             + std::to_string(at.port) + ": " + error_text(e)
                             + "; trying again");
        retry_later(self);
      });
}

/// Every second: renew the lease; and when it could not be renewed for
/// most of it, stop what runs here before the orchestrator runs it
/// elsewhere (measured from when the last answered renewal was sent, which
/// is before the orchestrator saw it).
void tick(node_worker_ptr self) {
  auto& s = self->state;
  self->delayed_send(self, renew_interval, node_tick_atom_v);
  if (s.session) {
    auto sent = clock::now();
    self->request(s.session, request_timeout, renew_atom_v)
      .then([=](bool) { self->state.renewed = std::max(self->state.renewed, sent); },
            [](caf::error&) {});
  }
  if (s.lease.count() == 0)
    return;
  if (clock::now() - s.renewed > s.lease * 8 / 10) {
    bool stopped = false;
    for (auto& [id, a] : s.attempts)
      if (!a.abandoned) {
        abandon(self, id);
        stopped = true;
      }
    if (stopped && !s.lease_lost_logged) {
      s.lease_lost_logged = true;
      log_warn("worker", "no word from the orchestrator for most of the lease ("
                           + std::to_string(s.lease.count()) + " ms): stopped the attempts "
                           "running here, which it runs again elsewhere");
    }
  }
}

void finish(node_worker_ptr self, exec_result r) {
  auto& attempts = self->state.attempts;
  for (auto i = attempts.begin(); i != attempts.end(); ++i)
    if (i->second.task_id == r.task_id && i->second.attempt == r.attempt) {
      auto id = i->first;
      bool abandoned = i->second.abandoned;
      bool interrupted = i->second.interrupted;
      attempts.erase(i);
      if (abandoned)
        return maybe_drained(self);
      if (interrupted) {
        r.interrupted = true;
        r.error = "worker node '" + self->state.worker_name + "' was stopped during the attempt";
      }
      self->state.held[id] = std::move(r);
      hand_back(self, id);
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

node_worker_handles spawn_node_worker(caf::actor_system& sys, node_worker_config cfg) {
  auto impl = sys.spawn([cfg](node_worker_ptr self) -> node_worker_impl_actor::behavior_type {
    self->state.worker_name = cfg.hello.name;
    self->set_down_handler([=](caf::down_msg& dm) {
      auto& s = self->state;
      if (s.coordinator && dm.source == s.coordinator.address()) {
        log_warn("worker", "lost the orchestrator (" + caf::to_string(dm.reason)
                             + "); connecting again");
        s.coordinator = nullptr;
        s.session = nullptr;
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
    self->send(self, node_tick_atom_v);
    return {
      guarded("node worker",
              [=](run_atom, node_attempt& a) -> caf::result<bool> {
                auto spec = std::move(a.spec);
                spec.max_output_bytes = std::min(spec.max_output_bytes, cfg.max_output_bytes);
                running_attempt run;
                run.task_id = spec.task_id;
                run.attempt = spec.attempt;
                if (a.nushell) {
                  if (cfg.nu_path.empty()) {
                    exec_result r;
                    r.task_id = spec.task_id;
                    r.attempt = spec.attempt;
                    r.error = "Nushell ('nu') was not found on worker '" + cfg.hello.name
                              + "': install it there or start the worker with --nu-path";
                    r.started_at = r.finished_at = now_us();
                    self->state.held[a.attempt_id] = std::move(r);
                    hand_back(self, a.attempt_id);
                    return true;
                  }
                  spec.argv.at(0) = cfg.nu_path;
                }
                run.output = std::make_shared<live_output>(spec.max_output_bytes);
                relay_output(self, a.attempt_id, *run.output);
                run.executor = spawn_executor(self->system(), std::move(spec),
                                              exec_listener_actor{self}, run.output);
                self->monitor(run.executor);
                self->state.attempts[a.attempt_id] = std::move(run);
                return true;
              }),
      guarded("node worker",
              [=](cancel_atom, const std::string& attempt_id) {
                if (auto i = self->state.attempts.find(attempt_id); i != self->state.attempts.end())
                  self->send(i->second.executor, cancel_atom_v);
              }),
      guarded("node worker", [=](done_atom, exec_result& r) { finish(self, std::move(r)); }),
      guarded("node worker",
              [=](output_atom, const std::string& id, bool is_stderr, uint64_t offset,
                  std::string& piece) {
                auto& s = self->state;
                auto i = s.attempts.find(id);
                if (s.session && i != s.attempts.end() && !i->second.abandoned)
                  self->send(s.session, output_atom_v, id, is_stderr, offset, std::move(piece));
              }),
      guarded("node worker", [=](reconnect_atom) { connect(self, cfg); }),
      guarded("node worker",
              [=](drain_atom, uint32_t grace_s) -> caf::result<bool> {
                auto& s = self->state;
                s.leaving = true;
                tell_leaving(self);
                if (s.attempts.empty() && s.held.empty())
                  return true;
                log_info("worker", "stopping: " + std::to_string(s.attempts.size())
                                     + " attempt(s) running here may finish within "
                                     + std::to_string(grace_s) + " s");
                s.drained = self->make_response_promise<bool>();
                self->delayed_send(self, std::chrono::seconds(grace_s), drain_over_atom_v);
                return s.drained;
              }),
      guarded("node worker",
              [=](drain_over_atom) {
                // The grace period is over: what still runs is stopped and
                // handed back as interrupted (queued again, not counted).
                for (auto& [id, a] : self->state.attempts)
                  if (!a.abandoned && !a.interrupted) {
                    log_warn("worker", "stopping task " + a.task_id + " for shutdown; the "
                                         "orchestrator queues it again");
                    a.interrupted = true;
                    self->send(a.executor, cancel_atom_v);
                  }
              }),
      guarded("node worker", [=](node_tick_atom) { tick(self); }),
    };
  });
  return {caf::actor_cast<node_worker_actor>(impl), caf::actor_cast<node_worker_control_actor>(impl)};
}

} // namespace orch
