// Cron expressions: what they select, what they refuse (and say), and when
// they fire in a time zone, across daylight-saving changes.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "runtime/core/clock.hpp"
#include "runtime/core/cron.hpp"

using namespace orch;

namespace {

micros utc_time(const char* rfc3339) {
  micros v = 0;
  REQUIRE(parse_rfc3339(rfc3339, v));
  return v;
}

cron_expression parsed(const char* text) {
  auto c = parse_cron(text);
  INFO(c.message());
  REQUIRE(c.ok());
  return *c;
}

const date::time_zone* zone_named(const char* name) {
  auto z = find_time_zone(name);
  INFO(z.message());
  REQUIRE(z.ok());
  return *z;
}

/// The next `n` firings, as RFC 3339 times separated by spaces.
std::string cron_firings(const char* expr, const char* tz, const char* after, size_t n) {
  std::string out;
  for (auto t : next_firings(parsed(expr), zone_named(tz), utc_time(after), n))
    if (auto text = format_rfc3339(t); text.size() > 20)  // whole seconds: no fraction
      out += (out.empty() ? "" : " ") + text.substr(0, 19) + "Z";
  return out;
}

std::string cron_refusal(const char* text) {
  auto c = parse_cron(text);
  REQUIRE_FALSE(c.ok());
  return c.message();
}

} // namespace

TEST_CASE("cron: fields select numbers, ranges, steps, lists and names", "[cron]") {
  auto c = parsed("*/15 9-17 * JAN,jul-Sep mon-FRI");
  CHECK(c.minutes.count() == 4);
  CHECK((c.minutes[0] && c.minutes[15] && c.minutes[30] && c.minutes[45]));
  CHECK(c.hours.count() == 9);
  CHECK((c.hours[9] && c.hours[17] && !c.hours[18]));
  CHECK(c.any_day_of_month);
  CHECK_FALSE(c.any_day_of_week);
  CHECK((c.months[1] && c.months[7] && c.months[8] && c.months[9] && !c.months[2]));
  CHECK(c.days_of_week.count() == 5);
  CHECK((!c.days_of_week[0] && c.days_of_week[1] && c.days_of_week[5]));

  auto sundays = parsed("0 0 * * 7");
  CHECK(sundays.days_of_week[0]);
  auto stepped = parsed("5/20 1-10/3 * * *");
  CHECK(stepped.minutes.count() == 3);  // 5, 25, 45
  CHECK((stepped.minutes[5] && stepped.minutes[25] && stepped.minutes[45]));
  CHECK(stepped.hours.count() == 4);    // 1, 4, 7, 10
  auto daily = parsed("@daily");
  CHECK((daily.minutes.count() == 1 && daily.minutes[0] && daily.hours.count() == 1));
}

TEST_CASE("cron: a wrong expression is refused naming the field and what is wrong", "[cron]") {
  CHECK_THAT(cron_refusal("* * * *"), Catch::Contains("5 fields") && Catch::Contains("got 4"));
  CHECK_THAT(cron_refusal("60 * * * *"), Catch::Contains("minute field '60'") && Catch::Contains("0-59"));
  CHECK_THAT(cron_refusal("* 24 * * *"), Catch::Contains("hour"));
  CHECK_THAT(cron_refusal("* * 0 * *"), Catch::Contains("day-of-month"));
  CHECK_THAT(cron_refusal("* * * FOO *"), Catch::Contains("month field 'FOO'") && Catch::Contains("JAN"));
  CHECK_THAT(cron_refusal("*/0 * * * *"), Catch::Contains("step of 0"));
  CHECK_THAT(cron_refusal("5-2 * * * *"), Catch::Contains("goes backwards"));
  CHECK_THAT(cron_refusal("1,,2 * * * *"), Catch::Contains("empty list item"));
  CHECK_THAT(cron_refusal("*/x * * * *"), Catch::Contains("step after '/'"));
  CHECK_THAT(cron_refusal("@sometimes"), Catch::Contains("unknown cron shorthand"));
  CHECK_THAT(cron_refusal(""), Catch::Contains("5 fields"));
  CHECK_THAT(cron_refusal(std::string(300, '*').c_str()), Catch::Contains("at most"));
}

TEST_CASE("cron: the next firings in UTC", "[cron]") {
  CHECK(cron_firings("*/5 * * * *", "UTC", "2026-12-07T13:02:30Z", 3)
        == "2026-12-07T13:05:00Z 2026-12-07T13:10:00Z 2026-12-07T13:15:00Z");
  // Strictly after: a firing time itself gives the next one.
  CHECK(cron_firings("0 * * * *", "UTC", "2026-12-07T13:00:00Z", 1)
        == "2026-12-07T14:00:00Z");
  CHECK(cron_firings("30 2 1 * *", "UTC", "2026-12-07T00:00:00Z", 2)
        == "2027-01-01T02:30:00Z 2027-02-01T02:30:00Z");
  // Leap days only.
  CHECK(cron_firings("0 0 29 2 *", "UTC", "2026-03-01T00:00:00Z", 2)
        == "2028-02-29T00:00:00Z 2032-02-29T00:00:00Z");
  // Both day fields restricted: either matches (the 13th, or a Friday).
  CHECK(cron_firings("0 12 13 * FRI", "UTC", "2026-12-07T00:00:00Z", 3)
        == "2026-12-11T12:00:00Z 2026-12-13T12:00:00Z 2026-12-18T12:00:00Z");
  // Only the day of the week restricted.
  CHECK(cron_firings("0 9 * * MON", "UTC", "2026-12-07T09:00:00Z", 1)
        == "2026-12-14T09:00:00Z");
}

TEST_CASE("cron: an expression that never fires says so", "[cron]") {
  auto never = next_firing(parsed("0 0 30 2 *"), zone_named("UTC"), utc_time("2026-01-01T00:00:00Z"));
  REQUIRE_FALSE(never.ok());
  CHECK_THAT(never.message(), Catch::Contains("never fires"));
}

TEST_CASE("cron: firings follow a zone's wall clock, and across daylight-saving changes a "
          "skipped time fires once at the jump and a doubled one once", "[cron]") {
  // 09:00 in Berlin: 08:00Z in winter, 07:00Z in summer.
  CHECK(cron_firings("0 9 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", 2)
        == "2026-03-29T07:00:00Z 2026-03-30T07:00:00Z");
  // 2026-03-29 02:00 CET jumps to 03:00 CEST: 02:30 does not exist that day.
  CHECK(cron_firings("30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", 2)
        == "2026-03-29T01:00:00Z 2026-03-30T00:30:00Z");
  // Every 15 minutes over the jump: 01:45 CET, then the jump (03:00 CEST), 03:15 ...
  CHECK(cron_firings("*/15 * * * *", "Europe/Berlin", "2026-03-29T00:40:00Z", 3)
        == "2026-03-29T00:45:00Z 2026-03-29T01:00:00Z 2026-03-29T01:15:00Z");
  // 2026-10-25 03:00 CEST falls back to 02:00 CET: 02:30 comes twice, fires once.
  CHECK(cron_firings("30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", 2)
        == "2026-10-25T00:30:00Z 2026-10-26T01:30:00Z");
  CHECK(cron_firings("0 0 * * *", "America/New_York", "2026-12-07T00:00:00Z", 1)
        == "2026-12-07T05:00:00Z");
}

TEST_CASE("cron: time zones by IANA name, anything else refused", "[cron]") {
  CHECK(find_time_zone("Europe/Berlin").ok());
  CHECK(find_time_zone("UTC").ok());
  for (const char* bad : {"", "Mars/Olympus", "../../etc/passwd", "/etc/localtime", "Europe/Berlin\n"}) {
    auto z = find_time_zone(bad);
    CHECK_FALSE(z.ok());
    CHECK_THAT(z.message(), Catch::Contains("IANA name"));
  }
}

TEST_CASE("cron: a sixth, leading field gives the seconds", "[cron]") {
  auto c = parsed("*/20 * * * * *");
  CHECK(c.seconds.count() == 3);
  CHECK(parsed("* * * * *").seconds.count() == 1);  // five fields: second 0
  CHECK(cron_firings("*/20 * * * * *", "UTC", "2026-12-07T13:02:30Z", 4)
        == "2026-12-07T13:02:40Z 2026-12-07T13:03:00Z 2026-12-07T13:03:20Z 2026-12-07T13:03:40Z");
  // The minute of `after` itself still holds later seconds.
  CHECK(cron_firings("15,45 * * * * *", "UTC", "2026-12-07T13:02:15Z", 2)
        == "2026-12-07T13:02:45Z 2026-12-07T13:03:15Z");
  CHECK(cron_firings("30 0 12 * * *", "UTC", "2026-12-07T12:00:30Z", 1)
        == "2026-12-08T12:00:30Z");
  CHECK_THAT(cron_refusal("60 * * * * *"), Catch::Contains("second field '60'"));
  CHECK_THAT(cron_refusal("* * * * * * *"), Catch::Contains("got 7"));
}
