// A cron expression as POST /schedules takes it: refused with a message, or
// parsed into fields whose next firings (in UTC and in a zone with
// daylight-saving changes) come in order, each on a selected minute and
// hour (UTC), never before the time asked from. Never a crash or a hang.
#include "tests/fuzz/fuzz_target.hpp"

#include <string>

#include "runtime/core/clock.hpp"
#include "runtime/core/cron.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto c = orch::parse_cron(fuzz::as_text(data, size));
  if (!c) {
    if (c.message().empty())
      fuzz::fail("a cron expression was refused without a message");
    return 0;
  }
  if (c->minutes.none() || c->hours.none() || c->days_of_month.none() || c->months.none()
      || c->days_of_week.none())
    fuzz::fail("a cron expression was accepted with a field that selects nothing");
  const orch::micros from = 1'790'000'000'000'000;  // 2026-09
  for (const char* name : {"UTC", "Europe/Berlin"}) {
    auto zone = orch::find_time_zone(name);
    if (!zone)
      fuzz::fail(std::string{"no time zone "} + name + ": " + zone.message());
    orch::micros last = from;
    for (auto t : orch::next_firings(*c, *zone, from, 3)) {
      if (t <= last)
        fuzz::fail("firings out of order for '" + c->text + "'");
      if (t % 60'000'000 != 0 && std::string{name} == "UTC")
        fuzz::fail("a UTC firing off the minute for '" + c->text + "'");
      auto minute = (t / 60'000'000) % 60, hour = (t / 3'600'000'000) % 24;
      if (std::string{name} == "UTC" && (!c->minutes[minute] || !c->hours[hour]))
        fuzz::fail("a UTC firing at an unselected time for '" + c->text + "'");
      last = t;
    }
  }
  return 0;
}
