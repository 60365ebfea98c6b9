#include "setpoint/runtime/workqueue.h"

#include <algorithm>

namespace setpoint::runtime {
namespace {

double Seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

WorkQueue::WorkQueue(WorkQueueOptions options)
    : limiter_(options.rate_limiter ? std::move(options.rate_limiter) : DefaultRateLimiter()),
      clock_(options.clock ? std::move(options.clock) : RealMonotonicClockInstance()) {
  // Subscribed outside mu_ (the clock's lock is taken before ours, never after).
  clock_token_ = clock_->subscribe([this] {
    std::lock_guard<std::mutex> lock(mu_);
    promote_due_locked(clock_->now());
    cv_.notify_all();
  });
}

WorkQueue::~WorkQueue() { clock_->unsubscribe(clock_token_); }

void WorkQueue::add_locked(const std::string& key, SteadyTime now) const {
  if (shutting_down_) return;
  if (dirty_.contains(key)) return;  // already queued, or already due to run again after done()
  dirty_.insert(key);
  ++metrics_.adds_total;
  // As client-go, queue duration runs from this add, even when done() is what queues the key.
  queued_at_.emplace(key, now);
  if (processing_.contains(key)) return;  // done() queues it
  queue_.push_back(key);
  cv_.notify_one();
}

void WorkQueue::promote_due_locked(SteadyTime now) const {
  while (!waiting_.empty()) {
    auto first = waiting_.begin();
    if (std::get<0>(*first) > now) break;
    const SteadyTime ready_at = std::get<0>(*first);
    const std::string key = std::get<2>(*first);
    waiting_by_key_.erase(key);
    waiting_.erase(first);
    // Queued as of its ready time: a fake clock that jumps past it must not shorten the metric.
    add_locked(key, ready_at);
  }
}

void WorkQueue::add(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  const SteadyTime now = clock_->now();
  promote_due_locked(now);  // keys that became ready earlier go first (fairness)
  add_locked(key, now);
}

void WorkQueue::add_after(const std::string& key, Duration delay) {
  std::lock_guard<std::mutex> lock(mu_);
  if (shutting_down_) return;
  ++metrics_.retries_total;  // as client-go: every AddAfter, whatever the delay
  const SteadyTime now = clock_->now();
  promote_due_locked(now);
  if (delay <= Duration::zero()) {
    add_locked(key, now);
    return;
  }
  // Clamp so that a huge RequeueAfter cannot overflow the time point (or the real clock's wait).
  constexpr Duration kMaxDelay = std::chrono::hours(24 * 365 * 100);
  const SteadyTime ready_at = now + std::min(delay, kMaxDelay);
  if (auto it = waiting_by_key_.find(key); it != waiting_by_key_.end()) {
    if (std::get<0>(*it->second) <= ready_at) return;  // the earliest ready time wins
    waiting_.erase(it->second);
    waiting_by_key_.erase(it);
  }
  auto [pos, inserted] = waiting_.emplace(ready_at, waiting_seq_++, key);
  waiting_by_key_.emplace(key, pos);
  // A getter sleeping until a later deadline must re-arm for this earlier one.
  cv_.notify_all();
}

void WorkQueue::add_rate_limited(const std::string& key) {
  // The limiter has its own lock; never call it under mu_.
  add_after(key, limiter_->when(key));
}

void WorkQueue::forget(const std::string& key) { limiter_->forget(key); }

int WorkQueue::num_requeues(const std::string& key) const { return limiter_->num_requeues(key); }

std::optional<std::string> WorkQueue::get() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    const SteadyTime now = clock_->now();
    promote_due_locked(now);
    if (!queue_.empty()) break;
    if (shutting_down_) return std::nullopt;
    if (waiting_.empty()) {
      cv_.wait(lock);
    } else {
      clock_->wait_until(cv_, lock, std::get<0>(*waiting_.begin()));
    }
  }
  std::string key = std::move(queue_.front());
  queue_.pop_front();
  const SteadyTime now = clock_->now();
  if (auto it = queued_at_.find(key); it != queued_at_.end()) {
    metrics_.queue_duration_seconds.observe(Seconds(now - it->second));
    queued_at_.erase(it);
  }
  processing_.emplace(key, now);
  dirty_.erase(key);
  return key;
}

void WorkQueue::done(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = processing_.find(key);
  if (it == processing_.end()) return;
  const SteadyTime now = clock_->now();
  metrics_.work_duration_seconds.observe(Seconds(now - it->second));
  processing_.erase(it);
  if (dirty_.contains(key)) {
    queue_.push_back(key);
    cv_.notify_one();
  }
  if (processing_.empty()) drained_.notify_all();
}

void WorkQueue::shutdown() {
  std::lock_guard<std::mutex> lock(mu_);
  shutting_down_ = true;
  // Parked keys will never be handed out; drop them so len()/metrics say so.
  waiting_.clear();
  waiting_by_key_.clear();
  cv_.notify_all();
}

void WorkQueue::shutdown_with_drain() {
  shutdown();
  std::unique_lock<std::mutex> lock(mu_);
  drained_.wait(lock, [this] { return processing_.empty(); });
}

bool WorkQueue::shutting_down() const {
  std::lock_guard<std::mutex> lock(mu_);
  return shutting_down_;
}

std::size_t WorkQueue::len() const {
  std::lock_guard<std::mutex> lock(mu_);
  promote_due_locked(clock_->now());
  return queue_.size();
}

std::size_t WorkQueue::num_waiting() const {
  std::lock_guard<std::mutex> lock(mu_);
  promote_due_locked(clock_->now());
  return waiting_.size();
}

WorkQueueMetrics WorkQueue::metrics() const {
  std::lock_guard<std::mutex> lock(mu_);
  const SteadyTime now = clock_->now();
  promote_due_locked(now);
  WorkQueueMetrics m = metrics_;
  m.depth = static_cast<std::int64_t>(queue_.size());
  m.unfinished_work_seconds = 0;
  m.longest_running_processor_seconds = 0;
  for (const auto& [key, started] : processing_) {
    const double age = Seconds(now - started);
    m.unfinished_work_seconds += age;
    m.longest_running_processor_seconds = std::max(m.longest_running_processor_seconds, age);
  }
  return m;
}

}  // namespace setpoint::runtime
