// Watcher state machine against a scripted RestClient: list → watch from the list's rv,
// pagination, resume from the last rv (events and bookmarks), relist on 410 (ERROR event and
// HTTP answer), backoff between failures. No real sleeping: the sleeper only records.
#include "setpoint/runtime/watcher.h"
#include "testing/envs.h"

#include <gtest/gtest.h>

#include "fake_rest_client.h"

namespace setpoint::runtime {
namespace {

using testing::Bookmark;
using testing::Ev;
using testing::FakeRestClient;
using testing::Obj;
using Kind = WatcherEvent::Kind;

class Collector {
 public:
  void add(WatcherEvent e) {
    std::lock_guard lock(mu_);
    events_.push_back(std::move(e));
    cv_.notify_all();
  }
  bool wait_for(std::size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return events_.size() >= n; });
  }
  std::vector<WatcherEvent> events() {
    std::lock_guard lock(mu_);
    return events_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<WatcherEvent> events_;
};

class WatcherTest : public ::testing::Test {
 protected:
  WatcherOptions Options() {
    WatcherOptions o;
    o.gvr = {"", "v1", "configmaps", true, "ConfigMap"};
    o.ns = "ns";
    o.env = env_;
    return o;
  }
  std::vector<std::chrono::milliseconds> Sleeps() { return env_->sleeps(); }

  FakeRestClient rest_;
  client::DynamicClient client_{rest_};
  Collector got_;
  // Sleeps return at once with "random" 0 (no jitter); a runaway retry loop parks after 20 of them.
  std::shared_ptr<setpoint::testing::ScriptedEnv> env_ = std::make_shared<setpoint::testing::ScriptedEnv>(
      [count = std::make_shared<std::atomic<int>>(0)](std::chrono::milliseconds, std::stop_token st) {
        if (++*count > 20) setpoint::testing::WaitForStop(st);
      });
};

bool Contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

TEST_F(WatcherTest, ListsEveryPageThenWatchesFromTheListRv) {
  rest_.add_list({Obj("ns", "a", "5")}, "10", "tok");
  rest_.add_list({Obj("ns", "b", "7")}, "10");
  rest_.add_watch(
      {Ev("ADDED", Obj("ns", "c", "11")), Ev("MODIFIED", Obj("ns", "a", "12")), Ev("DELETED", Obj("ns", "b", "13"))},
      /*hang_at_end=*/true);
  Watcher w(client_, Options(), [this](WatcherEvent e) { got_.add(std::move(e)); });
  w.start();
  ASSERT_TRUE(got_.wait_for(4));
  w.stop();
  auto ev = got_.events();
  ASSERT_EQ(ev[0].kind, Kind::kRestarted);
  ASSERT_EQ(ev[0].objects.size(), 2u);
  EXPECT_EQ(ev[0].resource_version, "10");
  EXPECT_EQ(ev[1].kind, Kind::kApplied);
  EXPECT_EQ(ev[2].kind, Kind::kApplied);
  EXPECT_EQ(ev[3].kind, Kind::kDeleted);
  EXPECT_EQ(ev[3].resource_version, "13");
  auto paths = rest_.paths();
  ASSERT_GE(paths.size(), 3u);
  EXPECT_TRUE(Contains(paths[0], "limit=500")) << paths[0];
  EXPECT_TRUE(Contains(paths[1], "continue=tok")) << paths[1];
  EXPECT_TRUE(Contains(paths[2], "watch=true")) << paths[2];
  EXPECT_TRUE(Contains(paths[2], "resourceVersion=10")) << paths[2];
  EXPECT_TRUE(Contains(paths[2], "allowWatchBookmarks=true")) << paths[2];
  EXPECT_EQ(w.relists(), 1u);
  EXPECT_TRUE(Sleeps().empty());
}

TEST_F(WatcherTest, CleanEndResumesFromTheLastEventOrBookmarkRv) {
  rest_.add_list({}, "10");
  rest_.add_watch({Ev("ADDED", Obj("ns", "a", "11"))});  // ends cleanly
  rest_.add_watch({Bookmark("20")});                     // ends cleanly after a bookmark
  Watcher w(client_, Options(), [this](WatcherEvent e) { got_.add(std::move(e)); });
  w.start();
  ASSERT_TRUE(rest_.wait_for_requests(4));  // list, watch@10, watch@11, watch@20
  w.stop();
  auto paths = rest_.paths();
  EXPECT_TRUE(Contains(paths[1], "resourceVersion=10")) << paths[1];
  EXPECT_TRUE(Contains(paths[2], "resourceVersion=11")) << paths[2];
  EXPECT_TRUE(Contains(paths[3], "resourceVersion=20")) << paths[3];
  auto ev = got_.events();
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[2].kind, Kind::kBookmark);
  EXPECT_EQ(ev[2].object, nullptr);
  EXPECT_EQ(ev[2].resource_version, "20");
  EXPECT_EQ(w.relists(), 1u);  // a clean end never relists
  EXPECT_TRUE(Sleeps().empty());
}

TEST_F(WatcherTest, ExpiredErrorEventRelistsAtOnce) {
  rest_.add_list({Obj("ns", "a", "5")}, "10");
  rest_.add_watch({Ev("ADDED", Obj("ns", "b", "11")), Status::Expired("too old resource version: 11")});
  rest_.add_list({Obj("ns", "b", "30")}, "40");
  Watcher w(client_, Options(), [this](WatcherEvent e) { got_.add(std::move(e)); });
  w.start();
  ASSERT_TRUE(got_.wait_for(3));
  ASSERT_TRUE(rest_.wait_for_requests(4));
  w.stop();
  auto ev = got_.events();
  EXPECT_EQ(ev[2].kind, Kind::kRestarted);
  ASSERT_EQ(ev[2].objects.size(), 1u);
  EXPECT_EQ(ev[2].resource_version, "40");
  EXPECT_TRUE(Contains(rest_.paths()[3], "resourceVersion=40")) << rest_.paths()[3];
  EXPECT_EQ(w.relists(), 2u);
  EXPECT_TRUE(Sleeps().empty());
}

TEST_F(WatcherTest, Http410OnWatchRelists) {
  auto o = Options();
  o.start_resource_version = "3";  // resume an old position without listing
  rest_.add_watch_error(Status::Gone("gone"));
  rest_.add_list({Obj("ns", "a", "5")}, "50");
  Watcher w(client_, o, [this](WatcherEvent e) { got_.add(std::move(e)); });
  w.start();
  ASSERT_TRUE(got_.wait_for(1));
  ASSERT_TRUE(rest_.wait_for_requests(3));
  w.stop();
  auto paths = rest_.paths();
  EXPECT_TRUE(Contains(paths[0], "resourceVersion=3")) << paths[0];
  EXPECT_FALSE(Contains(paths[1], "watch=true")) << paths[1];
  EXPECT_TRUE(Contains(paths[2], "resourceVersion=50")) << paths[2];
  EXPECT_EQ(got_.events()[0].kind, Kind::kRestarted);
  // Expired at the very start of a watch is throttled, unlike after a healthy watch.
  EXPECT_EQ(Sleeps(), std::vector<std::chrono::milliseconds>{std::chrono::milliseconds(800)});
}

TEST_F(WatcherTest, FailuresBackOffExponentiallyAndSuccessResets) {
  rest_.add_list_error(Status::Unavailable("down"));
  rest_.add_list_error(Status::Unavailable("down"));
  rest_.add_list_error(Status::Internal("boom"));
  rest_.add_list({}, "10");
  rest_.add_watch_error(Status::Unavailable("down"));
  Watcher w(client_, Options(), [this](WatcherEvent e) { got_.add(std::move(e)); });
  w.start();
  ASSERT_TRUE(rest_.wait_for_requests(6));  // 4 lists, failed watch, watch
  w.stop();
  auto s = Sleeps();
  ASSERT_EQ(s.size(), 4u);
  using std::chrono::milliseconds;
  EXPECT_EQ(s[0], milliseconds(800));
  EXPECT_EQ(s[1], milliseconds(1600));
  EXPECT_EQ(s[2], milliseconds(3200));
  EXPECT_EQ(s[3], milliseconds(800));  // the list succeeded in between
  EXPECT_EQ(w.failures(), 4u);
}

client::WatchEvent InitialEventsEnd(std::string rv) {
  return {"BOOKMARK",
          boost::json::object{
              {"kind", "ConfigMap"},
              {"metadata", {{"resourceVersion", rv}, {"annotations", {{"k8s.io/initial-events-end", "true"}}}}}}};
}

TEST_F(WatcherTest, WatchListStreamsTheInitialStateThenWatchesOnTheSameStream) {
  rest_.add_watch({Ev("ADDED", Obj("ns", "a", "5")), Ev("ADDED", Obj("ns", "b", "7")), InitialEventsEnd("10"),
                   Ev("MODIFIED", Obj("ns", "a", "11"))},
                  /*hang_at_end=*/true);
  auto o = Options();
  o.watch_list = true;
  Watcher w(client_, o, [this](WatcherEvent e) { got_.add(std::move(e)); });
  w.start();
  ASSERT_TRUE(got_.wait_for(2));
  w.stop();
  auto ev = got_.events();
  ASSERT_EQ(ev[0].kind, Kind::kRestarted);
  ASSERT_EQ(ev[0].objects.size(), 2u);
  EXPECT_EQ(ev[0].resource_version, "10");
  EXPECT_EQ(ev[1].kind, Kind::kApplied);
  EXPECT_EQ(ev[1].resource_version, "11");
  auto paths = rest_.paths();
  ASSERT_EQ(paths.size(), 1u) << "no list: one stream does both";
  EXPECT_TRUE(Contains(paths[0], "sendInitialEvents=true")) << paths[0];
  EXPECT_TRUE(Contains(paths[0], "resourceVersionMatch=NotOlderThan")) << paths[0];
  EXPECT_TRUE(Contains(paths[0], "allowWatchBookmarks=true")) << paths[0];
  EXPECT_TRUE(w.using_watch_list());
  EXPECT_EQ(w.relists(), 1u);
}

TEST_F(WatcherTest, WatchListNotOfferedFallsBackToListForGood) {
  // An older server ignores sendInitialEvents: synthetic ADDEDs, then a plain bookmark.
  rest_.add_watch({Ev("ADDED", Obj("ns", "a", "5")), Bookmark("9")});
  rest_.add_list({Obj("ns", "a", "5")}, "9");
  rest_.add_watch({Ev("MODIFIED", Obj("ns", "a", "12"))}, /*hang_at_end=*/true);
  auto o = Options();
  o.watch_list = true;
  Watcher w(client_, o, [this](WatcherEvent e) { got_.add(std::move(e)); });
  w.start();
  ASSERT_TRUE(got_.wait_for(2));
  w.stop();
  auto ev = got_.events();
  ASSERT_EQ(ev[0].kind, Kind::kRestarted);
  EXPECT_EQ(ev[0].resource_version, "9");
  EXPECT_EQ(ev[1].kind, Kind::kApplied);
  auto paths = rest_.paths();
  ASSERT_EQ(paths.size(), 3u);
  EXPECT_TRUE(Contains(paths[0], "sendInitialEvents=true")) << paths[0];
  EXPECT_FALSE(Contains(paths[1], "watch=true")) << "then a plain list: " << paths[1];
  EXPECT_FALSE(Contains(paths[2], "sendInitialEvents")) << paths[2];
  EXPECT_FALSE(w.using_watch_list());
  EXPECT_TRUE(Sleeps().empty()) << "falling back is not a failure to back off from";
}

TEST_F(WatcherTest, WatchListRefusedFallsBackToList) {
  rest_.add_watch_error(Status::BadRequest("unknown parameter sendInitialEvents"));
  rest_.add_list({Obj("ns", "a", "5")}, "9");
  rest_.add_watch({}, /*hang_at_end=*/true);
  auto o = Options();
  o.watch_list = true;
  Watcher w(client_, o, [this](WatcherEvent e) { got_.add(std::move(e)); });
  w.start();
  ASSERT_TRUE(got_.wait_for(1));
  w.stop();
  EXPECT_EQ(got_.events()[0].kind, Kind::kRestarted);
  EXPECT_FALSE(w.using_watch_list());
}

TEST(WatcherBackoffTest, DoublesCapsAndJitters) {
  WatcherOptions o;
  using std::chrono::milliseconds;
  EXPECT_EQ(WatcherBackoff(o, 0, 0.0), milliseconds(800));
  EXPECT_EQ(WatcherBackoff(o, 3, 0.0), milliseconds(6400));
  EXPECT_EQ(WatcherBackoff(o, 5, 0.0), milliseconds(25600));
  EXPECT_EQ(WatcherBackoff(o, 6, 0.0), milliseconds(30000));
  EXPECT_EQ(WatcherBackoff(o, 1000, 0.99), milliseconds(30000));
  EXPECT_EQ(WatcherBackoff(o, 0, 0.5), milliseconds(1200));
}

TEST_F(WatcherTest, StopCancelsAnOpenWatchPromptly) {
  rest_.add_list({}, "10");
  Watcher w(client_, Options(), [this](WatcherEvent e) { got_.add(std::move(e)); });
  w.start();
  ASSERT_TRUE(rest_.wait_for_requests(2));
  auto t0 = std::chrono::steady_clock::now();
  w.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
}

}  // namespace
}  // namespace setpoint::runtime
