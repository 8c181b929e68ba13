// What a recurring schedule does when it comes due, decided without a clock
// or I/O (the schedules actor, actors/schedules.cpp, brings the facts and
// commits the outcome), and the task a firing creates.
//
// A firing is made at most once: the task's id is derived from the schedule
// and the firing time, and it is stored under an `absent` precondition
// together with the schedule's advance (under the schedule's revision), so
// two orchestrators that both see a firing due create one task between them,
// and a restart goes on from the stored next_firing.
//
// Several due firings (the orchestrators were down, or a firing waited for
// the previous task under overlap=queue) become one: the latest of them
// (catch_up=once), or none when they were missed (catch_up=skip). While the
// previous firing's task still runs, overlap=skip passes a firing over,
// overlap=queue holds it until that task ends, overlap=allow makes it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/clock.hpp"
#include "runtime/core/cron.hpp"
#include "runtime/core/status.hpp"
#include "runtime/core/task.hpp"
#include "runtime/core/workflow_spec.hpp"

namespace orch {

namespace overlap_policy {
inline constexpr const char* skip = "skip";
inline constexpr const char* queue = "queue";
inline constexpr const char* allow = "allow";
} // namespace overlap_policy

namespace catch_up_policy {
inline constexpr const char* once = "once";
inline constexpr const char* skip = "skip";
} // namespace catch_up_policy

/// A schedule's cron expression and zone, ready to compute firings.
struct schedule_clock {
  cron_expression cron;
  const date::time_zone* zone = nullptr;
};

/// The schedule's cron and timezone, or errc::invalid naming which is wrong.
result<schedule_clock> clock_of(const schedule& s);

/// The next `n` firings from `s.next_firing` on (none when paused or when it
/// never fires again).
std::vector<micros> upcoming_firings(const schedule& s, const schedule_clock& clock, size_t n);

enum class firing_action : uint8_t {
  none,  // not due (or paused)
  make,  // create the task for `firing`
  skip,  // pass the due firings over, `reason` says why
  wait,  // overlap=queue: hold the firing until the previous task ends
};

struct firing_facts {
  micros now = 0;
  /// The previous firing's task has not ended (known when overlap is not
  /// allow and there is one).
  bool previous_running = false;
  /// This firing was already held (overlap=queue) by the one deciding: it
  /// is late because of that, not missed.
  bool held = false;
  /// A due firing later than this was missed: no orchestrator made it on time.
  micros misfire_grace = 60 * us_per_second;
};

struct firing_plan {
  firing_action action = firing_action::none;
  micros firing = 0;                         // make, wait: the firing time
  micros next = 0;                           // make, skip: the next_firing after it (0: never)
  uint64_t passed_over = 0;                  // due firings not made
  std::string reason;                        // skip, wait: why, for the audit
};

firing_plan plan_firing(const schedule& s, const schedule_clock& clock, const firing_facts& f);

/// The task a firing creates: the schedule's task with the derived id
/// (schedule_task_id), the label schedule=<name>, and the schedule's name as
/// its name unless the task has one. errc::invalid if the stored task is not
/// a valid submission.
result<task> firing_task(const schedule& s, micros firing);

/// The workflow a workflow schedule's firing creates: its id derived as a
/// task's is (schedule_task_id), each task labelled schedule=<name>, named
/// after the schedule unless its graph has a name; owned by schedule:<name>.
/// `body`: the schedule's workflow as POST /workflows takes it (its graph,
/// or what its template makes: resolve_workflow()).
result<workflow_plan> firing_workflow(const schedule& s, const std::string& body, micros firing,
                                      micros now);

/// The id of the task of `s`'s firing at `firing`: the same on every
/// orchestrator, different for a schedule of the same name made anew.
std::string schedule_task_id(const schedule& s, micros firing);

} // namespace orch
