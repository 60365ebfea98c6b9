// The reconciler alone, on the test kit's FakeClient (no server, no threads): what each reconcile
// writes, the order of the finalizer sequence, and the error paths a real server is hard to make
// take. Scenario ids are those of seed-systems §4.7 (S4-xx).
#include <gtest/gtest.h>

#include "memcached.h"
#include "setpoint/testing/fake_client.h"

namespace {

using namespace setpoint;
using memcached::Memcached;
using setpointv1alpha1::Process;
using setpointv1alpha1::ProcessSet;
using Kind = runtime::ReconcileResult::Kind;

class MemcachedUnitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Memcached cr;
    cr.metadata = {.name = "m", .namespace_ = "default"};
    cr.spec = {.size = 2, .port = 21000, .memoryMB = 16};
    fake_.add(cr);
  }

  runtime::ReconcileResult Reconcile() {
    const runtime::Context ctx{{}, runtime::Client(fake_), &events_};
    return memcached::Reconcile(ctx, {"default", "m"}, binary_);
  }
  // Reconciles until Done or an error (bounded), as the controller's queue would.
  runtime::ReconcileResult Settle() {
    runtime::ReconcileResult r = Reconcile();
    for (int i = 0; i < 10 && r.kind() == Kind::kRequeueAfter; ++i) r = Reconcile();
    return r;
  }
  Memcached Cr() { return *client_.get<Memcached>("default", "m"); }
  const types::Condition* Available() {
    static thread_local Memcached cr;
    cr = Cr();
    return types::FindCondition(cr.status.conditions, "Available");
  }
  void AgentRuns(const std::string& name, bool ready) {
    auto set = client_.get<ProcessSet>("default", "m");
    ASSERT_TRUE(set.has_value());
    Process p;
    p.metadata = {.name = name, .namespace_ = "default", .labels = set->spec.selector.matchLabels};
    p.status.ready = ready;
    fake_.add(p);
  }

  setpoint::testing::FakeClient fake_;
  setpoint::testing::FakeEvents events_;
  runtime::Client client_{fake_};
  std::string binary_ = "memcached";
};

TEST_F(MemcachedUnitTest, S4_01_FirstReconcileSaysStartingThenAddsTheFinalizer) {
  Reconcile();
  const auto writes = fake_.writes();
  ASSERT_GE(writes.size(), 2u);
  EXPECT_EQ(writes[0], "update_status memcacheds default/m");
  EXPECT_EQ(writes[1], "update memcacheds default/m");
  EXPECT_TRUE(Cr().metadata.has_finalizer("cache.example.com/finalizer"));
  ASSERT_NE(Available(), nullptr);
  EXPECT_EQ(Available()->reason, "Reconciling");
}

TEST_F(MemcachedUnitTest, S4_02_CreatesAControlledProcessSetAndLooksAgainInAMinute) {
  auto r = Reconcile();
  EXPECT_EQ(r.kind(), Kind::kRequeueAfter);
  EXPECT_EQ(r.requeue_after(), std::chrono::minutes(1));
  auto set = client_.get<ProcessSet>("default", "m");
  ASSERT_TRUE(set.has_value());
  EXPECT_EQ(set->spec.replicas, 2);
  ASSERT_NE(set->metadata.controller_ref(), nullptr);
  EXPECT_EQ(set->metadata.controller_ref()->uid, Cr().metadata.uid);
  const auto& spec = set->spec.template_.spec;
  EXPECT_EQ(spec.command.at(0), "memcached");
  EXPECT_EQ(spec.ports.at(0).port, 21000);
  EXPECT_TRUE(spec.ports.at(0).indexed);
  EXPECT_EQ(spec.args, (std::vector<std::string>{"-m", "16", "-u", "nobody"}));
}

TEST_F(MemcachedUnitTest, S4_04_AvailableOnceEveryServerIsReady) {
  Settle();
  AgentRuns("m-0", true);
  AgentRuns("m-1", false);
  EXPECT_EQ(Settle().kind(), Kind::kDone);
  EXPECT_EQ(Available()->status, "Unknown");
  EXPECT_EQ(Available()->message, "Waiting for memcached servers: 1 of 2 ready");
  EXPECT_EQ(Cr().status.nodes, std::vector<std::string>{"m-0"});
  AgentRuns("m-1", true);
  Settle();
  EXPECT_EQ(Available()->status, "True");
  EXPECT_EQ(Available()->message, "ProcessSet for custom resource (m) with 2 replicas created successfully");
  EXPECT_EQ(Cr().status.readyReplicas, 2);
  EXPECT_EQ(Cr().status.observedGeneration, Cr().metadata.generation);
}

TEST_F(MemcachedUnitTest, AReconcileWithNothingToDoWritesNothing) {
  Settle();
  fake_.clear_writes();
  EXPECT_EQ(Settle().kind(), Kind::kDone);
  EXPECT_TRUE(fake_.writes().empty()) << fake_.writes().front();
}

TEST_F(MemcachedUnitTest, S4_05_06_AResizeAndAHandMadeScaleBothEndAtTheSpecsSize) {
  Settle();
  Memcached cr = Cr();
  cr.spec.size = 4;
  ASSERT_TRUE(client_.update(cr).has_value());
  EXPECT_EQ(Reconcile().kind(), Kind::kRequeueAfter);
  EXPECT_EQ(client_.get<ProcessSet>("default", "m")->spec.replicas, 4);
  ProcessSet set = *client_.get<ProcessSet>("default", "m");
  set.spec.replicas = 1;
  ASSERT_TRUE(client_.update(set).has_value());
  Settle();
  EXPECT_EQ(client_.get<ProcessSet>("default", "m")->spec.replicas, 4);
}

TEST_F(MemcachedUnitTest, S4_08_NoBinaryIsReportedAndRetried) {
  binary_ = "";
  auto r = Settle();
  EXPECT_EQ(r.kind(), Kind::kRetry);
  EXPECT_EQ(Available()->status, "False");
  EXPECT_EQ(Available()->message,
            "Failed to create ProcessSet for the custom resource (m): (no memcached binary configured "
            "(MEMCACHED_BINARY is empty))");
  EXPECT_FALSE(client_.get<ProcessSet>("default", "m").has_value());
}

TEST_F(MemcachedUnitTest, S4_09_AFailedResizeSaysResizing) {
  Settle();
  Memcached cr = Cr();
  cr.spec.size = 3;
  ASSERT_TRUE(client_.update(cr).has_value());
  fake_.fail_when([](std::string_view verb, const client::GroupVersionResource& gvr, auto, auto) {
    return verb == "update" && gvr.resource == "processsets" ? Status::Unavailable("the disk is full") : Status::Ok();
  });
  EXPECT_EQ(Reconcile().kind(), Kind::kRetry);
  EXPECT_EQ(Available()->reason, "Resizing");
  EXPECT_EQ(Available()->message, "Failed to update the size for the custom resource (m): (the disk is full)");
}

TEST_F(MemcachedUnitTest, S4_10_DeletionRunsTheFinalizerSequence) {
  Settle();
  ASSERT_TRUE(client_.remove(Cr()).ok());
  ASSERT_TRUE(Cr().metadata.being_deleted());  // held by the finalizer
  fake_.clear_writes();
  EXPECT_EQ(Reconcile().kind(), Kind::kDone);
  EXPECT_EQ(fake_.writes(),
            (std::vector<std::string>{"update_status memcacheds default/m", "update_status memcacheds default/m",
                                      "update memcacheds default/m"}));
  EXPECT_FALSE(client_.get<Memcached>("default", "m").has_value());  // gone with its finalizer
  ASSERT_EQ(events_.events().size(), 1u);
  EXPECT_EQ(events_.events()[0].type, "Warning");
  EXPECT_EQ(events_.events()[0].reason, "Deleting");
  EXPECT_EQ(events_.events()[0].message, "Custom Resource m is being deleted from the namespace default");
  EXPECT_EQ(events_.events()[0].kind, "Memcached");
}

TEST_F(MemcachedUnitTest, S4_11_AnAbsentMemcachedIsIgnored) {
  ASSERT_TRUE(client_.remove(Cr()).ok());
  fake_.clear_writes();
  EXPECT_EQ(Reconcile().kind(), Kind::kDone);
  EXPECT_TRUE(fake_.writes().empty());
}

TEST_F(MemcachedUnitTest, AReadErrorIsRetried) {
  fake_.fail_when(
      [](std::string_view verb, auto&&...) { return verb == "get" ? Status::Unavailable("no server") : Status::Ok(); });
  EXPECT_EQ(Reconcile().kind(), Kind::kRetry);
}

}  // namespace
