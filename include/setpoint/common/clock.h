// Clock: the source of wall time, injectable so tests control it; and the time formats the
// Kubernetes API uses (RFC 3339 with seconds, and kubectl's human durations).
// SystemClock is stateless and thread-safe; FakeClock is thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace setpoint {

using WallTime = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual WallTime now() const = 0;
};
using ClockPtr = std::shared_ptr<const Clock>;

class SystemClock final : public Clock {
 public:
  WallTime now() const override { return std::chrono::system_clock::now(); }
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(WallTime start) : micros_(ToMicros(start)) {}
  WallTime now() const override { return WallTime(std::chrono::microseconds(micros_.load())); }
  void advance(std::chrono::microseconds d) { micros_ += d.count(); }

 private:
  static std::int64_t ToMicros(WallTime t) {
    return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  }
  std::atomic<std::int64_t> micros_;
};

// "2026-11-27T05:23:31Z" (seconds precision, UTC), as metav1.Time serialises.
std::string FormatRfc3339(WallTime t);
// Accepts "YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)".
std::optional<WallTime> ParseRfc3339(std::string_view s);

// kubectl's HumanDuration: "45s", "3m20s", "5h", "12d", "2y".
std::string HumanDuration(std::chrono::seconds d);

}  // namespace setpoint
