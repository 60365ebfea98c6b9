#include "setpoint/common/env.h"

#include <condition_variable>

namespace setpoint {

bool Env::sleep_for(Duration d, std::stop_token stop) const {
  const MonotonicClockPtr clock = steady();
  const SteadyTime deadline = clock->now() + d;
  std::mutex mu;
  std::condition_variable cv;
  // Subscribed and unsubscribed without holding `mu`, as MonotonicClock's lock order requires.
  const std::uint64_t token = clock->subscribe([&] {
    std::lock_guard lock(mu);
    cv.notify_all();
  });
  {
    std::stop_callback on_stop(stop, [&] {
      std::lock_guard lock(mu);
      cv.notify_all();
    });
    std::unique_lock lock(mu);
    while (!stop.stop_requested() && clock->now() < deadline) clock->wait_until(cv, lock, deadline);
  }
  clock->unsubscribe(token);
  return !stop.stop_requested();
}

namespace {

class RealEnv final : public Env {
 public:
  ClockPtr wall() const override { return wall_; }
  MonotonicClockPtr steady() const override { return RealMonotonicClockInstance(); }
  double random() const override {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  }

 private:
  const ClockPtr wall_ = std::make_shared<SystemClock>();
};

}  // namespace

EnvPtr DefaultEnv() {
  static const EnvPtr env = std::make_shared<RealEnv>();
  return env;
}

FakeEnv::FakeEnv(std::uint64_t seed, WallTime wall_start)
    : wall_(std::make_shared<FakeClock>(wall_start)), steady_(std::make_shared<FakeMonotonicClock>()), rng_(seed) {}

double FakeEnv::random() const {
  std::lock_guard lock(mu_);
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
}

void FakeEnv::advance(Duration d) {
  if (d <= Duration::zero()) return;
  wall_->advance(std::chrono::duration_cast<std::chrono::microseconds>(d));
  steady_->advance(d);
}

}  // namespace setpoint
