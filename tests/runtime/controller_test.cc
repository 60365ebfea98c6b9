// Controller wiring against a scripted RestClient: Owns() enqueues the old and the new controller
// owner when a child changes hands, predicates drop events, and the worker loop applies results.
#include "setpoint/runtime/controller.h"
#include "testing/envs.h"

#include <map>

#include <gtest/gtest.h>

#include "fake_rest_client.h"
#include "testing/eventually.h"

namespace setpoint::runtime {
namespace {

namespace json = boost::json;
using testing::Ev;
using testing::FakeRestClient;

const client::GroupVersionResource kParents{"test.setpoint.dev", "v1", "parents", true, "Parent"};
const client::GroupVersionResource kChildren{"test.setpoint.dev", "v1", "children", true, "Child"};

json::object Child(std::string rv, std::string owner, std::int64_t generation = 1) {
  json::array refs{json::object{{"apiVersion", "test.setpoint.dev/v1"},
                                {"kind", "Parent"},
                                {"name", owner},
                                {"uid", owner + "-uid"},
                                {"controller", true}}};
  return {{"metadata",
           {{"namespace", "ns"},
            {"name", "c"},
            {"resourceVersion", rv},
            {"generation", generation},
            {"ownerReferences", refs}}}};
}

// Counts reconciles per key; the first reconcile of `hold` blocks until release().
class HoldingReconciler : public Reconciler {
 public:
  explicit HoldingReconciler(std::string hold) : hold_(std::move(hold)) {}
  ReconcileResult reconcile(const Request& r) override {
    std::unique_lock lock(mu_);
    ++count_[r.key()];
    cv_.notify_all();
    if (r.key() == hold_ && count_[r.key()] == 1) cv_.wait(lock, [&] { return released_; });
    return ReconcileResult::Done();
  }
  void release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  bool wait(const std::string& key, int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return count_[key] >= n; });
  }
  std::map<std::string, int> counts() {
    std::lock_guard lock(mu_);
    return count_;
  }

 private:
  std::string hold_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, int> count_;
  bool released_ = false;
};

using test::Eventually;

// The watcher's backoff as a wait for the next script (or the stop), so that a watch the fake
// client ends comes back as soon as the test scripts something, without the loop spinning.
runtime::EnvPtr BackoffUntilScripted(FakeRestClient& rest) {
  return std::make_shared<setpoint::testing::ScriptedEnv>(
      [&rest](std::chrono::milliseconds, std::stop_token stop) { rest.wait_for_script(stop); });
}

// S1-14: a child moving from owner p1 to p2 enqueues both.
TEST(ControllerTest, S1_14_OwnsEnqueuesTheOldAndTheNewOwnerWhenAChildChangesHands) {
  FakeRestClient rest;
  client::DynamicClient client(rest);
  rest.add_list({}, "1", {}, "parents");
  rest.add_list({Child("2", "p1")}, "2", {}, "children");
  rest.set_idle_watches_end(true);
  HoldingReconciler r("ns/p1");
  auto c = Controller::Builder("test", client)
               .For(kParents)
               .Owns(kChildren)
               .WithWatcherOptions([&rest](WatcherOptions& o) { o.env = BackoffUntilScripted(rest); })
               .Complete(r);
  ASSERT_TRUE(c.has_value()) << c.error().to_string();
  ASSERT_TRUE((*c)->start(std::chrono::seconds(10)).ok());
  ASSERT_TRUE(r.wait("ns/p1", 1));  // from the child's add; now held in reconcile
  // Only now does the child move to p2: idle watches end and come back, so this is picked up.
  rest.add_watch({Ev("MODIFIED", Child("3", "p2"))}, /*hang_at_end=*/true, "children");
  ASSERT_TRUE(Eventually([&] { return (*c)->queue().len() >= 1; }));  // p2 queued, so p1 re-marked
  r.release();
  ASSERT_TRUE(r.wait("ns/p2", 1));
  ASSERT_TRUE(r.wait("ns/p1", 2));  // the old owner ran again
  (*c)->stop();
  EXPECT_EQ(r.counts(), (std::map<std::string, int>{{"ns/p1", 2}, {"ns/p2", 1}}));
  EXPECT_EQ((*c)->metrics().reconcile_success, 3u);
}

TEST(ControllerTest, PredicatesDropFilteredEvents) {
  FakeRestClient rest;
  client::DynamicClient client(rest);
  rest.set_idle_watches_end(true);
  rest.add_list({}, "1", {}, "parents");
  auto d = [](std::string rv, std::int64_t generation) {
    auto o = Child(rv, "p3", generation);
    o["metadata"].as_object()["name"] = "d";
    return o;
  };
  rest.add_list({d("2", 1)}, "2", {}, "children");
  HoldingReconciler r("ns/p3");
  auto c = Controller::Builder("test", client)
               .For(kParents)
               .Owns(kChildren, {GenerationChangedPredicate()})
               .WithWatcherOptions([&rest](WatcherOptions& o) { o.env = BackoffUntilScripted(rest); })
               .Complete(r);
  ASSERT_TRUE(c.has_value());
  ASSERT_TRUE((*c)->start(std::chrono::seconds(10)).ok());
  ASSERT_TRUE(r.wait("ns/p3", 1));  // held: any further add of p3 would make it run again
  // A status-only change of d (same generation) is dropped; the later event about c passes.
  rest.add_watch({Ev("MODIFIED", d("3", 1)), Ev("MODIFIED", Child("4", "p2", 2))}, true, "children");
  ASSERT_TRUE(Eventually([&] { return (*c)->queue().len() >= 1; }));  // p2 queued: d's event is past
  r.release();
  ASSERT_TRUE(r.wait("ns/p2", 1));
  (*c)->stop();
  EXPECT_EQ(r.counts(), (std::map<std::string, int>{{"ns/p2", 1}, {"ns/p3", 1}}));
}

// S1-20: Owns() without For() is refused with controller-runtime's message.
TEST(ControllerTest, S1_20_OwnsWithoutForIsRefused) {
  FakeRestClient rest;
  client::DynamicClient client(rest);
  HoldingReconciler r("");
  auto c = Controller::Builder("test", client).Owns(kChildren).Complete(r);
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().message(), "Owns() can only be used together with For()");
  auto d = Controller::Builder("test", client).Complete(r);
  ASSERT_FALSE(d.has_value());
  EXPECT_NE(d.error().message().find("must provide an object for reconciliation"), std::string::npos);
}

TEST(ControllerTest, StartTimesOutWhenACacheNeverSyncs) {
  FakeRestClient rest;  // no list scripted: every list fails
  client::DynamicClient client(rest);
  HoldingReconciler r("");
  auto c =
      Controller::Builder("test", client)
          .For(kParents)
          .WithWatcherOptions([](WatcherOptions& o) {
            o.env = std::make_shared<setpoint::testing::ScriptedEnv>([](std::chrono::milliseconds, std::stop_token st) {
              setpoint::testing::WaitForStop(st);  // until the controller stops
            });
          })
          .Complete(r);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ((*c)->start(std::chrono::milliseconds(50)).code(), StatusCode::kTimeout);
}

}  // namespace
}  // namespace setpoint::runtime
