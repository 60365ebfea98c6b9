// Envs for tests of the SDK's retry loops (the runtime's, the REST client's): sleeps that return
// at once or wait on a condition, each one recorded, and a fixed "random" value.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <vector>

#include "setpoint/common/env.h"

namespace setpoint::testing {

class ScriptedEnv final : public Env {
 public:
  // `sleep` is what a sleep does (recorded first); empty: return at once.
  explicit ScriptedEnv(std::function<void(std::chrono::milliseconds, std::stop_token)> sleep = {}, double random = 0.0)
      : sleep_(std::move(sleep)), random_(random) {}
  ClockPtr wall() const override { return DefaultEnv()->wall(); }
  MonotonicClockPtr steady() const override { return DefaultEnv()->steady(); }
  double random() const override { return random_; }
  bool sleep_for(Duration d, std::stop_token stop) const override {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d);
    {
      std::lock_guard lock(mu_);
      sleeps_.push_back(ms);
    }
    if (sleep_) sleep_(ms, stop);
    return !stop.stop_requested();
  }
  std::vector<std::chrono::milliseconds> sleeps() const {
    std::lock_guard lock(mu_);
    return sleeps_;
  }

 private:
  const std::function<void(std::chrono::milliseconds, std::stop_token)> sleep_;
  const double random_;
  mutable std::mutex mu_;
  mutable std::vector<std::chrono::milliseconds> sleeps_;  // GUARDED_BY(mu_)
};

// A sleep that never ends by itself: it waits for `stop` (the watcher's or the controller's
// stop), for a retry loop a test wants parked.
inline void WaitForStop(std::stop_token stop) {
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock lock(mu);
  cv.wait(lock, stop, [] { return false; });
}

}  // namespace setpoint::testing
