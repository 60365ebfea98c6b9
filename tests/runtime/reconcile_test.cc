// ReconcileResult and apply_result: controller-runtime's reconcileHandler (controller-runtimes.md
// §3.2, §3.8) expressed as four exclusive answers.
#include "setpoint/runtime/reconcile.h"

#include <gtest/gtest.h>

#include "setpoint/runtime/workqueue.h"

namespace setpoint::runtime {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct Fixture {
  std::shared_ptr<FakeMonotonicClock> clock = std::make_shared<FakeMonotonicClock>();
  WorkQueue queue{WorkQueueOptions{nullptr, clock}};

  // One worker pass over `key` answering `result`.
  void reconcile(const std::string& key, const ReconcileResult& result) {
    queue.add(key);
    auto got = queue.get();
    ASSERT_EQ(got, key);
    apply_result(queue, key, result);
    queue.done(key);
  }
};

TEST(ReconcileResultTest, ExactlyOneKind) {
  EXPECT_EQ(ReconcileResult::Done().kind(), ReconcileResult::Kind::kDone);
  EXPECT_EQ(ReconcileResult::Done().metric_result(), "success");
  auto after = ReconcileResult::RequeueAfter(seconds(2));
  EXPECT_EQ(after.kind(), ReconcileResult::Kind::kRequeueAfter);
  EXPECT_EQ(after.requeue_after(), seconds(2));
  EXPECT_FALSE(after.is_error());
  EXPECT_EQ(after.metric_result(), "requeue_after");
  auto retry = ReconcileResult::Retry(Status::Conflict("stale"));
  EXPECT_TRUE(retry.is_error());
  EXPECT_EQ(retry.error().code(), StatusCode::kConflict);
  EXPECT_EQ(retry.metric_result(), "error");
  auto terminal = ReconcileResult::Terminal(Status::Invalid("bad spec"));
  EXPECT_EQ(terminal.kind(), ReconcileResult::Kind::kTerminal);
  EXPECT_EQ(terminal.metric_result(), "error");
}

// S1-03: errors back off 5, 10, 20 ms; success forgets.
TEST(ApplyResultTest, S1_03_RetryBacksOffAndDoneForgets) {
  Fixture f;
  for (milliseconds d : {milliseconds(5), milliseconds(10), milliseconds(20)}) {
    f.reconcile("ns/k", ReconcileResult::Retry(Status::Unavailable("down")));
    f.clock->advance(d - milliseconds(1));
    EXPECT_EQ(f.queue.len(), 0u);
    f.clock->advance(milliseconds(1));
    ASSERT_EQ(f.queue.len(), 1u);
    ASSERT_EQ(f.queue.get(), "ns/k");
    f.queue.done("ns/k");
  }
  EXPECT_EQ(f.queue.num_requeues("ns/k"), 3);
  f.reconcile("ns/k", ReconcileResult::Done());
  EXPECT_EQ(f.queue.num_requeues("ns/k"), 0);
  EXPECT_EQ(f.queue.num_waiting(), 0u);
  EXPECT_EQ(f.queue.len(), 0u);
}

// S1-04: RequeueAfter(2s) forgets failures and runs again after 2 s with no event.
TEST(ApplyResultTest, S1_04_RequeueAfterForgetsAndRequeues) {
  Fixture f;
  f.reconcile("ns/k", ReconcileResult::Retry(Status::Unavailable("down")));
  f.clock->advance(milliseconds(5));
  ASSERT_EQ(f.queue.get(), "ns/k");
  apply_result(f.queue, "ns/k", ReconcileResult::RequeueAfter(seconds(2)));
  f.queue.done("ns/k");
  EXPECT_EQ(f.queue.num_requeues("ns/k"), 0);
  f.clock->advance(milliseconds(1999));
  EXPECT_EQ(f.queue.len(), 0u);
  f.clock->advance(milliseconds(1));
  EXPECT_EQ(f.queue.get(), "ns/k");
}

TEST(ApplyResultTest, TerminalDoesNotRequeue) {
  Fixture f;
  f.reconcile("ns/k", ReconcileResult::Terminal(Status::Invalid("bad spec")));
  EXPECT_EQ(f.queue.num_requeues("ns/k"), 0);
  EXPECT_EQ(f.queue.num_waiting(), 0u);
  f.clock->advance(seconds(2000));
  EXPECT_EQ(f.queue.len(), 0u);
}

TEST(RequestTest, KeyRoundTrip) {
  EXPECT_EQ((Request{"default", "foo"}).key(), "default/foo");
  EXPECT_EQ((Request{"", "node-1"}).key(), "node-1");
  EXPECT_EQ(Request::FromKey("default/foo"), (Request{"default", "foo"}));
  EXPECT_EQ(Request::FromKey("node-1"), (Request{"", "node-1"}));
  EXPECT_EQ(Request::FromKey(""), std::nullopt);
  EXPECT_EQ(Request::FromKey("/x"), std::nullopt);
  EXPECT_EQ(Request::FromKey("a/"), std::nullopt);
  EXPECT_EQ(Request::FromKey("a/b/c"), std::nullopt);
}

}  // namespace
}  // namespace setpoint::runtime
