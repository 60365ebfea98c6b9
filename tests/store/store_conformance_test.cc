// The Store contract, run against every backend. To add a backend, add an entry to Backends().
//
// Revisions are written relative to the backend's empty revision, rev(n) = the n-th write:
// memory and sqlite start at 0, etcd at 1 (etcd counts its own initial state as revision 1, and
// the store reports etcd's revisions unchanged, since they are the resourceVersions every
// client of that etcd sees). The checks stay exact: one revision per write, no gaps. A new
// store's history starts after its empty revision (compacted_revision() == base_), so "watch
// everything" is watch(base_).
#include <condition_variable>
#include <mutex>

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <thread>

#include "etcd_fixture.h"
#include "store/etcd/etcd_store.h"
#include "store/memory/memory_store.h"
#include "store/sqlite/sqlite_store.h"
#include "store_test_util.h"

namespace setpoint::store {
namespace {

using testing::Consecutive;
using testing::RecordingSink;
using testing::Str;
using testing::TempDir;
using testing::WaitUntil;

struct Limits {
  std::size_t history_max_events = 100000;
};

// What one test runs a backend on (a directory, an etcd cluster); reopen() opens a new store
// on the same data.
class BackendEnv {
 public:
  virtual ~BackendEnv() = default;
  virtual StorePtr open(const Limits& limits) = 0;
};
using OpenFn = std::function<StorePtr(const Limits& limits)>;

class SimpleEnv final : public BackendEnv {
 public:
  explicit SimpleEnv(OpenFn open) : open_(std::move(open)) {}
  StorePtr open(const Limits& limits) override { return open_(limits); }

 private:
  OpenFn open_;
};

// A fresh single-member etcd per test; stores reconnect to it.
class EtcdEnv final : public BackendEnv {
 public:
  explicit EtcdEnv(std::unique_ptr<testing::EtcdCluster> cluster) : cluster_(std::move(cluster)) {}
  StorePtr open(const Limits& limits) override {
    EtcdStoreOptions o;
    o.endpoints = cluster_->endpoints();
    o.history_max_events = limits.history_max_events;
    o.min_compaction_spacing = std::chrono::milliseconds(50);
    auto s = OpenEtcdStore(o);
    EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().to_string());
    return s ? std::move(*s) : nullptr;
  }

 private:
  std::unique_ptr<testing::EtcdCluster> cluster_;
};

struct Backend {
  std::string name;
  Revision empty_revision = 0;  // current_revision() of a store nothing was written to
  // The test's environment in `dir`; null with `skip` set when the backend cannot run here.
  std::function<std::unique_ptr<BackendEnv>(const std::string& dir, std::string& skip)> env;
};

// gtest prints a parameter in test listings (and ctest's names): the name, not its bytes.
void PrintTo(const Backend& b, std::ostream* os) { *os << b.name; }

std::function<std::unique_ptr<BackendEnv>(const std::string&, std::string&)> SqliteWithKeyHash(
    std::uint64_t (*hash)(std::string_view)) {
  return [hash](const std::string& dir, std::string&) -> std::unique_ptr<BackendEnv> {
    return std::make_unique<SimpleEnv>([dir, hash](const Limits& l) -> StorePtr {
      SqliteStoreOptions o;
      o.path = dir + "/store.db";
      o.history_max_events = l.history_max_events;
      o.key_hash = hash;
      auto s = OpenSqliteStore(o);
      return s ? std::move(*s) : nullptr;
    });
  };
}

std::vector<Backend> Backends() {
  return {
      {"Memory", 0,
       [](const std::string&, std::string&) -> std::unique_ptr<BackendEnv> {
         return std::make_unique<SimpleEnv>([](const Limits& l) {
           MemoryStoreOptions o;
           o.history_max_events = l.history_max_events;
           return NewMemoryStore(o);
         });
       }},
      {"Sqlite", 0,
       [](const std::string& dir, std::string&) -> std::unique_ptr<BackendEnv> {
         return std::make_unique<SimpleEnv>([dir](const Limits& l) -> StorePtr {
           SqliteStoreOptions o;
           o.path = dir + "/store.db";
           o.history_max_events = l.history_max_events;
           auto s = OpenSqliteStore(o);
           return s ? std::move(*s) : nullptr;
         });
       }},
      // The sqlite writer's key map holds hashes (store/sqlite/key_revisions.h): with every key
      // on one hash, each precondition is read from the database; with keys hashed by their last
      // byte, the map often answers for a different live key. Every answer must stay exact.
      {"SqliteAllKeysCollide", 0, SqliteWithKeyHash([](std::string_view) -> std::uint64_t { return 7; })},
      {"SqliteSomeKeysCollide", 0,
       SqliteWithKeyHash([](std::string_view k) -> std::uint64_t { return k.empty() ? 0 : k.back(); })},
      {"Etcd", 1,
       [](const std::string& dir, std::string& skip) -> std::unique_ptr<BackendEnv> {
         if (!testing::EtcdCluster::Available()) {
           skip = std::string(testing::kEtcdBinary) + " is not installed (Debian package etcd-server)";
           return nullptr;
         }
         std::string error;
         auto cluster = testing::EtcdCluster::Start(dir, {}, &error);
         if (!cluster) {
           ADD_FAILURE() << "cannot start etcd: " << error;
           return nullptr;
         }
         return std::make_unique<EtcdEnv>(std::move(cluster));
       }},
  };
}

class StoreConformanceTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    base_ = GetParam().empty_revision;
    std::string skip;
    env_ = GetParam().env(dir_.path(), skip);
    if (!env_ && !skip.empty()) GTEST_SKIP() << skip;
    ASSERT_NE(env_, nullptr);
    reopen({});
  }
  void TearDown() override {
    store_.reset();
    env_.reset();
  }

  void reopen(const Limits& limits) {
    store_.reset();
    store_ = env_->open(limits);
    ASSERT_NE(store_, nullptr);
  }

  // The revision of the n-th write to a new store.
  Revision rev(Revision n) const { return base_ + n; }

  Revision must_create(const std::string& key, const std::string& value) {
    auto r = store_->create(key, MakeBytes(value));
    EXPECT_TRUE(r.has_value()) << key << ": " << (r ? "" : r.error().message());
    return r.value_or(0);
  }

  TempDir dir_;
  Revision base_ = 0;
  std::unique_ptr<BackendEnv> env_;
  StorePtr store_;
};

TEST_P(StoreConformanceTest, EmptyStore) {
  EXPECT_EQ(store_->current_revision(), base_);
  EXPECT_EQ(store_->compacted_revision(), base_);  // no history before the empty state
  EXPECT_EQ(store_->get("/a").error().code(), StatusCode::kNotFound);
  auto l = store_->list("", 0);
  ASSERT_TRUE(l.has_value());
  EXPECT_TRUE(l->items.empty());
  EXPECT_EQ(l->revision, base_);
}

TEST_P(StoreConformanceTest, CreateAssignsIncreasingRevisionsFromOne) {
  EXPECT_EQ(must_create("/a", "1"), rev(1));
  EXPECT_EQ(must_create("/b", "2"), rev(2));
  EXPECT_EQ(store_->current_revision(), rev(2));
  auto got = store_->get("/b");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->key, "/b");
  EXPECT_EQ(Str(got->value), "2");
  EXPECT_EQ(got->revision, rev(2));
}

TEST_P(StoreConformanceTest, AsyncWritesHaveTheSameSemanticsAsBlockingOnes) {
  // Results arrive on a backend thread; collect them and wait with a deadline.
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Result<Revision>> results;
  auto collect = [&](Result<Revision> r) {
    std::lock_guard lock(mu);
    results.push_back(std::move(r));
    cv.notify_all();
  };
  auto wait_for = [&](std::size_t n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, testing::kDeadline, [&] { return results.size() >= n; });
  };
  store_->create_async("/a", MakeBytes("1"), collect);
  ASSERT_TRUE(wait_for(1));
  ASSERT_TRUE(results[0].has_value());
  EXPECT_EQ(*results[0], rev(1));
  store_->create_async("/a", MakeBytes("2"), collect);
  ASSERT_TRUE(wait_for(2));
  ASSERT_FALSE(results[1].has_value());
  EXPECT_EQ(results[1].error().code(), StatusCode::kAlreadyExists);
  store_->update_async("/a", MakeBytes("3"), rev(7), collect);
  ASSERT_TRUE(wait_for(3));
  ASSERT_FALSE(results[2].has_value());
  EXPECT_EQ(results[2].error().code(), StatusCode::kConflict);
  store_->update_async("/a", MakeBytes("4"), rev(1), collect);
  ASSERT_TRUE(wait_for(4));
  ASSERT_TRUE(results[3].has_value());
  EXPECT_EQ(*results[3], rev(2));
  EXPECT_EQ(Str(store_->get("/a")->value), "4");
  store_->close();
  store_->create_async("/b", MakeBytes("5"), collect);
  ASSERT_TRUE(wait_for(5));
  ASSERT_FALSE(results[4].has_value());
  EXPECT_EQ(results[4].error().code(), StatusCode::kUnavailable);
}

TEST_P(StoreConformanceTest, CreateExistingIsAlreadyExistsAndConsumesNoRevision) {
  must_create("/a", "1");
  auto again = store_->create("/a", MakeBytes("2"));
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->current_revision(), rev(1));
  EXPECT_EQ(Str(store_->get("/a")->value), "1");
  EXPECT_EQ(must_create("/b", "x"), rev(2));
}

TEST_P(StoreConformanceTest, UpdatePreconditions) {
  EXPECT_EQ(store_->update("/a", MakeBytes("x"), 0).error().code(), StatusCode::kNotFound);
  Revision r1 = must_create("/a", "1");
  EXPECT_EQ(store_->update("/a", MakeBytes("x"), r1 + 7).error().code(), StatusCode::kConflict);
  auto r2 = store_->update("/a", MakeBytes("2"), r1);
  ASSERT_TRUE(r2.has_value());
  EXPECT_EQ(*r2, r1 + 1);
  EXPECT_EQ(store_->update("/a", MakeBytes("x"), r1).error().code(), StatusCode::kConflict);
  auto r3 = store_->update("/a", MakeBytes("3"), 0);  // 0: any revision
  ASSERT_TRUE(r3.has_value());
  auto got = store_->get("/a");
  EXPECT_EQ(Str(got->value), "3");
  EXPECT_EQ(got->revision, *r3);
  EXPECT_EQ(store_->current_revision(), *r3);
}

TEST_P(StoreConformanceTest, RemovePreconditionsAndRecreate) {
  EXPECT_EQ(store_->remove("/a", 0).error().code(), StatusCode::kNotFound);
  Revision r1 = must_create("/a", "1");
  EXPECT_EQ(store_->remove("/a", r1 + 1).error().code(), StatusCode::kConflict);
  auto del = store_->remove("/a", r1);
  ASSERT_TRUE(del.has_value());
  EXPECT_EQ(*del, r1 + 1);
  EXPECT_EQ(store_->current_revision(), *del);
  EXPECT_EQ(store_->get("/a").error().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->remove("/a", 0).error().code(), StatusCode::kNotFound);
  EXPECT_EQ(must_create("/a", "again"), *del + 1);
}

TEST_P(StoreConformanceTest, NullValueIsStoredAsEmpty) {
  auto r = store_->create("/null", nullptr);
  ASSERT_TRUE(r.has_value());
  auto got = store_->get("/null");
  ASSERT_TRUE(got.has_value());
  ASSERT_NE(got->value, nullptr);
  EXPECT_EQ(*got->value, "");
  ASSERT_TRUE(store_->update("/null", nullptr, 0).has_value());
}

TEST_P(StoreConformanceTest, ListByPrefixIsSortedAndExact) {
  for (const char* k : {"/b/2", "/a", "/b/1", "/ab", "/b0", "/c", "/b/"}) must_create(k, k);
  auto l = store_->list("/b/", 0);
  ASSERT_TRUE(l.has_value());
  std::vector<std::string> keys;
  for (auto& kv : l->items) {
    keys.push_back(kv.key);
    EXPECT_EQ(Str(kv.value), kv.key);
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"/b/", "/b/1", "/b/2"}));
  EXPECT_EQ(l->revision, rev(7));
  auto all = store_->list("", 0);
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->items.size(), 7u);
  for (std::size_t i = 1; i < all->items.size(); ++i) EXPECT_LT(all->items[i - 1].key, all->items[i].key);
  EXPECT_TRUE(store_->list("/zzz", 0)->items.empty());
}

TEST_P(StoreConformanceTest, BinaryKeysAndValues) {
  std::string nul_key("/k\0x", 4);
  std::string ff_key =
      "\xff\xff"
      "a";
  std::string value("\0\x01\xff", 3);
  must_create(nul_key, value);
  must_create(ff_key, value);
  must_create("\xff", "one");
  must_create(std::string("/k\0", 3), "short");
  auto got = store_->get(nul_key);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got->value, value);
  auto ff = store_->list("\xff", 0);
  ASSERT_TRUE(ff.has_value());
  ASSERT_EQ(ff->items.size(), 2u);
  EXPECT_EQ(ff->items[0].key, "\xff");
  EXPECT_EQ(ff->items[1].key, ff_key);
  auto k = store_->list(std::string("/k\0", 3), 0);
  ASSERT_EQ(k->items.size(), 2u);
  EXPECT_EQ(k->items[0].key, std::string("/k\0", 3));
  EXPECT_EQ(k->items[1].key, nul_key);
}

TEST_P(StoreConformanceTest, ListAtOlderRevisionRewindsState) {
  must_create("/p/a", "a1");                                     // 1
  must_create("/p/b", "b1");                                     // 2
  ASSERT_TRUE(store_->update("/p/a", MakeBytes("a2"), rev(1)));  // 3
  must_create("/q/x", "x");                                      // 4 (outside the prefix)
  ASSERT_TRUE(store_->remove("/p/b", rev(2)));                   // 5
  must_create("/p/c", "c1");                                     // 6
  ASSERT_TRUE(store_->update("/p/a", MakeBytes("a3"), rev(3)));  // 7
  ASSERT_TRUE(store_->remove("/q/x", 0));                        // 8

  // `at` and the revisions in the summary count writes (rev(n) is written as n).
  auto summary = [&](Revision at) {
    auto l = store_->list("/p/", at == 0 ? 0 : rev(at));
    EXPECT_TRUE(l.has_value()) << at;
    if (!l) return std::string();
    EXPECT_EQ(l->revision, rev(at == 0 ? 8 : at));
    std::string s;
    for (auto& kv : l->items) s += kv.key + "=" + Str(kv.value) + "@" + std::to_string(kv.revision - base_) + " ";
    return s;
  };
  EXPECT_EQ(summary(1), "/p/a=a1@1 ");
  EXPECT_EQ(summary(2), "/p/a=a1@1 /p/b=b1@2 ");
  EXPECT_EQ(summary(3), "/p/a=a2@3 /p/b=b1@2 ");
  EXPECT_EQ(summary(4), "/p/a=a2@3 /p/b=b1@2 ");
  EXPECT_EQ(summary(5), "/p/a=a2@3 ");
  EXPECT_EQ(summary(6), "/p/a=a2@3 /p/c=c1@6 ");
  EXPECT_EQ(summary(7), "/p/a=a3@7 /p/c=c1@6 ");
  EXPECT_EQ(summary(0), "/p/a=a3@7 /p/c=c1@6 ");
  auto q = store_->list("/q/", rev(5));
  ASSERT_TRUE(q.has_value());
  ASSERT_EQ(q->items.size(), 1u);
  EXPECT_EQ(q->items[0].revision, rev(4));
}

TEST_P(StoreConformanceTest, ListRevisionBounds) {
  must_create("/a", "1");
  must_create("/b", "2");
  auto future = store_->list("", rev(3));
  ASSERT_FALSE(future.has_value());
  EXPECT_EQ(future.error().code(), StatusCode::kTimeout);
  ASSERT_TRUE(store_->compact(rev(2)).ok());
  EXPECT_EQ(store_->compacted_revision(), rev(2));
  auto old = store_->list("", rev(1));
  ASSERT_FALSE(old.has_value());
  EXPECT_EQ(old.error().code(), StatusCode::kExpired);
  EXPECT_EQ(old.error().message(),
            "too old resource version: " + std::to_string(rev(1)) + " (" + std::to_string(rev(2)) + ")");
  EXPECT_TRUE(store_->list("", rev(2)).has_value());
}

TEST_P(StoreConformanceTest, CompactClampsToCurrentRevision) {
  must_create("/a", "1");
  must_create("/b", "2");
  ASSERT_TRUE(store_->compact(1000).ok());
  EXPECT_EQ(store_->compacted_revision(), rev(2));
  ASSERT_TRUE(store_->compact(rev(1)).ok());  // never goes backwards
  EXPECT_EQ(store_->compacted_revision(), rev(2));
  auto l = store_->list("", rev(2));
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(l->items.size(), 2u);
  EXPECT_EQ(must_create("/c", "3"), rev(3));
  RecordingSink sink;
  auto w = store_->watch(rev(2), sink);
  ASSERT_TRUE(w.has_value());
  ASSERT_TRUE(sink.wait_for_revision(rev(3)));
  EXPECT_EQ(store_->watch(rev(1), sink).error().code(), StatusCode::kExpired);
}

TEST_P(StoreConformanceTest, HistoryIsBoundedByCount) {
  reopen(Limits{.history_max_events = 10});
  for (int i = 0; i < 30; ++i) must_create("/k" + std::to_string(i), "v");
  ASSERT_TRUE(WaitUntil([&] { return store_->compacted_revision() >= rev(20); }));
  EXPECT_LE(store_->compacted_revision(), store_->current_revision());
  EXPECT_EQ(store_->list("", rev(19)).error().code(), StatusCode::kExpired);
  RecordingSink expired;
  EXPECT_EQ(store_->watch(rev(5), expired).error().code(), StatusCode::kExpired);
  auto l = store_->list("", rev(20));
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(l->items.size(), 20u);
  RecordingSink sink;
  auto w = store_->watch(rev(20), sink);
  ASSERT_TRUE(w.has_value());
  ASSERT_TRUE(sink.wait_for_revision(rev(30)));
  EXPECT_TRUE(Consecutive(sink.events(), rev(20), rev(30)));
}

TEST_P(StoreConformanceTest, WatchReplaysHistoryThenLive) {
  for (int i = 1; i <= 5; ++i) must_create("/k" + std::to_string(i), "v" + std::to_string(i));
  RecordingSink sink;
  auto w = store_->watch(rev(2), sink);
  ASSERT_TRUE(w.has_value());
  ASSERT_TRUE(sink.wait_for_revision(rev(5)));
  must_create("/k6", "v6");
  ASSERT_TRUE(store_->update("/k6", MakeBytes("v6b"), rev(6)));
  ASSERT_TRUE(sink.wait_for_revision(rev(7)));
  auto events = sink.events();
  EXPECT_TRUE(Consecutive(events, rev(2), rev(7)));
  EXPECT_EQ(events[0].key, "/k3");
  EXPECT_EQ(Str(events[0].value), "v3");
  EXPECT_EQ(events[0].type, EventType::kCreate);
  EXPECT_EQ(events[4].type, EventType::kUpdate);
  EXPECT_EQ(Str(events[4].value), "v6b");
  for (auto id : sink.threads()) EXPECT_NE(id, std::this_thread::get_id());
}

TEST_P(StoreConformanceTest, WatchFromTheFutureWaits) {
  must_create("/a", "1");
  RecordingSink sink;
  auto w = store_->watch(rev(3), sink);
  ASSERT_TRUE(w.has_value());
  must_create("/b", "2");
  must_create("/c", "3");
  must_create("/d", "4");
  ASSERT_TRUE(sink.wait_for_revision(rev(4)));
  EXPECT_TRUE(Consecutive(sink.events(), rev(3), rev(4)));
}

TEST_P(StoreConformanceTest, DeleteEventCarriesLastValue) {
  must_create("/a", "first");
  ASSERT_TRUE(store_->update("/a", MakeBytes("last"), 0));
  RecordingSink sink;
  auto w = store_->watch(store_->current_revision(), sink);
  ASSERT_TRUE(w.has_value());
  auto del = store_->remove("/a", 0);
  ASSERT_TRUE(del.has_value());
  ASSERT_TRUE(sink.wait_for_revision(*del));
  auto events = sink.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, EventType::kDelete);
  EXPECT_EQ(events[0].key, "/a");
  EXPECT_EQ(Str(events[0].value), "last");
  EXPECT_EQ(events[0].revision, *del);
}

// Watches that start while writers run see every event after their start exactly once, and
// replaying all events rebuilds exactly what list() returns.
TEST_P(StoreConformanceTest, WatchesStartedDuringWritesMissNothing) {
  constexpr int kWriters = 4;
  constexpr int kOpsPerWriter = 150;
  std::vector<std::unique_ptr<RecordingSink>> sinks;
  std::vector<Revision> afters;
  std::vector<WatchHandlePtr> handles;
  std::atomic<int> done{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < kWriters; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kOpsPerWriter; ++i) {
        std::string key = "/w" + std::to_string(t) + "/" + std::to_string(i % 20);
        if (!store_->create(key, MakeBytes("c" + std::to_string(i)))) {
          if (i % 3 == 0) {
            (void)store_->remove(key, 0);
          } else {
            (void)store_->update(key, MakeBytes("u" + std::to_string(i)), 0);
          }
        }
      }
      done++;
    });
  }
  while (done.load() < kWriters || sinks.size() < 3) {
    Revision after = sinks.empty() ? base_ : store_->current_revision();
    sinks.push_back(std::make_unique<RecordingSink>());
    auto w = store_->watch(after, *sinks.back());
    ASSERT_TRUE(w.has_value());
    handles.push_back(std::move(*w));
    afters.push_back(after);
    if (sinks.size() > 40) break;
  }
  for (auto& t : writers) t.join();
  Revision last = store_->current_revision();
  for (std::size_t i = 0; i < sinks.size(); ++i) {
    if (afters[i] == last) continue;
    ASSERT_TRUE(sinks[i]->wait_for_revision(last)) << "watch " << i << " after " << afters[i];
    EXPECT_TRUE(Consecutive(sinks[i]->events(), afters[i], last)) << "watch " << i << " after " << afters[i];
  }
  std::map<std::string, std::pair<std::string, Revision>> replayed;
  for (const Event& e : sinks[0]->events()) {
    if (e.type == EventType::kDelete) {
      EXPECT_EQ(replayed.erase(e.key), 1u) << e.key;
    } else {
      EXPECT_EQ(replayed.count(e.key), e.type == EventType::kCreate ? 0u : 1u) << e.key;
      replayed[e.key] = {Str(e.value), e.revision};
    }
  }
  auto l = store_->list("", 0);
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(l->revision, last);
  ASSERT_EQ(l->items.size(), replayed.size());
  for (const KeyValue& kv : l->items) {
    EXPECT_EQ(replayed[kv.key], std::make_pair(Str(kv.value), kv.revision)) << kv.key;
  }
}

TEST_P(StoreConformanceTest, DestroyedHandleStopsDeliveryAfterRunningCallback) {
  struct BlockingSink : WatchSink {
    std::mutex mu;
    std::condition_variable cv;
    bool entered = false, release = false, returned = false;
    int calls = 0;
    void on_events(std::span<const Event>) override {
      std::unique_lock<std::mutex> lock(mu);
      ++calls;
      entered = true;
      cv.notify_all();
      cv.wait(lock, [&] { return release; });
      returned = true;
    }
    void on_error(const Status&) override {}
  };
  auto sink = std::make_unique<BlockingSink>();
  auto w = store_->watch(base_, *sink);
  ASSERT_TRUE(w.has_value());
  must_create("/a", "1");
  {
    std::unique_lock<std::mutex> lock(sink->mu);
    ASSERT_TRUE(sink->cv.wait_for(lock, testing::kDeadline, [&] { return sink->entered; }));
  }
  std::atomic<bool> handle_gone{false};
  bool returned_before_dtor_finished = false;
  std::thread destroyer([&] {
    w->reset();
    std::lock_guard<std::mutex> lock(sink->mu);
    returned_before_dtor_finished = sink->returned;
    handle_gone = true;
  });
  // The destroyer must stay blocked in the destructor while the sink runs.
  EXPECT_TRUE(test::StaysFalse([&] { return handle_gone.load(); }, std::chrono::milliseconds(20)));
  {
    std::lock_guard<std::mutex> lock(sink->mu);
    sink->release = true;
    sink->cv.notify_all();
  }
  destroyer.join();
  EXPECT_TRUE(returned_before_dtor_finished);
  int calls = sink->calls;
  sink.reset();  // the sink may be destroyed right after its handle
  // A later event reaches a second watch but not the destroyed one.
  RecordingSink second;
  auto w2 = store_->watch(rev(1), second);
  ASSERT_TRUE(w2.has_value());
  must_create("/b", "2");
  ASSERT_TRUE(second.wait_for_revision(rev(2)));
  EXPECT_EQ(calls, 1);
}

TEST_P(StoreConformanceTest, HandleMayBeDestroyedInsideItsCallback) {
  struct SelfCancellingSink : WatchSink {
    WatchHandlePtr handle;
    std::atomic<int> calls{0};
    void on_events(std::span<const Event>) override {
      ++calls;
      handle.reset();
    }
    void on_error(const Status&) override {}
  };
  SelfCancellingSink sink;
  auto w = store_->watch(base_, sink);
  ASSERT_TRUE(w.has_value());
  sink.handle = std::move(*w);
  must_create("/a", "1");
  ASSERT_TRUE(WaitUntil([&] { return sink.calls.load() == 1; }));
  RecordingSink second;
  auto w2 = store_->watch(rev(1), second);
  ASSERT_TRUE(w2.has_value());
  must_create("/b", "2");
  ASSERT_TRUE(second.wait_for_revision(rev(2)));
  EXPECT_EQ(sink.calls.load(), 1);
}

TEST_P(StoreConformanceTest, SlowSinkDoesNotBlockWrites) {
  struct GateSink : RecordingSink {
    std::mutex mu;
    std::condition_variable cv;
    bool open = false;
    void on_events(std::span<const Event> events) override {
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return open; });
      }
      RecordingSink::on_events(events);
    }
  };
  GateSink sink;
  auto w = store_->watch(base_, sink);
  ASSERT_TRUE(w.has_value());
  for (int i = 0; i < 50; ++i) must_create("/k" + std::to_string(i), "v");  // completes while the sink is stuck
  EXPECT_EQ(store_->current_revision(), rev(50));
  {
    std::lock_guard<std::mutex> lock(sink.mu);
    sink.open = true;
  }
  sink.cv.notify_all();
  ASSERT_TRUE(sink.wait_for_revision(rev(50)));
  EXPECT_TRUE(Consecutive(sink.events(), base_, rev(50)));
}

TEST_P(StoreConformanceTest, CloseDeliversCommittedEventsThenEndsWatches) {
  RecordingSink sink;
  auto w = store_->watch(base_, sink);
  ASSERT_TRUE(w.has_value());
  for (int i = 0; i < 10; ++i) must_create("/k" + std::to_string(i), "v");
  store_->close();
  auto err = sink.wait_for_error();
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->code(), StatusCode::kUnavailable);
  EXPECT_TRUE(Consecutive(sink.events(), base_, rev(10)));
  EXPECT_FALSE(sink.called_after_error());
  EXPECT_EQ(store_->create("/x", MakeBytes("v")).error().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_->update("/k1", MakeBytes("v"), 0).error().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_->remove("/k1", 0).error().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_->watch(0, sink).error().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_->get("/k1").error().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_->list("", 0).error().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_->compact(1).code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_->current_revision(), rev(10));
  store_->close();  // idempotent
  w->reset();       // a handle outliving close() is harmless
}

TEST_P(StoreConformanceTest, ConcurrentCreatesGetDistinctRevisions) {
  constexpr int kThreads = 8;
  constexpr int kEach = 60;
  std::vector<std::vector<Revision>> revs(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto r = store_->create("/c/" + std::to_string(t) + "/" + std::to_string(i), MakeBytes("v"));
        if (r) revs[t].push_back(*r);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::vector<Revision> all;
  for (auto& v : revs) {
    EXPECT_TRUE(std::is_sorted(v.begin(), v.end()));
    all.insert(all.end(), v.begin(), v.end());
  }
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kThreads * kEach));
  for (std::size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i], rev(static_cast<Revision>(i + 1)));
  EXPECT_EQ(store_->current_revision(), rev(kThreads * kEach));
  auto stats = store_->commit_stats();
  EXPECT_EQ(stats.writes, static_cast<std::uint64_t>(kThreads * kEach));
  EXPECT_GE(stats.commits, 1u);
  EXPECT_LE(stats.commits, stats.writes);
}

TEST_P(StoreConformanceTest, CompareAndSwapCounter) {
  must_create("/counter", "0");
  constexpr int kThreads = 4;
  constexpr int kIncrements = 40;
  std::vector<std::thread> threads;
  std::atomic<int> conflicts{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements;) {
        auto cur = store_->get("/counter");
        ASSERT_TRUE(cur.has_value());
        int n = std::stoi(*cur->value);
        auto r = store_->update("/counter", MakeBytes(std::to_string(n + 1)), cur->revision);
        if (r) {
          ++i;
        } else {
          ASSERT_EQ(r.error().code(), StatusCode::kConflict);
          ++conflicts;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(*store_->get("/counter")->value, std::to_string(kThreads * kIncrements));
  EXPECT_EQ(store_->current_revision(), rev(1 + kThreads * kIncrements));
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreConformanceTest, ::testing::ValuesIn(Backends()),
                         [](const ::testing::TestParamInfo<Backend>& info) { return info.param.name; });

}  // namespace
}  // namespace setpoint::store
