// An IANA time zone read from the system's zoneinfo (Debian's tzdata, TZif files), for
// ShardedJob's spec.timeZone: UTC offsets at an instant, and local wall times back to instants.
// libstdc++ 12 has no std::chrono::tzdb, hence this small reader.
//
// Past a zone's last listed transition (2037 in Debian's files) the POSIX TZ rule of the file's
// footer ("CET-1CEST,M3.5.0,M10.5.0/3") gives the offsets, as for any year.
//
// Immutable once loaded; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "setpoint/common/status.h"

namespace setpoint::shardedjob {

class TimeZone {
 public:
  // "UTC" (also "Etc/UTC", "" ), or a name under `zoneinfo_dir` ("Asia/Shanghai"). BadRequest for a
  // name that is not a zone ("unknown time zone \"X\"").
  static Result<TimeZone> Load(std::string_view name, const std::string& zoneinfo_dir = "/usr/share/zoneinfo");
  static TimeZone Utc();

  const std::string& name() const { return name_; }
  // Seconds east of UTC at `utc` (seconds since the epoch).
  std::int32_t offset_at(std::int64_t utc) const;
  // The instants whose local wall time is `local` (seconds since the epoch, as if UTC): none in a
  // gap (spring forward), two in an overlap (fall back), earliest first.
  std::vector<std::int64_t> instants_of(std::int64_t local) const;

 private:
  std::string name_;
  std::vector<std::int64_t> transitions_;  // ascending
  std::vector<std::int32_t> offsets_;      // the offset from transitions_[i] on
  std::int32_t initial_offset_ = 0;        // before the first transition

  // The footer's rule: standard and daylight offsets, and when daylight time starts and ends.
  struct Rule {
    enum Kind { kMonthWeekDay, kJulianNoLeap, kJulianZero };
    Kind kind = kMonthWeekDay;
    int month = 0, week = 0, day = 0;  // Mm.w.d, or the day of Jn / n
    std::int32_t time = 7200;          // seconds after local midnight
  };
  bool has_footer_ = false, has_dst_ = false;
  std::int32_t std_offset_ = 0, dst_offset_ = 0;
  Rule start_, end_;
  bool parse_footer(std::string_view tz);
  // The instant daylight time starts (ends) in `year`.
  std::int64_t transition(int year, const Rule& r, std::int32_t offset_before) const;
};

}  // namespace setpoint::shardedjob
