// MonotonicClock: the steady time source of the SDK (the controller runtime's queues and waits,
// the REST client's retry sleeps through Env), injectable so tests drive delays (requeue-after,
// backoff, token refill) without sleeping. setpoint/runtime/monotonic_clock.h names it in runtime::.
//
// Besides `now()`, a clock owns how a thread *waits* for a point in its time: the real clock waits
// on the condition variable with a steady-clock deadline; the fake clock waits only for a notify,
// and `FakeMonotonicClock::advance()` runs every subscriber's wake callback, which is expected to
// take the waiter's mutex and notify its condition variable. So a waiter never misses an advance.
//
// Thread-safety: both implementations are thread-safe. Lock order: the fake clock calls wake
// callbacks while holding its own subscriber lock, so a callback may take its owner's mutex, but
// the owner must never subscribe/unsubscribe while holding that mutex.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

namespace setpoint {

using SteadyTime = std::chrono::steady_clock::time_point;
using Duration = std::chrono::nanoseconds;

class MonotonicClock {
 public:
  virtual ~MonotonicClock() = default;
  virtual SteadyTime now() const = 0;
  // Blocks on `cv` (whose mutex `lock` holds) until notified or until this clock reaches
  // `deadline`. May return spuriously or early; callers re-check their predicate.
  virtual void wait_until(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                          SteadyTime deadline) const = 0;
  // Registers `wake` to run whenever this clock's time jumps (fake clocks only; the real clock
  // never jumps and ignores it). Returns a token for unsubscribe().
  virtual std::uint64_t subscribe(std::function<void()> wake) const = 0;
  virtual void unsubscribe(std::uint64_t token) const = 0;
};
using MonotonicClockPtr = std::shared_ptr<const MonotonicClock>;

class RealMonotonicClock final : public MonotonicClock {
 public:
  SteadyTime now() const override { return std::chrono::steady_clock::now(); }
  void wait_until(std::condition_variable& cv, std::unique_lock<std::mutex>& lock, SteadyTime deadline) const override {
    cv.wait_until(lock, deadline);
  }
  std::uint64_t subscribe(std::function<void()>) const override { return 0; }
  void unsubscribe(std::uint64_t) const override {}
};

// The process-wide real clock (stateless).
MonotonicClockPtr RealMonotonicClockInstance();

// A clock that moves only when a test calls advance(). Starts at an arbitrary fixed epoch.
class FakeMonotonicClock final : public MonotonicClock {
 public:
  FakeMonotonicClock() = default;
  SteadyTime now() const override;
  void wait_until(std::condition_variable& cv, std::unique_lock<std::mutex>& lock, SteadyTime deadline) const override;
  std::uint64_t subscribe(std::function<void()> wake) const override;
  void unsubscribe(std::uint64_t token) const override;

  // Moves time forward by `d` (negative values are ignored) and wakes every subscriber.
  void advance(Duration d);
  // How many are subscribed: a test waits for a sleeper to be asleep before it advances time.
  std::size_t subscribers() const;

 private:
  mutable std::mutex mu_;
  // Nanoseconds since the steady epoch; atomic so now() never takes mu_ (wake callbacks read it).
  std::atomic<Duration::rep> now_ns_{std::chrono::nanoseconds(std::chrono::hours(1)).count()};
  mutable std::uint64_t next_token_ = 1;                           // GUARDED_BY(mu_)
  mutable std::map<std::uint64_t, std::function<void()>> wakers_;  // GUARDED_BY(mu_)
};

}  // namespace setpoint
