#include "setpoint/common/clock.h"

#include <cstdio>
#include <ctime>

namespace setpoint {

std::string FormatRfc3339(WallTime t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[80];  // generous: the compiler cannot prove the fields' ranges
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

namespace {
bool Digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  return true;
}
}  // namespace

std::optional<WallTime> ParseRfc3339(std::string_view s) {
  int y, mo, d, h, mi, se;
  if (!Digits(s, 0, 4, y) || s.size() < 20 || s[4] != '-' || !Digits(s, 5, 2, mo) || s[7] != '-' ||
      !Digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't') || !Digits(s, 11, 2, h) || s[13] != ':' ||
      !Digits(s, 14, 2, mi) || s[16] != ':' || !Digits(s, 17, 2, se))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return std::nullopt;
  std::size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
  }
  int offset_minutes = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!Digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' || !Digits(s, pos + 4, 2, om))
      return std::nullopt;
    offset_minutes = (oh * 60 + om) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = se;
  std::time_t t = timegm(&tm);
  return std::chrono::system_clock::from_time_t(t) - std::chrono::minutes(offset_minutes);
}

std::string HumanDuration(std::chrono::seconds d) {
  long long s = d.count();
  if (s < -1) return "<invalid>";
  if (s < 0) return "0s";
  if (s < 120) return std::to_string(s) + "s";
  long long m = s / 60;
  if (m < 10) {
    long long rs = s % 60;
    return rs == 0 ? std::to_string(m) + "m" : std::to_string(m) + "m" + std::to_string(rs) + "s";
  }
  if (m < 180) return std::to_string(m) + "m";
  long long h = s / 3600;
  if (h < 8) {
    long long rm = m % 60;
    return rm == 0 ? std::to_string(h) + "h" : std::to_string(h) + "h" + std::to_string(rm) + "m";
  }
  if (h < 48) return std::to_string(h) + "h";
  if (h < 24 * 8) {
    long long rh = h % 24;
    return rh == 0 ? std::to_string(h / 24) + "d" : std::to_string(h / 24) + "d" + std::to_string(rh) + "h";
  }
  if (h < 24 * 365 * 2) return std::to_string(h / 24) + "d";
  long long days = h / 24;
  if (h < 24 * 365 * 8) {
    long long rd = days % 365;
    return rd == 0 ? std::to_string(days / 365) + "y" : std::to_string(days / 365) + "y" + std::to_string(rd) + "d";
  }
  return std::to_string(days / 365) + "y";
}

}  // namespace setpoint
