// WorkQueueMetrics: a point-in-time snapshot of one work queue's metrics, named exactly as
// controller-runtime exports them (`pkg/internal/metrics/workqueue.go`) so existing dashboards
// and alerts work: workqueue_depth, workqueue_adds_total, workqueue_queue_duration_seconds,
// workqueue_work_duration_seconds, workqueue_retries_total, workqueue_unfinished_work_seconds,
// workqueue_longest_running_processor_seconds; labels `name` and `controller`.
//
// A plain value type (thread-compatible). WorkQueue::metrics() fills one under the queue's lock.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace setpoint::runtime {

// A Prometheus histogram with controller-runtime's workqueue buckets: 1e-8 s ... 1e3 s, x10.
struct LatencyHistogram {
  static constexpr std::array<double, 12> kBounds = {1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3,
                                                     1e-2, 1e-1, 1e0,  1e1,  1e2,  1e3};
  std::array<std::uint64_t, kBounds.size()> buckets{};  // per bucket, not cumulative
  std::uint64_t count = 0;
  double sum = 0;

  void observe(double seconds);
};

struct WorkQueueMetrics {
  std::int64_t depth = 0;                        // gauge: keys ready, not yet handed out
  std::uint64_t adds_total = 0;                  // counter: adds that were not deduplicated
  std::uint64_t retries_total = 0;               // counter: add_after / add_rate_limited calls
  LatencyHistogram queue_duration_seconds;       // add -> get
  LatencyHistogram work_duration_seconds;        // get -> done
  double unfinished_work_seconds = 0;            // gauge: sum of in-flight processing time
  double longest_running_processor_seconds = 0;  // gauge: the oldest in-flight item's age

  // Appends this queue's metrics in the Prometheus text format (HELP/TYPE lines included), with
  // labels name="<name>",controller="<name>".
  void render_prometheus(std::string& out, std::string_view name) const;
};

struct NamedWorkQueueMetrics {
  std::string name;
  WorkQueueMetrics metrics;
};

// Several queues in one exposition: each metric family appears once, its samples grouped, as the
// text format requires.
void RenderPrometheus(std::string& out, std::span<const NamedWorkQueueMetrics> queues);

}  // namespace setpoint::runtime
