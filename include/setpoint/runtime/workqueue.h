// WorkQueue: the controller's queue of object keys ("namespace/name"), with exactly client-go's
// contract (`util/workqueue/queue.go`, `delaying_queue.go`, `rate_limiting_queue.go`):
//
// - Fair: keys are handed out in the order they became ready (FIFO).
// - Stingy: a key is queued at most once however often it is added (dedup), and is never handed
//   to two workers at once: between get() and done() it is "processing".
// - A key added while processing is remembered ("dirty") and queued again by done(), so it runs
//   exactly once more.
// - add_after(key, d) parks the key until the clock reaches now + d; a key parked several times
//   keeps the EARLIEST ready time. d <= 0 is add().
// - add_rate_limited(key) = add_after(key, limiter.when(key)); forget(key) clears the limiter's
//   failure count only (the worker must still call done()); num_requeues(key) reads it.
// - shutdown(): adds are ignored from then on, parked keys are dropped, getters drain what is
//   ready and then get nullopt. shutdown_with_drain() also waits until every processing key is
//   done() (so every worker MUST call done()).
//
// There is no timer thread: parked keys are promoted to ready by whichever call next looks at the
// queue, and blocked getters sleep through the injected MonotonicClock until the earliest ready
// time (a fake clock wakes them on advance()). Owned by the controller; workers borrow it.
//
// Thread-safe: every method may be called from any thread; get() and shutdown_with_drain() block.
// Destroying the queue while a thread is inside get() is undefined: shut down, join the workers,
// then destroy.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "setpoint/runtime/monotonic_clock.h"
#include "setpoint/runtime/rate_limiter.h"
#include "setpoint/runtime/workqueue_metrics.h"

namespace setpoint::runtime {

struct WorkQueueOptions {
  RateLimiterPtr rate_limiter;  // null: DefaultRateLimiter() (per-item exponential only)
  MonotonicClockPtr clock;      // null: the real steady clock
};

class WorkQueue {
 public:
  explicit WorkQueue(WorkQueueOptions options = {});
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void add(const std::string& key);
  void add_after(const std::string& key, Duration delay);
  void add_rate_limited(const std::string& key);
  void forget(const std::string& key);
  int num_requeues(const std::string& key) const;

  // Blocks until a key is ready, then hands it out (now processing). nullopt once shut down and
  // nothing ready is left.
  std::optional<std::string> get();
  // Marks `key` finished; queues it again if it was added meanwhile. Unknown keys are ignored.
  void done(const std::string& key);

  void shutdown();
  void shutdown_with_drain();
  bool shutting_down() const;

  // Ready keys, not counting processing or parked ones. Informational: never gate logic on it.
  std::size_t len() const;
  // Keys parked by add_after that are not yet ready.
  std::size_t num_waiting() const;

  WorkQueueMetrics metrics() const;

 private:
  using Waiting = std::set<std::tuple<SteadyTime, std::uint64_t, std::string>>;

  // Moves parked keys whose time has come to the ready queue. Logically const: a key past its
  // ready time IS ready, so observers (len, metrics) may promote it too.
  void promote_due_locked(SteadyTime now) const;
  void add_locked(const std::string& key, SteadyTime now) const;

  const RateLimiterPtr limiter_;
  const MonotonicClockPtr clock_;
  std::uint64_t clock_token_ = 0;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;                             // a key became ready, time moved, or shutdown
  std::condition_variable drained_;                                // processing became empty
  mutable std::deque<std::string> queue_;                          // GUARDED_BY(mu_)
  mutable std::unordered_set<std::string> dirty_;                  // GUARDED_BY(mu_)
  std::unordered_map<std::string, SteadyTime> processing_;         // GUARDED_BY(mu_) -> started
  mutable std::unordered_map<std::string, SteadyTime> queued_at_;  // GUARDED_BY(mu_)
  mutable Waiting waiting_;                                        // GUARDED_BY(mu_)
  mutable std::unordered_map<std::string, Waiting::iterator> waiting_by_key_;  // GUARDED_BY(mu_)
  std::uint64_t waiting_seq_ = 0;                                              // GUARDED_BY(mu_)
  bool shutting_down_ = false;                                                 // GUARDED_BY(mu_)
  mutable WorkQueueMetrics metrics_;                                           // GUARDED_BY(mu_)
};

}  // namespace setpoint::runtime
