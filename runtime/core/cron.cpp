#include "runtime/core/cron.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>

#include "date/tz.h"

namespace orch {

namespace {

constexpr size_t max_text = 256;
constexpr int years_searched = 8;  // a leap day on a given weekday recurs within 28; Feb 29th within 8

struct field_spec {
  const char* name;
  int lo, hi;
  std::array<const char*, 12> names;         // by value from lo; empty where none
};

constexpr field_spec second_field{"second", 0, 59, {}};

constexpr std::array<field_spec, 5> fields{{
  {"minute", 0, 59, {}},
  {"hour", 0, 23, {}},
  {"day-of-month", 1, 31, {}},
  {"month", 1, 12, {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}},
  // 7 is Sunday too (folded to 0 below).
  {"day-of-week", 0, 7, {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}},
}};

bool all_digits(std::string_view v) {
  return std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
}

status field_error(const field_spec& f, std::string_view text, const std::string& why) {
  return invalid_input("cron " + std::string{f.name} + " field '" + std::string{text} + "': " + why
                       + " (" + std::to_string(f.lo) + "-" + std::to_string(f.hi)
                       + (f.names[0] ? std::string{", or names such as "} + f.names[0] : "") + ")");
}

/// One value: digits, or a name of the field.
result<int> value_of(const field_spec& f, std::string_view field_text, std::string_view v) {
  if (v.empty())
    return field_error(f, field_text, "a value is missing");
  if (all_digits(v)) {
    if (v.size() > 2)
      return field_error(f, field_text, std::string{v} + " is out of range");
    int n = std::stoi(std::string{v});
    if (n < f.lo || n > f.hi)
      return field_error(f, field_text, std::string{v} + " is out of range");
    return n;
  }
  for (size_t i = 0; i < f.names.size() && f.names[i]; ++i) {
    std::string_view name{f.names[i]};
    if (v.size() == name.size()
        && std::equal(v.begin(), v.end(), name.begin(),
                      [](char a, char b) { return std::toupper(static_cast<unsigned char>(a)) == b; }))
      return f.lo + static_cast<int>(i);
  }
  return field_error(f, field_text, "'" + std::string{v} + "' is neither a number nor a name");
}

/// Sets in `bits` (indexed by value) what one field selects.
template <size_t N>
status parse_field(const field_spec& f, std::string_view text, std::bitset<N>& bits) {
  size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    auto item = text.substr(start, comma == std::string_view::npos ? std::string_view::npos
                                                                    : comma - start);
    if (item.empty())
      return field_error(f, text, "an empty list item");
    int step = 1;
    bool stepped = false;
    if (auto slash = item.find('/'); slash != std::string_view::npos) {
      stepped = true;
      auto s = item.substr(slash + 1);
      if (s.empty() || s.size() > 2 || !all_digits(s))
        return field_error(f, text, "the step after '/' must be a number from 1");
      step = std::stoi(std::string{s});
      if (step == 0)
        return field_error(f, text, "a step of 0 selects nothing");
      item = item.substr(0, slash);
    }
    int lo = f.lo, hi = f.hi;
    if (item == "*") {
      // everything, by the step
    } else if (auto dash = item.find('-'); dash != std::string_view::npos) {
      auto a = value_of(f, text, item.substr(0, dash));
      if (!a)
        return a.error();
      auto b = value_of(f, text, item.substr(dash + 1));
      if (!b)
        return b.error();
      lo = *a;
      hi = *b;
      if (lo > hi)
        return field_error(f, text, "the range " + std::string{item} + " goes backwards");
    } else {
      auto a = value_of(f, text, item);
      if (!a)
        return a.error();
      lo = *a;
      hi = stepped ? f.hi : *a;  // `a/n`: from a to the last, by n
    }
    for (int v = lo; v <= hi; v += step)
      bits.set(static_cast<size_t>(v == 7 && f.hi == 7 ? 0 : v));
    if (comma == std::string_view::npos)
      break;
    start = comma + 1;
  }
  return {};
}

std::string_view expand_shorthand(std::string_view text) {
  if (text == "@yearly" || text == "@annually")
    return "0 0 1 1 *";
  if (text == "@monthly")
    return "0 0 1 * *";
  if (text == "@weekly")
    return "0 0 * * 0";
  if (text == "@daily" || text == "@midnight")
    return "0 0 * * *";
  if (text == "@hourly")
    return "0 * * * *";
  return text;
}

bool day_matches(const cron_expression& c, const date::year_month_day& ymd, date::weekday wd) {
  bool dom = c.days_of_month[static_cast<unsigned>(ymd.day())];
  bool dow = c.days_of_week[wd.c_encoding()];
  if (c.any_day_of_month && c.any_day_of_week)
    return true;
  if (c.any_day_of_month)
    return dow;
  if (c.any_day_of_week)
    return dom;
  return dom || dow;
}

} // namespace

result<cron_expression> parse_cron(std::string_view text) {
  if (text.size() > max_text)
    return invalid_input("a cron expression is at most " + std::to_string(max_text) + " characters");
  cron_expression c;
  c.text = std::string{text};
  auto body = text;
  while (!body.empty() && (body.front() == ' ' || body.front() == '\t'))
    body.remove_prefix(1);
  while (!body.empty() && (body.back() == ' ' || body.back() == '\t'))
    body.remove_suffix(1);
  if (!body.empty() && body.front() == '@') {
    auto expanded = expand_shorthand(body);
    if (expanded == body)
      return invalid_input("unknown cron shorthand '" + std::string{body}
                           + "' (@yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly)");
    body = expanded;
  }
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < body.size()) {
    while (i < body.size() && (body[i] == ' ' || body[i] == '\t'))
      ++i;
    size_t j = i;
    while (j < body.size() && body[j] != ' ' && body[j] != '\t')
      ++j;
    if (j > i)
      parts.push_back(body.substr(i, j - i));
    i = j;
  }
  if (parts.size() != 5 && parts.size() != 6)
    return invalid_input("a cron expression has 5 fields (minute hour day-of-month month "
                         "day-of-week, such as '*/5 * * * *'), or 6 with a leading second "
                         "field ('*/10 * * * * *'), got " + std::to_string(parts.size())
                         + " in '" + std::string{text} + "'");
  for (char ch : body)
    if (static_cast<unsigned char>(ch) < 0x20 && ch != '\t')
      return invalid_input("a cron expression may not hold control characters");
  status st;
  if (parts.size() == 6) {
    if (!(st = parse_field(second_field, parts[0], c.seconds)))
      return st;
    parts.erase(parts.begin());
  } else {
    c.seconds.set(0);
  }
  if (!(st = parse_field(fields[0], parts[0], c.minutes)) || !(st = parse_field(fields[1], parts[1], c.hours))
      || !(st = parse_field(fields[2], parts[2], c.days_of_month))
      || !(st = parse_field(fields[3], parts[3], c.months))
      || !(st = parse_field(fields[4], parts[4], c.days_of_week)))
    return st;
  // As Vixie cron: a day field that begins with '*' does not restrict.
  c.any_day_of_month = parts[2].front() == '*';
  c.any_day_of_week = parts[4].front() == '*';
  return c;
}

result<const date::time_zone*> find_time_zone(std::string_view name) {
  auto bad = [&](const std::string& why) {
    return invalid_input("time zone '" + std::string{name} + "': " + why
                         + " (an IANA name such as Europe/Berlin, America/New_York or UTC)");
  };
  if (name.empty() || name.size() > 64)
    return bad("a name of 1 to 64 characters");
  if (name.front() == '/' || name.find("..") != std::string_view::npos
      || !std::all_of(name.begin(), name.end(), [](char ch) {
           return std::isalnum(static_cast<unsigned char>(ch)) || ch == '/' || ch == '_'
                  || ch == '-' || ch == '+';
         }))
    return bad("not a zone name");
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return bad("unknown here (is the tzdata package installed?)");
  }
}

result<micros> next_firing(const cron_expression& cron, const date::time_zone* zone, micros after) {
  using std::chrono::duration_cast;
  using std::chrono::microseconds;
  using std::chrono::minutes;
  using std::chrono::hours;
  using std::chrono::seconds;
  const auto after_sys = date::sys_time<microseconds>{microseconds{after}};
  auto local_now = zone->to_local(date::floor<seconds>(after_sys));
  // The minute of `after` itself may still hold a later second.
  auto t = date::floor<minutes>(local_now);
  const auto limit = t + date::days{366 * years_searched};
  while (t < limit) {
    auto day = date::floor<date::days>(t);
    date::year_month_day ymd{day};
    if (!cron.months[static_cast<unsigned>(ymd.month())]) {
      auto first = date::year_month_day{ymd.year() / ymd.month() / 1} + date::months{1};
      t = date::local_days{first};
      continue;
    }
    if (!day_matches(cron, ymd, date::weekday{day})) {
      t = day + date::days{1};
      continue;
    }
    auto since_midnight = t - day;
    auto h = duration_cast<hours>(since_midnight).count();
    auto m = duration_cast<minutes>(since_midnight - hours{h}).count();
    if (!cron.hours[static_cast<size_t>(h)]) {
      t = day + hours{h + 1};
      continue;
    }
    if (!cron.minutes[static_cast<size_t>(m)]) {
      t += minutes{1};
      continue;
    }
    for (size_t s = 0; s < cron.seconds.size(); ++s) {
      if (!cron.seconds[s])
        continue;
      // The wall-clock time as an instant: a skipped one at the jump, a
      // doubled one the first time.
      auto local = date::local_seconds{t.time_since_epoch()} + seconds{static_cast<long long>(s)};
      auto info = zone->get_info(local);
      date::sys_seconds at;
      if (info.result == date::local_info::nonexistent)
        at = info.first.end;
      else
        at = date::sys_seconds{local.time_since_epoch()} - info.first.offset;
      if (at > after_sys)
        return static_cast<micros>(duration_cast<microseconds>(at.time_since_epoch()).count());
    }
    t += minutes{1};
  }
  return invalid_input("the cron expression '" + cron.text + "' never fires (within "
                       + std::to_string(years_searched) + " years)");
}

std::vector<micros> next_firings(const cron_expression& cron, const date::time_zone* zone,
                                 micros after, size_t n) {
  std::vector<micros> out;
  while (out.size() < n) {
    auto next = next_firing(cron, zone, after);
    if (!next)
      break;
    out.push_back(*next);
    after = *next;
  }
  return out;
}

} // namespace orch
