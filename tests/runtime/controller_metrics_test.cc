// ControllerMetrics: results land in controller-runtime's label values and the histogram renders
// cumulative buckets.
#include "setpoint/runtime/controller_metrics.h"

#include <gtest/gtest.h>

namespace setpoint::runtime {
namespace {

bool Has(const std::string& text, const std::string& line) { return text.find(line + "\n") != std::string::npos; }

TEST(ControllerMetricsTest, CountsResultsAndRendersPrometheusText) {
  ControllerMetrics m;
  m.record(ReconcileResult::Done(), 0.004);
  m.record(ReconcileResult::RequeueAfter(std::chrono::seconds(1)), 0.2);
  m.record(ReconcileResult::Retry(Status::Conflict("x")), 0.02);
  m.record(ReconcileResult::Terminal(Status::Invalid("y")), 100);
  EXPECT_EQ(m.reconcile_total(), 4u);
  EXPECT_EQ(m.errors_total, 2u);
  EXPECT_EQ(m.terminal_errors_total, 1u);
  std::string t;
  m.render_prometheus(t, "parent");
  EXPECT_TRUE(Has(t, "# TYPE controller_runtime_reconcile_total counter"));
  EXPECT_TRUE(Has(t, R"(controller_runtime_reconcile_total{controller="parent",result="success"} 1)"));
  EXPECT_TRUE(Has(t, R"(controller_runtime_reconcile_total{controller="parent",result="requeue_after"} 1)"));
  EXPECT_TRUE(Has(t, R"(controller_runtime_reconcile_total{controller="parent",result="error"} 2)"));
  EXPECT_TRUE(Has(t, R"(controller_runtime_reconcile_total{controller="parent",result="requeue"} 0)"));
  EXPECT_TRUE(Has(t, R"(controller_runtime_reconcile_errors_total{controller="parent"} 2)"));
  EXPECT_TRUE(Has(t, R"(controller_runtime_terminal_reconcile_errors_total{controller="parent"} 1)"));
  EXPECT_TRUE(Has(t, R"(controller_runtime_reconcile_time_seconds_bucket{controller="parent",le="0.005"} 1)"));
  EXPECT_TRUE(Has(t, R"(controller_runtime_reconcile_time_seconds_bucket{controller="parent",le="0.025"} 2)"));
  EXPECT_TRUE(Has(t, R"(controller_runtime_reconcile_time_seconds_bucket{controller="parent",le="60"} 3)"));
  EXPECT_TRUE(Has(t, R"(controller_runtime_reconcile_time_seconds_bucket{controller="parent",le="+Inf"} 4)"));
  EXPECT_TRUE(Has(t, R"(controller_runtime_reconcile_time_seconds_count{controller="parent"} 4)"));
}

}  // namespace
}  // namespace setpoint::runtime
