#include "shardedjob/cron.h"

#include <array>
#include <cctype>
#include <charconv>
#include <vector>

#include "setpoint/common/civil.h"

namespace setpoint::shardedjob {
namespace {

enum Field { kSecond, kMinute, kHour, kDayOfMonth, kMonth, kDayOfWeek, kYear };
constexpr int kMin[] = {0, 0, 0, 1, 1, 1, 1970};
constexpr int kMax[] = {59, 59, 23, 31, 12, 7, 2299};
constexpr const char* kRangeError[] = {"Minute and Second values must be between 0 and 59",
                                       "Minute and Second values must be between 0 and 59",
                                       "Hour values must be between 0 and 23",
                                       "Day of month values must be between 1 and 31",
                                       "Month values must be between 1 and 12",
                                       "Day-of-Week values must be between 1 and 7",
                                       "Year values must be between 1970 and 2299"};
constexpr std::array<std::string_view, 12> kMonths = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                      "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 7> kDays = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

Status Bad(std::string m) { return Status::BadRequest(std::move(m)); }

// 1 (Sunday) .. 7 (Saturday), as Quartz numbers days of the week.
int WeekDay(int y, int m, int d) {
  return civil::WeekDay(civil::DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d))) + 1;
}

std::optional<int> Number(std::string_view s) {
  int v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// A value of the field: a number, or a month's or day's three-letter name.
Result<int> Value(std::string_view s, Field f, std::string_view item) {
  if (auto n = Number(s)) {
    if (*n < kMin[f] || *n > kMax[f]) return Err(Bad(kRangeError[f]));
    return *n;
  }
  if (f == kMonth) {
    for (std::size_t i = 0; i < kMonths.size(); ++i)
      if (kMonths[i] == s) return static_cast<int>(i) + 1;
    return Err(Bad("Invalid Month value: '" + std::string(s) + "'"));
  }
  if (f == kDayOfWeek) {
    for (std::size_t i = 0; i < kDays.size(); ++i)
      if (kDays[i] == s) return static_cast<int>(i) + 1;
    return Err(Bad("Invalid Day-of-Week value: '" + std::string(s) + "'"));
  }
  return Err(Bad("Illegal characters for this position: '" + std::string(item) + "'"));
}

}  // namespace

Result<CronExpression> CronExpression::Parse(std::string_view text) {
  CronExpression e;
  e.text_ = std::string(text);
  std::string upper;
  for (char c : text) upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  std::vector<std::string> fields;
  for (std::size_t i = 0; i < upper.size();) {
    while (i < upper.size() && std::isspace(static_cast<unsigned char>(upper[i]))) ++i;
    std::size_t j = i;
    while (j < upper.size() && !std::isspace(static_cast<unsigned char>(upper[j]))) ++j;
    if (j > i) fields.push_back(upper.substr(i, j - i));
    i = j;
  }
  if (fields.size() < 6) return Err(Bad("Unexpected end of expression."));
  if (fields.size() > 7) return Err(Bad("Illegal cron expression format: more than 7 fields"));
  if (fields.size() == 6) fields.push_back("*");
  bool dom_none = false, dow_none = false;
  for (int fi = kSecond; fi <= kYear; ++fi) {
    const Field f = static_cast<Field>(fi);
    const std::string& field = fields[fi];
    std::vector<std::string_view> items;
    for (std::size_t at = 0;;) {
      const std::size_t comma = field.find(',', at);
      items.push_back(std::string_view(field).substr(at, comma == std::string::npos ? std::string::npos : comma - at));
      if (comma == std::string::npos) break;
      at = comma + 1;
    }
    for (std::string_view item : items) {
      if (item.empty()) return Err(Bad("Illegal characters for this position: '" + field + "'"));
      if (item == "?") {
        if (f != kDayOfMonth && f != kDayOfWeek)
          return Err(Bad("'?' can only be specified for Day-of-Month or Day-of-Week."));
        (f == kDayOfMonth ? dom_none : dow_none) = true;
        continue;
      }
      const bool alone = items.size() == 1;
      if (f == kDayOfMonth && item.front() == 'L') {
        if (!alone)
          return Err(Bad("Support for specifying 'L' and 'LW' with other days of the month is not implemented"));
        if (item == "L") {
          e.last_day_ = true;
        } else if (item == "LW") {
          e.last_weekday_ = true;
        } else if (item.size() > 2 && item[1] == '-') {
          auto n = Number(item.substr(2));
          if (!n) return Err(Bad("Illegal characters for this position: '" + std::string(item) + "'"));
          if (*n > 30) return Err(Bad("Offset from last day must be <= 30"));
          e.last_day_ = true;
          e.last_day_offset_ = *n;
        } else {
          return Err(Bad("Illegal characters for this position: '" + std::string(item) + "'"));
        }
        continue;
      }
      if (f == kDayOfMonth && item.back() == 'W') {
        auto n = Number(item.substr(0, item.size() - 1));
        if (!n || !alone) return Err(Bad("Illegal characters for this position: '" + std::string(item) + "'"));
        if (*n < 1 || *n > 31)
          return Err(
              Bad("The 'W' option does not make sense with values larger than 31 (max number of days in a month)"));
        e.nearest_weekday_ = *n;
        continue;
      }
      if (f == kDayOfWeek && item == "L") {
        e.days_of_week_.set(7);
        continue;
      }
      if (f == kDayOfWeek && item.size() > 1 && item.back() == 'L') {
        auto d = Value(item.substr(0, item.size() - 1), f, item);
        if (!d) return Err(d.error());
        e.last_of_week_day_ = *d;
        continue;
      }
      if (f == kDayOfWeek && item.find('#') != std::string_view::npos) {
        const auto hash = item.find('#');
        auto d = Value(item.substr(0, hash), f, item);
        if (!d) return Err(d.error());
        auto k = Number(item.substr(hash + 1));
        if (!k || *k < 1 || *k > 5) return Err(Bad("A numeric value between 1 and 5 must follow the '#' option"));
        e.nth_day_ = *d;
        e.nth_ = *k;
        continue;
      }
      // [*|a[-b]][/step]
      std::string_view range = item, step_text;
      if (const auto slash = item.find('/'); slash != std::string_view::npos) {
        range = item.substr(0, slash);
        step_text = item.substr(slash + 1);
      }
      int step = 1;
      if (!step_text.empty() || item.find('/') != std::string_view::npos) {
        auto s = Number(step_text);
        if (!s || *s < 1) return Err(Bad("Increment must be a positive number: '" + std::string(item) + "'"));
        step = *s;
      }
      int lo = kMin[f], hi = kMax[f];
      if (range != "*") {
        const auto dash = range.find('-');
        auto a = Value(range.substr(0, dash), f, item);
        if (!a) return Err(a.error());
        lo = *a;
        if (dash != std::string_view::npos) {
          auto b = Value(range.substr(dash + 1), f, item);
          if (!b) return Err(b.error());
          hi = *b;
        } else if (step_text.empty() && item.find('/') == std::string_view::npos) {
          hi = lo;  // one value
        }
      }
      // A range may wrap past the field's end ("22-2", "FRI-MON").
      const int span = kMax[f] - kMin[f] + 1;
      const int count = ((hi - lo) % span + span) % span;
      for (int k = 0; k <= count; k += step) {
        const int v = kMin[f] + ((lo - kMin[f] + k) % span);
        switch (f) {
          case kSecond:
            e.seconds_.set(v);
            break;
          case kMinute:
            e.minutes_.set(v);
            break;
          case kHour:
            e.hours_.set(v);
            break;
          case kDayOfMonth:
            e.days_of_month_.set(v);
            break;
          case kMonth:
            e.months_.set(v);
            break;
          case kDayOfWeek:
            e.days_of_week_.set(v);
            break;
          case kYear:
            e.years_.set(v - 1970);
            break;
        }
      }
    }
    if (fi == kDayOfMonth && dom_none && items.size() > 1)
      return Err(Bad("'?' can only be specified for Day-of-Month or Day-of-Week."));
  }
  if (dom_none && dow_none) return Err(Bad("'?' can only be specified for Day-of-Month -OR- Day-of-Week."));
  if (!dom_none && !dow_none)
    return Err(Bad("Support for specifying both a day-of-week AND a day-of-month parameter is not implemented."));
  e.dom_unspecified_ = dom_none;
  return e;
}

bool CronExpression::day_matches(int y, int m, int d) const {
  const int last = civil::DaysInMonth(y, m);
  if (!dom_unspecified_) {
    if (last_day_) return d == last - last_day_offset_;
    if (last_weekday_) {
      int lw = last;
      const int wd = WeekDay(y, m, lw);
      if (wd == 7) lw -= 1;
      if (wd == 1) lw -= 2;
      return d == lw;
    }
    if (nearest_weekday_) {
      int n = nearest_weekday_;
      if (n > last) return false;
      const int wd = WeekDay(y, m, n);
      if (wd == 7) n = n == 1 ? 3 : n - 1;         // Saturday: Friday, or Monday the 3rd
      if (wd == 1) n = n == last ? n - 2 : n + 1;  // Sunday: Monday, or Friday before the end
      return d == n;
    }
    return days_of_month_[d];
  }
  const int wd = WeekDay(y, m, d);
  if (nth_) return wd == nth_day_ && (d - 1) / 7 + 1 == nth_;
  if (last_of_week_day_) return wd == last_of_week_day_ && d + 7 > last;
  return days_of_week_[wd];
}

std::optional<std::int64_t> CronExpression::next_after(std::int64_t after, const TimeZone& zone) const {
  const std::int64_t from = after + 1;
  const std::int64_t local = from + zone.offset_at(from);
  std::int64_t day = local >= 0 ? local / 86400 : (local - 86399) / 86400;
  const std::int64_t start_tod = local - day * 86400;
  const std::int64_t first_day = day;
  for (;;) {
    const auto [y, m, d] = civil::CivilFromDays(day);
    if (y >= 2300) return std::nullopt;
    if (y < 1970 || !years_[y - 1970]) {
      day = civil::DaysFromCivil(y + 1, 1, 1);
      continue;
    }
    if (!months_[m]) {
      day = m == 12 ? civil::DaysFromCivil(y + 1, 1, 1) : civil::DaysFromCivil(y, static_cast<unsigned>(m + 1), 1);
      continue;
    }
    if (day_matches(y, m, d)) {
      const std::int64_t lower = day == first_day ? start_tod : 0;
      for (int h = static_cast<int>(lower / 3600); h < 24; ++h) {
        if (!hours_[h]) continue;
        for (int mi = 0; mi < 60; ++mi) {
          if (!minutes_[mi] || h * 3600 + mi * 60 + 59 < lower) continue;
          for (int s = 0; s < 60; ++s) {
            const std::int64_t tod = h * 3600 + mi * 60 + s;
            if (!seconds_[s] || tod < lower) continue;
            const auto instants = zone.instants_of(day * 86400 + tod);
            if (instants.empty()) continue;  // a wall time that does not exist
            if (instants.back() > after) return instants.back();
          }
        }
      }
    }
    ++day;
  }
}

}  // namespace setpoint::shardedjob
