// An IANA time zone read from the system's zoneinfo (Debian's tzdata, TZif files), for
// ShardedJob's spec.timeZone: UTC offsets at an instant, and local wall times back to instants.
// libstdc++ 12 has no std::chrono::tzdb, hence this small reader.
//
// Limit: past a zone's last listed transition (2037 in Debian's files) its last offset holds; the
// POSIX rule in the file's footer is not evaluated.
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
};

}  // namespace setpoint::shardedjob
