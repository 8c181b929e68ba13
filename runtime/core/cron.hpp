// Cron expressions and when they fire, in a time zone: what a recurring
// schedule (POST /schedules) runs on. Pure: no clock, no I/O but the
// system's time zone data (/usr/share/zoneinfo, Debian's tzdata).
//
// The five fields of Vixie cron, minute hour day-of-month month day-of-week:
// `*`, numbers, ranges `a-b`, steps `*/n` `a-b/n` `a/n`, lists `a,b-c`,
// month names JAN-DEC and day names SUN-SAT (any case), 0 or 7 for Sunday;
// and the shorthands @yearly (@annually), @monthly, @weekly, @daily
// (@midnight), @hourly. A sixth field in front gives the seconds (0-59),
// as in Quartz and the cron parsers of BullMQ and node-cron: '*/10 * * * * *'
// fires every ten seconds. As in Vixie cron, when both day fields are
// restricted a day matches if either does.
//
// Times are the zone's wall clock. Across daylight-saving changes: a time
// the clock skips (02:30 when it jumps from 02:00 to 03:00) fires once, at
// the jump; a time it passes twice (01:30 when it falls back) fires once,
// the first time.
#pragma once

#include <bitset>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/clock.hpp"
#include "runtime/core/status.hpp"

namespace date {
class time_zone;
}

namespace orch {

struct cron_expression {
  std::bitset<60> seconds;                   // {0} unless a sixth field gave them
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> days_of_month;             // 1-31
  std::bitset<13> months;                    // 1-12
  std::bitset<7> days_of_week;               // 0 = Sunday
  bool any_day_of_month = true;              // the field was `*`
  bool any_day_of_week = true;
  std::string text;                          // as given
};

/// The expression, or errc::invalid naming the field and what is wrong.
result<cron_expression> parse_cron(std::string_view text);

/// A time zone by IANA name ("Europe/Berlin", "UTC"), or errc::invalid.
result<const date::time_zone*> find_time_zone(std::string_view name);

/// The first firing strictly after `after`; errc::invalid when there is
/// none within the next eight years (`0 0 30 2 *`: February 30th).
result<micros> next_firing(const cron_expression& cron, const date::time_zone* zone,
                           micros after);

/// The next `n` firings after `after` (fewer only if it stops firing).
std::vector<micros> next_firings(const cron_expression& cron, const date::time_zone* zone,
                                 micros after, size_t n);

} // namespace orch
