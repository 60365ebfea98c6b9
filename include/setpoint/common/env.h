// Env: the one seam for time and chance in the SDK (the idea of leveldb's Env): the wall clock,
// the steady clock with its waits, stop-aware sleeps, and randomness. The REST client's retries
// (RestClientOptions::env) and the controller runtime read it; setpoint/runtime/env.h names it in
// runtime::.
//
// ManagerOptions::env hands one Env to every part a manager builds — the informers (backoff
// sleeps and their jitter), the controllers' work queues (RequeueAfter, backoff), the
// read-your-writes client, leader election (expiry, renew deadlines, retry jitter, the times it
// writes) and the event recorder — so a test drives every timing of an operator with one FakeEnv:
//
//   auto env = std::make_shared<setpoint::runtime::FakeEnv>();
//   auto mgr = Manager::Create(rest, {.name = "test", .env = env});
//   ...                             // a reconcile answers RequeueAfter(1h)
//   env->advance(std::chrono::hours(1));   // and runs again, without an hour's wait
//
// The parts also take an Env of their own (WatcherOptions::env, LeaderElectionConfig::env,
// EventRecorderOptions::env, CachedClientOptions::env); a work queue takes env->steady().
// Thread-safety: every method of both implementations may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <stop_token>

#include "setpoint/common/clock.h"
#include "setpoint/common/monotonic_clock.h"

namespace setpoint {

class Env {
 public:
  virtual ~Env() = default;
  virtual ClockPtr wall() const = 0;
  virtual MonotonicClockPtr steady() const = 0;
  // Uniform in [0, 1).
  virtual double random() const = 0;
  // Waits `d` on steady(), or until `stop` is requested; false when stopped first. (A fake steady
  // clock's sleeper wakes when it is advanced past the deadline.)
  virtual bool sleep_for(Duration d, std::stop_token stop = {}) const;
};
using EnvPtr = std::shared_ptr<const Env>;

// The real clocks and a randomly seeded generator (one per thread).
EnvPtr DefaultEnv();

// Clocks that move only by advance(), and a generator with a fixed seed: the same run every time.
class FakeEnv final : public Env {
 public:
  explicit FakeEnv(std::uint64_t seed = 1,
                   WallTime wall_start = WallTime(std::chrono::seconds(1'767'225'600)));  // 2026-01-01
  ClockPtr wall() const override { return wall_; }
  MonotonicClockPtr steady() const override { return steady_; }
  double random() const override;
  // Moves both clocks forward by `d` (negative values are ignored) and wakes every waiter whose
  // deadline has passed.
  void advance(Duration d);
  // How many wait on the steady clock (sleep_for, a work queue's delays): what a test waits for
  // before it advances time past a deadline that must already be set.
  std::size_t waiters() const { return steady_->subscribers(); }

 private:
  std::shared_ptr<FakeClock> wall_;
  std::shared_ptr<FakeMonotonicClock> steady_;
  mutable std::mutex mu_;
  mutable std::mt19937_64 rng_;  // GUARDED_BY(mu_)
};

}  // namespace setpoint
