#include "setpoint/runtime/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace setpoint::runtime {

Duration ItemExponentialRateLimiter::when(const std::string& key) {
  int exp;
  {
    std::lock_guard<std::mutex> lock(mu_);
    int& failures = failures_[key];
    exp = failures;
    if (failures < 1 << 30) ++failures;
  }
  // Computed in floating point so that 2^exp can never overflow the integer duration.
  const double delay = static_cast<double>(base_.count()) * std::pow(2.0, exp);
  if (delay >= static_cast<double>(max_.count())) return max_;
  return Duration(static_cast<Duration::rep>(delay));
}

void ItemExponentialRateLimiter::forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  failures_.erase(key);
}

int ItemExponentialRateLimiter::num_requeues(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

BucketRateLimiter::BucketRateLimiter(double qps, int burst, MonotonicClockPtr clock)
    : qps_(qps),
      burst_(burst),
      clock_(clock ? std::move(clock) : RealMonotonicClockInstance()),
      tokens_(burst),
      last_(clock_->now()) {}

Duration BucketRateLimiter::when(const std::string&) {
  std::lock_guard<std::mutex> lock(mu_);
  if (qps_ <= 0) return Duration::zero();  // like rate.Inf: unlimited
  const SteadyTime now = clock_->now();
  if (now > last_) {
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed * qps_);
    last_ = now;
  }
  tokens_ -= 1.0;
  if (tokens_ >= 0) return Duration::zero();
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(-tokens_ / qps_));
}

Duration MaxOfRateLimiter::when(const std::string& key) {
  Duration longest = Duration::zero();
  for (const auto& l : limiters_) longest = std::max(longest, l->when(key));
  return longest;
}

void MaxOfRateLimiter::forget(const std::string& key) {
  for (const auto& l : limiters_) l->forget(key);
}

int MaxOfRateLimiter::num_requeues(const std::string& key) const {
  int most = 0;
  for (const auto& l : limiters_) most = std::max(most, l->num_requeues(key));
  return most;
}

RateLimiterPtr DefaultRateLimiter() {
  return std::make_unique<ItemExponentialRateLimiter>(kDefaultBackoffBase, kDefaultBackoffMax);
}

RateLimiterPtr ClassicControllerRateLimiter(MonotonicClockPtr clock) {
  std::vector<RateLimiterPtr> parts;
  parts.push_back(DefaultRateLimiter());
  parts.push_back(std::make_unique<BucketRateLimiter>(10.0, 100, std::move(clock)));
  return std::make_unique<MaxOfRateLimiter>(std::move(parts));
}

}  // namespace setpoint::runtime
