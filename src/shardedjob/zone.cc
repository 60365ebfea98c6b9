#include "shardedjob/zone.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <set>

#include "setpoint/common/civil.h"

namespace setpoint::shardedjob {
namespace {

std::int64_t BigEndian(const unsigned char* p, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  if (n == 4) return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
  return static_cast<std::int64_t>(v);
}

bool ValidName(std::string_view name) {
  if (name.empty() || name.front() == '/' || name.find("..") != std::string_view::npos) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '-' || c == '+')) return false;
  return true;
}

int YearOf(std::int64_t utc) { return civil::CivilFromDays((utc >= 0 ? utc : utc - 86399) / 86400).year; }

// A POSIX TZ string's pieces, read from `s` at `i`.
struct TzReader {
  std::string_view s;
  std::size_t i = 0;
  bool name() {
    if (i < s.size() && s[i] == '<') {
      const auto close = s.find('>', i);
      if (close == std::string_view::npos) return false;
      i = close + 1;
      return true;
    }
    const std::size_t from = i;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
    return i - from >= 3;
  }
  // [+-]hh[:mm[:ss]] in seconds.
  bool time(std::int32_t& out) {
    int sign = 1;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) sign = s[i++] == '-' ? -1 : 1;
    std::int32_t parts[3] = {0, 0, 0};
    for (int k = 0; k < 3; ++k) {
      if (k > 0) {
        if (i >= s.size() || s[i] != ':') break;
        ++i;
      }
      const std::size_t from = i;
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) parts[k] = parts[k] * 10 + (s[i++] - '0');
      if (i == from) return false;
    }
    out = sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]);
    return true;
  }
  bool number(int& out) {
    const std::size_t from = i;
    out = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) out = out * 10 + (s[i++] - '0');
    return i > from;
  }
};

}  // namespace

bool TimeZone::parse_footer(std::string_view tz) {
  TzReader r{tz};
  std::int32_t std_west = 0;
  if (!r.name() || !r.time(std_west)) return false;
  std_offset_ = -std_west;
  if (r.i == tz.size()) {
    has_footer_ = true;
    return true;
  }
  if (!r.name()) return false;
  dst_offset_ = std_offset_ + 3600;
  if (r.i < tz.size() && tz[r.i] != ',') {
    std::int32_t dst_west = 0;
    if (!r.time(dst_west)) return false;
    dst_offset_ = -dst_west;
  }
  for (Rule* rule : {&start_, &end_}) {
    if (r.i >= tz.size() || tz[r.i] != ',') return false;
    ++r.i;
    if (r.i < tz.size() && tz[r.i] == 'M') {
      ++r.i;
      rule->kind = Rule::kMonthWeekDay;
      if (!r.number(rule->month) || r.i >= tz.size() || tz[r.i++] != '.' || !r.number(rule->week) || r.i >= tz.size() ||
          tz[r.i++] != '.' || !r.number(rule->day))
        return false;
    } else if (r.i < tz.size() && tz[r.i] == 'J') {
      ++r.i;
      rule->kind = Rule::kJulianNoLeap;
      if (!r.number(rule->day)) return false;
    } else {
      rule->kind = Rule::kJulianZero;
      if (!r.number(rule->day)) return false;
    }
    rule->time = 7200;
    if (r.i < tz.size() && tz[r.i] == '/') {
      ++r.i;
      if (!r.time(rule->time)) return false;
    }
  }
  has_footer_ = has_dst_ = r.i == tz.size();
  return has_footer_;
}

std::int64_t TimeZone::transition(int year, const Rule& r, std::int32_t offset_before) const {
  std::int64_t day = 0;
  if (r.kind == Rule::kMonthWeekDay) {
    // Day d (0 = Sunday) of week w (5 = the last) of month m.
    const std::int64_t first = civil::DaysFromCivil(year, static_cast<unsigned>(r.month), 1);
    day = first + (r.day - civil::WeekDay(first) + 7) % 7 + 7 * (r.week - 1);
    while (day >= first + civil::DaysInMonth(year, r.month)) day -= 7;
  } else if (r.kind == Rule::kJulianNoLeap) {
    day = civil::DaysFromCivil(year, 1, 1) + r.day - 1 + (civil::IsLeapYear(year) && r.day >= 60 ? 1 : 0);
  } else {
    day = civil::DaysFromCivil(year, 1, 1) + r.day;
  }
  return day * 86400 + r.time - offset_before;
}

TimeZone TimeZone::Utc() {
  TimeZone z;
  z.name_ = "UTC";
  return z;
}

Result<TimeZone> TimeZone::Load(std::string_view name, const std::string& zoneinfo_dir) {
  if (name.empty() || name == "UTC" || name == "Etc/UTC") return Utc();
  auto unknown = [&] { return Err(Status::BadRequest("unknown time zone \"" + std::string(name) + "\"")); };
  if (!ValidName(name)) return unknown();
  std::ifstream in(zoneinfo_dir + "/" + std::string(name), std::ios::binary);
  if (!in) return unknown();
  const std::vector<unsigned char> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // RFC 8536: a v1 block with 32-bit times, then (version 2 and later) one with 64-bit times.
  auto header = [&](std::size_t at, std::int64_t(&counts)[6]) {
    if (data.size() < at + 44 || std::string_view(reinterpret_cast<const char*>(&data[at]), 4) != "TZif") return false;
    for (int i = 0; i < 6; ++i) counts[i] = BigEndian(&data[at + 20 + 4 * i], 4);
    return true;
  };
  std::int64_t c[6];  // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
  if (!header(0, c)) return unknown();
  std::size_t at = 44;
  int time_size = 4;
  if (data[4] >= '2') {
    at += c[3] * 4 + c[3] + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0];
    if (!header(at, c)) return unknown();
    at += 44;
    time_size = 8;
  }
  const std::int64_t timecnt = c[3], typecnt = c[4];
  if (typecnt < 1 || data.size() < at + timecnt * (time_size + 1) + typecnt * 6) return unknown();
  std::vector<std::int32_t> type_offsets;
  std::vector<bool> type_dst;
  const std::size_t types_at = at + timecnt * (time_size + 1);
  for (std::int64_t i = 0; i < typecnt; ++i) {
    type_offsets.push_back(static_cast<std::int32_t>(BigEndian(&data[types_at + 6 * i], 4)));
    type_dst.push_back(data[types_at + 6 * i + 4] != 0);
  }
  TimeZone z;
  z.name_ = std::string(name);
  for (std::int64_t i = 0; i < timecnt; ++i) {
    z.transitions_.push_back(BigEndian(&data[at + time_size * i], time_size));
    const unsigned idx = data[at + time_size * timecnt + i];
    if (idx >= type_offsets.size()) return unknown();
    z.offsets_.push_back(type_offsets[idx]);
  }
  // The footer, "\n<POSIX TZ>\n", after the 64-bit block.
  if (time_size == 8) {
    std::size_t end = types_at + typecnt * 6 + c[5] + c[2] * 12 + c[1] + c[0];
    if (end < data.size() && data[end] == '\n') {
      const auto close = std::find(data.begin() + static_cast<std::ptrdiff_t>(end) + 1, data.end(), '\n');
      z.parse_footer(std::string_view(reinterpret_cast<const char*>(&data[end + 1]),
                                      static_cast<std::size_t>(close - data.begin()) - end - 1));
    }
  }
  // Before the first transition: the first standard-time type (RFC 8536 §3.2), else type 0.
  z.initial_offset_ = type_offsets[0];
  for (std::size_t i = 0; i < type_offsets.size(); ++i)
    if (!type_dst[i]) {
      z.initial_offset_ = type_offsets[i];
      break;
    }
  return z;
}

std::int32_t TimeZone::offset_at(std::int64_t utc) const {
  if (has_footer_ && (transitions_.empty() || utc >= transitions_.back())) {
    if (!has_dst_) return std_offset_;
    const int year = YearOf(utc + std_offset_);
    const std::int64_t starts = transition(year, start_, std_offset_);
    const std::int64_t ends = transition(year, end_, dst_offset_);
    const bool dst = starts < ends ? (utc >= starts && utc < ends) : (utc < ends || utc >= starts);  // south: wraps
    return dst ? dst_offset_ : std_offset_;
  }
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), utc);
  if (it == transitions_.begin()) return initial_offset_;
  return offsets_[static_cast<std::size_t>(it - transitions_.begin()) - 1];
}

std::vector<std::int64_t> TimeZone::instants_of(std::int64_t local) const {
  // Every offset in force within a day of it is a candidate; the instants it gives that really
  // have that offset are the answers.
  std::set<std::int32_t> candidates = {offset_at(local - 86400), offset_at(local), offset_at(local + 86400)};
  std::vector<std::int64_t> out;
  for (std::int32_t o : candidates)
    if (offset_at(local - o) == o) out.push_back(local - o);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace setpoint::shardedjob
