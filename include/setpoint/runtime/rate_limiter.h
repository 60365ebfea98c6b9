// RateLimiter: decides how long a failing key waits before its next attempt, as client-go's
// `workqueue.TypedRateLimiter` does (`util/workqueue/default_rate_limiters.go`).
//
// `when(key)` records one more failure of `key` and returns its delay; `forget(key)` clears the
// key's history (call it when the key succeeds); `num_requeues(key)` reports its failures.
// Every implementation here is thread-safe (one internal mutex) and never blocks.
//
// Defaults (DESIGN.md, "Controller runtime"): DefaultRateLimiter() is the per-item exponential
// limiter 5 ms -> 1000 s only, as controller-runtime uses since v0.23. The older controller-runtime
// default that also throttles all keys together through a 10 qps / burst 100 bucket is
// ClassicControllerRateLimiter(), used only when asked for.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "setpoint/runtime/monotonic_clock.h"

namespace setpoint::runtime {

class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  virtual Duration when(const std::string& key) = 0;
  virtual void forget(const std::string& key) = 0;
  virtual int num_requeues(const std::string& key) const = 0;
};
using RateLimiterPtr = std::unique_ptr<RateLimiter>;

// base * 2^failures, capped at `max_delay` (overflow-safe): with (5 ms, 1000 s) the delays are
// 5 ms, 10 ms, 20 ms, ... 655.36 s on the 18th failure, then 1000 s from the 19th on.
class ItemExponentialRateLimiter final : public RateLimiter {
 public:
  ItemExponentialRateLimiter(Duration base, Duration max_delay) : base_(base), max_(max_delay) {}
  Duration when(const std::string& key) override;
  void forget(const std::string& key) override;
  int num_requeues(const std::string& key) const override;

 private:
  const Duration base_;
  const Duration max_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, int> failures_;  // GUARDED_BY(mu_)
};

// A token bucket shared by all keys (golang.org/x/time/rate `Reserve().Delay()`): holds at most
// `burst` tokens, refilled at `qps` per second; every call takes one token, going into debt when
// empty, and the delay is the time until that debt is repaid. Tokens are never returned
// (k8s #104554). forget() is a no-op and num_requeues() is always 0, as upstream.
class BucketRateLimiter final : public RateLimiter {
 public:
  BucketRateLimiter(double qps, int burst, MonotonicClockPtr clock);
  Duration when(const std::string& key) override;
  void forget(const std::string&) override {}
  int num_requeues(const std::string&) const override { return 0; }

 private:
  const double qps_;
  const double burst_;
  const MonotonicClockPtr clock_;
  std::mutex mu_;
  double tokens_;    // GUARDED_BY(mu_); negative = debt
  SteadyTime last_;  // GUARDED_BY(mu_)
};

// The largest delay of its parts; forget() fans out; num_requeues() is the largest count.
class MaxOfRateLimiter final : public RateLimiter {
 public:
  explicit MaxOfRateLimiter(std::vector<RateLimiterPtr> limiters) : limiters_(std::move(limiters)) {}
  Duration when(const std::string& key) override;
  void forget(const std::string& key) override;
  int num_requeues(const std::string& key) const override;

 private:
  const std::vector<RateLimiterPtr> limiters_;  // each thread-safe on its own
};

inline constexpr Duration kDefaultBackoffBase = std::chrono::milliseconds(5);
inline constexpr Duration kDefaultBackoffMax = std::chrono::seconds(1000);

// ItemExponential(5 ms, 1000 s): the default of every WorkQueue.
RateLimiterPtr DefaultRateLimiter();
// MaxOf(ItemExponential(5 ms, 1000 s), Bucket(10 qps, burst 100)): client-go's
// DefaultTypedControllerRateLimiter. `clock` null means the real clock.
RateLimiterPtr ClassicControllerRateLimiter(MonotonicClockPtr clock = nullptr);

}  // namespace setpoint::runtime
