#include "runtime/core/clock.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace orch {

micros now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

std::string format_rfc3339(micros t) {
  auto secs = t / us_per_second;
  auto frac = t % us_per_second;
  if (frac < 0) {
    frac += us_per_second;
    --secs;
  }
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(frac));
  return buf;
}

namespace {

bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size())
    return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

} // namespace

bool parse_rfc3339(std::string_view s, micros& out) {
  // YYYY-MM-DDTHH:MM:SS[.ffffff...](Z|+HH:MM|-HH:MM)
  int year, mon, day, hour, min, sec;
  if (!digits(s, 0, 4, year) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, mon)
      || s[7] != '-' || !digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
      || !digits(s, 11, 2, hour) || s[13] != ':' || !digits(s, 14, 2, min) || s[16] != ':'
      || !digits(s, 17, 2, sec))
    return false;
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60)
    return false;
  size_t pos = 19;
  micros frac = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int ndigits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (ndigits < 6) {
        frac = frac * 10 + (s[pos] - '0');
        ++ndigits;
      }
      ++pos;
    }
    if (ndigits == 0)
      return false;
    while (ndigits++ < 6)
      frac *= 10;
  }
  if (pos >= s.size())
    return false;
  micros offset = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    int oh, om;
    if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':'
        || !digits(s, pos + 4, 2, om))
      return false;
    offset = (oh * 3600 + om * 60) * us_per_second;
    if (s[pos] == '-')
      offset = -offset;
    pos += 6;
  } else {
    return false;
  }
  if (pos != s.size())
    return false;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  auto secs = timegm(&tm);
  out = static_cast<micros>(secs) * us_per_second + frac - offset;
  return true;
}

} // namespace orch
