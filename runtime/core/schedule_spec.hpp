// The bodies of POST /schedules and PATCH /schedules/{name}, checked as a
// whole before anything is stored, and a schedule as the API shows it.
#pragma once

#include <string>
#include <string_view>

#include "runtime/core/status.hpp"
#include "runtime/core/task.hpp"

namespace orch {

/// A new schedule from POST /schedules: {"name", "cron", "timezone" (UTC),
/// "task" (a task as POST /tasks takes it, without id and run_at),
/// "overlap" (skip | queue | allow; skip), "catch_up" (once | skip; once),
/// "paused" (false)}, its first firing computed from `now`. errc::invalid
/// with a message naming the field and what is wrong.
result<schedule> parse_new_schedule(std::string_view body, micros now);

/// `s` changed by PATCH /schedules/{name}: any of cron, timezone, task,
/// overlap, catch_up, paused. A new cron or zone, or a resume, starts the
/// firings again from `now` (a paused schedule does not catch up).
status apply_schedule_patch(schedule& s, std::string_view body, micros now);

/// The schedule's record with "next_firings": the next `n` times it fires
/// (none while paused).
std::string schedule_view(const schedule& s, size_t n = 5);

} // namespace orch
