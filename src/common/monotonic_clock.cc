#include "setpoint/common/monotonic_clock.h"

namespace setpoint {

MonotonicClockPtr RealMonotonicClockInstance() {
  static const MonotonicClockPtr clock = std::make_shared<RealMonotonicClock>();
  return clock;
}

SteadyTime FakeMonotonicClock::now() const { return SteadyTime(Duration(now_ns_.load())); }

void FakeMonotonicClock::wait_until(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                                    SteadyTime deadline) const {
  // A fake deadline is reached only through advance(), whose wake callback notifies `cv` while
  // holding the waiter's mutex, so checking then waiting cannot lose the wake-up.
  if (now() >= deadline) return;
  cv.wait(lock);
}

std::uint64_t FakeMonotonicClock::subscribe(std::function<void()> wake) const {
  std::lock_guard<std::mutex> lock(mu_);
  const std::uint64_t token = next_token_++;
  wakers_.emplace(token, std::move(wake));
  return token;
}

std::size_t FakeMonotonicClock::subscribers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return wakers_.size();
}

void FakeMonotonicClock::unsubscribe(std::uint64_t token) const {
  std::lock_guard<std::mutex> lock(mu_);
  wakers_.erase(token);
}

void FakeMonotonicClock::advance(Duration d) {
  // The callbacks run under mu_ so that an unsubscribe() which has returned guarantees that its
  // callback is not running and will not run again (the owner may then be destroyed).
  // now_ns_ is updated under mu_ so that concurrent advances wake subscribers in time order.
  std::lock_guard<std::mutex> lock(mu_);
  if (d.count() > 0) now_ns_ += d.count();
  for (auto& [token, wake] : wakers_) wake();
}

}  // namespace setpoint
