// Supervision and exception safety, in-process with CAF: a front restarts
// its component and replays what a new incarnation needs, gives up after too
// many failures; a guarded handler answers what it threw as an error and the
// actor lives on; an executor that dies takes its process with it.
#include <catch2/catch.hpp>

#include <atomic>
#include <csignal>
#include <fstream>
#include <stdexcept>

#include "caf/all.hpp"

#include "actors/executor.hpp"
#include "actors/supervisor_front.hpp"
#include "runtime/messages/actor_env.hpp"
#include "runtime/messages/guarded.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/wait.hpp"

using namespace orch;
using namespace orch::test;

namespace {

/// A component with state: a counter, and a way to make it throw.
using counter_actor = caf::typed_actor<caf::replies_to<caf::get_atom>::with<int>,
                                       caf::reacts_to<caf::add_atom, int>,
                                       caf::replies_to<caf::div_atom>::with<int>>;

struct counter_state {
  int value = 0;
};

counter_actor spawn_counter(caf::actor_system& sys, std::atomic<int>& started) {
  ++started;
  return sys.spawn([](counter_actor::stateful_pointer<counter_state> self) -> counter_actor::behavior_type {
    return {
      [=](caf::get_atom) { return self->state.value; },
      [=](caf::add_atom, int n) { self->state.value += n; },
      guarded("counter", [=](caf::div_atom) -> caf::result<int> {
        throw std::runtime_error("a bug in the handler");
      }),
    };
  });
}

/// The counter's value, asked through `h`; nullopt if the request failed.
std::optional<int> value_of(caf::scoped_actor& self, const counter_actor& h) {
  std::optional<int> out;
  self->request(h, std::chrono::seconds(5), caf::get_atom_v)
    .receive([&](int v) { out = v; }, [&](caf::error&) {});
  return out;
}

} // namespace

TEST_CASE("supervision: a failed component is restarted behind the same handle", "[supervision]") {
  actor_env env{2};
  std::atomic<int> started{0}, replayed{0};
  auto s = supervise<counter_actor>(
    env.sys(), "counter", [&] { return spawn_counter(env.sys(), started); }, {},
    [&](const counter_actor& fresh) {
      ++replayed;
      caf::anon_send(fresh, caf::add_atom_v, 100);  // what a new incarnation must know
    });
  caf::scoped_actor self{env.sys()};
  self->send(s.front, caf::add_atom_v, 5);
  CHECK(value_of(self, s.front) == 5);
  self->send(s.control, fail_atom_v);
  // The same handle answers again, from a new incarnation that got the replay.
  REQUIRE(wait_until([&] { return value_of(self, s.front) == 100; }));
  CHECK(started == 2);
  CHECK(replayed == 1);
  caf::anon_send_exit(s.front, caf::exit_reason::user_shutdown);
}

TEST_CASE("supervision: too many failures in the period end the front", "[supervision]") {
  actor_env env{2};
  std::atomic<int> started{0};
  auto s = supervise<counter_actor>(
    env.sys(), "counter", [&] { return spawn_counter(env.sys(), started); },
    restart_policy{2, std::chrono::seconds(60)});
  caf::scoped_actor self{env.sys()};
  self->monitor(s.front);
  for (int i = 0; i < 3; ++i) {
    auto before = started.load();
    self->send(s.control, fail_atom_v);
    if (i < 2)
      REQUIRE(wait_until([&] { return started > before && value_of(self, s.front); }));
  }
  bool down = false;
  self->receive([&](caf::down_msg& dm) { down = dm.source == s.front.address(); },
                caf::after(std::chrono::seconds(10)) >> [] {});
  CHECK(down);
  CHECK(started == 3);
}

TEST_CASE("supervision: a handler that throws answers with an error and the actor goes on",
          "[supervision]") {
  actor_env env{2};
  std::atomic<int> started{0};
  auto counter = spawn_counter(env.sys(), started);
  caf::scoped_actor self{env.sys()};
  std::string error;
  self->request(counter, std::chrono::seconds(5), caf::div_atom_v)
    .receive([](int) {}, [&](caf::error& e) { error = error_text(e); });
  CHECK(error == "internal error in the counter: a bug in the handler");
  self->send(counter, caf::add_atom_v, 2);
  CHECK(value_of(self, counter) == 2);
  caf::anon_send_exit(counter, caf::exit_reason::user_shutdown);
}

TEST_CASE("supervision: an executor that dies takes its process group with it", "[supervision]") {
  actor_env env{2};
  temp_dir dir;
  auto pid_file = dir / "pid";
  exec_spec spec;
  spec.task_id = "t";
  spec.argv = {"sh", "-c", "echo $$ > " + pid_file + "; exec sleep 60"};
  caf::scoped_actor listener{env.sys()};
  auto executor = spawn_executor(env.sys(), spec, exec_listener_actor{caf::actor_cast<exec_listener_actor>(listener)});
  pid_t pid = 0;
  REQUIRE(wait_until([&] {
    std::ifstream in{pid_file};
    return static_cast<bool>(in >> pid) && pid > 0;
  }));
  CHECK(::kill(pid, 0) == 0);
  caf::anon_send_exit(executor, caf::exit_reason::kill);
  // Killed and reaped by the executor's thread: the pid is gone.
  CHECK(wait_until([&] { return ::kill(pid, 0) != 0; }));
}
