// ControllerMetrics: a snapshot of one controller's reconcile metrics, named exactly as
// controller-runtime exports them (`pkg/internal/controller/metrics/metrics.go`):
//   controller_runtime_reconcile_total{controller,result}   result: success|error|requeue|requeue_after
//   controller_runtime_reconcile_errors_total{controller}
//   controller_runtime_terminal_reconcile_errors_total{controller}
//   controller_runtime_reconcile_panics_total{controller}    (exceptions escaping reconcile)
//   controller_runtime_reconcile_time_seconds{controller}   histogram, buckets 0.005 s … 60 s
//   controller_runtime_stale_sync_skips_total{controller}   (read-your-writes; setpoint's own)
//   controller_runtime_max_concurrent_reconciles{controller}, controller_runtime_active_workers
// Plain value type (thread-compatible); the controller fills one under its lock.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "setpoint/runtime/reconcile.h"

namespace setpoint::runtime {

struct ReconcileTimeHistogram {
  static constexpr std::array<double, 40> kBounds = {0.005, 0.01, 0.025, 0.05, 0.1,  0.15, 0.2,  0.25, 0.3,  0.35,
                                                     0.4,   0.45, 0.5,   0.6,  0.7,  0.8,  0.9,  1.0,  1.25, 1.5,
                                                     1.75,  2.0,  2.5,   3.0,  3.5,  4.0,  4.5,  5.0,  6.0,  7.0,
                                                     8.0,   9.0,  10.0,  15.0, 20.0, 25.0, 30.0, 40.0, 50.0, 60.0};
  std::array<std::uint64_t, kBounds.size()> buckets{};  // per bucket, not cumulative
  std::uint64_t count = 0;
  double sum = 0;
  void observe(double seconds);
};

struct ControllerMetrics {
  std::uint64_t reconcile_success = 0, reconcile_error = 0, reconcile_requeue = 0, reconcile_requeue_after = 0;
  std::uint64_t errors_total = 0, terminal_errors_total = 0, panics_total = 0;
  std::uint64_t stale_sync_skips_total = 0;
  std::int64_t max_concurrent_reconciles = 0, active_workers = 0;
  ReconcileTimeHistogram reconcile_time_seconds;

  // Counts one finished reconcile (its result and duration).
  void record(const ReconcileResult& result, double seconds);
  std::uint64_t reconcile_total() const {
    return reconcile_success + reconcile_error + reconcile_requeue + reconcile_requeue_after;
  }
  // Appends the Prometheus text format, HELP/TYPE lines included, label controller="<name>".
  void render_prometheus(std::string& out, std::string_view controller) const;
};

}  // namespace setpoint::runtime
