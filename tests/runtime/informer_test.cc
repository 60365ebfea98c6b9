// Informer: handlers see adds, updates and deletes in cache order on one thread, a relist's
// vanished objects as deletes, and has_synced() only after the first list was delivered.
#include "setpoint/runtime/informer.h"
#include "testing/envs.h"

#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "fake_rest_client.h"

namespace setpoint::runtime {
namespace {

using testing::Ev;
using testing::FakeRestClient;
using testing::Obj;

class Recorder {
 public:
  EventHandlers handlers(const Cache& cache) {
    auto note = [this, &cache](std::string what, const ObjectPtr& o) {
      std::lock_guard lock(mu_);
      // The cache is never behind the delta a handler gets (it may be ahead).
      if (!ResourceVersionReached(cache.last_sync_rv(), ObjectResourceVersion(*o))) behind_ = true;
      log_.push_back(what + " " + std::string(ObjectName(*o)) + "@" + std::string(ObjectResourceVersion(*o)));
      threads_.insert(std::this_thread::get_id());
      cv_.notify_all();
    };
    return {[note](const ObjectPtr& o) { note("add", o); },
            [note](const ObjectPtr&, const ObjectPtr& n) { note("update", n); },
            [note](const ObjectPtr& o) { note("delete", o); }};
  }
  bool wait_for(std::size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return log_.size() >= n; });
  }
  std::vector<std::string> log() {
    std::lock_guard lock(mu_);
    return log_;
  }
  bool behind() {
    std::lock_guard lock(mu_);
    return behind_;
  }
  std::size_t threads() {
    std::lock_guard lock(mu_);
    return threads_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> log_;
  std::set<std::thread::id> threads_;
  bool behind_ = false;
};

WatcherOptions Options() {
  WatcherOptions o;
  o.gvr = {"", "v1", "configmaps", true, "ConfigMap"};
  o.env = std::make_shared<setpoint::testing::ScriptedEnv>();  // backoff sleeps return at once
  return o;
}

TEST(InformerTest, DeliversListThenEventsInOrderOnOneThread) {
  FakeRestClient rest;
  client::DynamicClient client(rest);
  rest.add_list({Obj("ns", "a", "1"), Obj("ns", "b", "2")}, "2");
  rest.add_watch(
      {Ev("MODIFIED", Obj("ns", "a", "3")), Ev("DELETED", Obj("ns", "b", "4")), Ev("ADDED", Obj("ns", "c", "5"))},
      /*hang_at_end=*/true);
  Informer inf(client, Options());
  Recorder rec;
  inf.add_handlers(rec.handlers(inf.cache()));
  EXPECT_FALSE(inf.has_synced());
  inf.start();
  ASSERT_TRUE(inf.wait_for_sync(std::chrono::seconds(10)));
  ASSERT_TRUE(rec.wait_for(5));
  inf.stop();
  EXPECT_EQ(rec.log(), (std::vector<std::string>{"add a@1", "add b@2", "update a@3", "delete b@4", "add c@5"}));
  EXPECT_FALSE(rec.behind());
  EXPECT_EQ(rec.threads(), 1u);
  EXPECT_EQ(inf.cache().size(), 2u);
  EXPECT_EQ(inf.cache().last_sync_rv(), "5");
}

TEST(InformerTest, RelistAfterExpiredDeliversTheDifference) {
  FakeRestClient rest;
  client::DynamicClient client(rest);
  rest.add_list({Obj("ns", "a", "1"), Obj("ns", "b", "2")}, "2");
  rest.add_watch({Status::Expired("too old resource version")});
  rest.add_list({Obj("ns", "a", "7"), Obj("ns", "c", "8")}, "9");
  Informer inf(client, Options());
  Recorder rec;
  inf.add_handlers(rec.handlers(inf.cache()));
  inf.start();
  ASSERT_TRUE(rec.wait_for(5));
  inf.stop();
  // b vanished while the watch was down: its delete carries the last cached state.
  EXPECT_EQ(rec.log(), (std::vector<std::string>{"add a@1", "add b@2", "delete b@2", "update a@7", "add c@8"}));
  EXPECT_EQ(inf.watcher().relists(), 2u);
}

TEST(InformerTest, NoSyncWithoutAList) {
  FakeRestClient rest;  // every list fails
  client::DynamicClient client(rest);
  Informer inf(client, Options());
  inf.start();
  EXPECT_FALSE(inf.wait_for_sync(std::chrono::milliseconds(50)));
  inf.stop();
  EXPECT_FALSE(inf.has_synced());
}

}  // namespace
}  // namespace setpoint::runtime
