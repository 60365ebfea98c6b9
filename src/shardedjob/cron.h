// Quartz cron expressions, as ElasticJob writes them: "0/30 * * * * ?".
//
// Fields: seconds, minutes, hours, day-of-month, month (1-12 or JAN-DEC), day-of-week (1-7 from
// Sunday, or SUN-SAT), and an optional year. `*` is every value, `?` no value, and each field
// takes lists (`,`), ranges (`-`, which may wrap: `22-2`, `FRI-MON`) and steps (`/`). Exactly
// one of day-of-month and day-of-week is `?`.
//
// The special forms:
// - day-of-month `L` (the last day), `L-n` (n days before it), `nW` (the weekday nearest day n,
//   within the month) and `LW` (the last weekday);
// - day-of-week `L` (Saturday), `nL` (the last day n of the month) and `n#k` (the k-th day n).
//
// Errors carry Quartz's messages ("Support for specifying both a day-of-week AND a day-of-month
// parameter is not implemented.").
//
// Next fire times follow Quartz across daylight-saving changes:
// - a wall time that does not exist (the hour skipped in spring) does not fire;
// - a wall time that exists twice (the hour repeated in autumn) fires once, at its later instant
//   (standard time).
//
// Immutable; thread-safe.
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "setpoint/common/status.h"
#include "shardedjob/zone.h"

namespace setpoint::shardedjob {

class CronExpression {
 public:
  static Result<CronExpression> Parse(std::string_view text);

  // The first fire time strictly after `after` (seconds since the epoch), with wall times in
  // `zone`; nullopt when there is none before the year 2300.
  std::optional<std::int64_t> next_after(std::int64_t after, const TimeZone& zone) const;

  const std::string& text() const { return text_; }

 private:
  bool day_matches(int year, int month, int day) const;

  std::string text_;
  std::bitset<60> seconds_, minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_of_month_;  // 1..31
  std::bitset<13> months_;         // 1..12
  std::bitset<8> days_of_week_;    // 1..7, Sunday 1
  std::bitset<330> years_;         // 1970..2299
  bool dom_unspecified_ = false;   // '?' in day-of-month: day-of-week decides
  bool last_day_ = false;          // L, L-n
  int last_day_offset_ = 0;
  bool last_weekday_ = false;  // LW
  int nearest_weekday_ = 0;    // nW
  int last_of_week_day_ = 0;   // nL: the last day n of the month
  int nth_day_ = 0, nth_ = 0;  // n#k
};

}  // namespace setpoint::shardedjob
