#include "setpoint/common/log_limiter.h"

namespace setpoint {

std::optional<std::uint64_t> LogLimiter::admit(std::string_view key, std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    entries_.emplace(std::string(key), Entry{now, 0});
    return 0;
  }
  Entry& e = it->second;
  if (now - e.last < interval_) {
    ++e.held;
    return std::nullopt;
  }
  const std::uint64_t held = e.held;
  e = Entry{now, 0};
  return held;
}

std::string LogLimiter::Suffix(std::uint64_t suppressed) {
  if (suppressed == 0) return "";
  return " (" + std::to_string(suppressed) + " similar line" + (suppressed == 1 ? "" : "s") + " suppressed)";
}

}  // namespace setpoint
