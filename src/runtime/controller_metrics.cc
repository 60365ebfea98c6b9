#include "setpoint/runtime/controller_metrics.h"

#include <charconv>

namespace setpoint::runtime {
namespace {

// Shortest text that reads back as `v` ("0.005", not "0.0050000000000000001").
std::string Num(double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

void Family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

}  // namespace

void ReconcileTimeHistogram::observe(double seconds) {
  std::size_t i = 0;
  while (i < kBounds.size() && seconds > kBounds[i]) ++i;
  if (i < kBounds.size()) ++buckets[i];
  ++count;
  sum += seconds;
}

void ControllerMetrics::record(const ReconcileResult& result, double seconds) {
  switch (result.kind()) {
    case ReconcileResult::Kind::kDone:
      ++reconcile_success;
      break;
    case ReconcileResult::Kind::kRequeueAfter:
      ++reconcile_requeue_after;
      break;
    case ReconcileResult::Kind::kRetry:
      ++reconcile_error, ++errors_total;
      break;
    case ReconcileResult::Kind::kTerminal:
      ++reconcile_error, ++errors_total, ++terminal_errors_total;
      break;
  }
  reconcile_time_seconds.observe(seconds);
}

void ControllerMetrics::render_prometheus(std::string& out, std::string_view controller) const {
  const std::string c = "controller=\"" + std::string(controller) + "\"";
  Family(out, "controller_runtime_reconcile_total", "counter", "Total number of reconciliations per controller");
  auto total = [&](std::string_view result, std::uint64_t v) {
    out.append("controller_runtime_reconcile_total{").append(c).append(",result=\"").append(result);
    out.append("\"} ").append(std::to_string(v)).append("\n");
  };
  total("error", reconcile_error);
  total("requeue", reconcile_requeue);
  total("requeue_after", reconcile_requeue_after);
  total("success", reconcile_success);
  auto single = [&](std::string_view name, std::string_view type, std::string_view help, std::string v) {
    Family(out, name, type, help);
    out.append(name).append("{").append(c).append("} ").append(v).append("\n");
  };
  single("controller_runtime_reconcile_errors_total", "counter", "Total number of reconciliation errors per controller",
         std::to_string(errors_total));
  single("controller_runtime_terminal_reconcile_errors_total", "counter",
         "Total number of terminal reconciliation errors per controller", std::to_string(terminal_errors_total));
  single("controller_runtime_reconcile_panics_total", "counter", "Total number of reconciliation panics per controller",
         std::to_string(panics_total));
  single("controller_runtime_stale_sync_skips_total", "counter",
         "Reconciles skipped (and requeued) because a cache had not yet seen the controller's own writes",
         std::to_string(stale_sync_skips_total));
  single("controller_runtime_max_concurrent_reconciles", "gauge",
         "Maximum number of concurrent reconciles per controller", std::to_string(max_concurrent_reconciles));
  single("controller_runtime_active_workers", "gauge", "Number of currently used workers per controller",
         std::to_string(active_workers));
  const std::string name = "controller_runtime_reconcile_time_seconds";
  Family(out, name, "histogram", "Length of time per reconciliation per controller");
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < ReconcileTimeHistogram::kBounds.size(); ++i) {
    cumulative += reconcile_time_seconds.buckets[i];
    out.append(name).append("_bucket{").append(c).append(",le=\"").append(Num(ReconcileTimeHistogram::kBounds[i]));
    out.append("\"} ").append(std::to_string(cumulative)).append("\n");
  }
  out.append(name).append("_bucket{").append(c).append(",le=\"+Inf\"} ");
  out.append(std::to_string(reconcile_time_seconds.count)).append("\n");
  out.append(name).append("_sum{").append(c).append("} ").append(Num(reconcile_time_seconds.sum)).append("\n");
  out.append(name).append("_count{").append(c).append("} ");
  out.append(std::to_string(reconcile_time_seconds.count)).append("\n");
}

}  // namespace setpoint::runtime
