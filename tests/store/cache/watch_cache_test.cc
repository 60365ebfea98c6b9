#include "store/cache/watch_cache.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>

#include "setpoint/common/json.h"
#include "store/memory/memory_store.h"
#include "testing/eventually.h"

namespace setpoint::store {
namespace {

using namespace std::chrono_literals;

std::string Obj(std::string_view ns, std::string_view name, std::string_view label = "") {
  std::string labels = label.empty() ? "" : ",\"labels\":{\"app\":\"" + std::string(label) + "\"}";
  return "{\"kind\":\"Widget\",\"metadata\":{\"name\":\"" + std::string(name) + "\",\"namespace\":\"" +
         std::string(ns) + "\"" + labels + "}}";
}

std::string Key(std::string_view ns, std::string_view name) {
  return "/registry/example.com/widgets/" + std::string(ns) + "/" + std::string(name);
}

class WatchCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = NewMemoryStore();
    auto cache = WatchCache::Start(*store_, {});
    ASSERT_TRUE(cache.has_value()) << cache.error().to_string();
    cache_ = std::move(*cache);
  }
  Revision Create(std::string_view ns, std::string_view name, std::string_view label = "") {
    auto r = store_->create(Key(ns, name), MakeBytes(Obj(ns, name, label)));
    EXPECT_TRUE(r.has_value());
    EXPECT_TRUE(cache_->wait_for(*r, 5s));
    return *r;
  }
  Revision Update(std::string_view ns, std::string_view name, std::string_view label) {
    auto r = store_->update(Key(ns, name), MakeBytes(Obj(ns, name, label)), 0);
    EXPECT_TRUE(r.has_value());
    EXPECT_TRUE(cache_->wait_for(*r, 5s));
    return *r;
  }
  static std::vector<WatchItem> Drain(const CacheWatcherPtr& w, std::size_t want) {
    std::vector<WatchItem> items;
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (items.size() < want && std::chrono::steady_clock::now() < deadline) {
      w->wait(deadline);
      w->take(items);
    }
    return items;
  }
  StorePtr store_;
  std::unique_ptr<WatchCache> cache_;
};

TEST_F(WatchCacheTest, StampsResourceVersionIntoServedBytes) {
  Revision r = Create("default", "a");
  auto obj = cache_->get(Key("default", "a"));
  ASSERT_NE(obj, nullptr);
  EXPECT_EQ(obj->revision, r);
  EXPECT_NE(obj->json.find("\"resourceVersion\":\"" + std::to_string(r) + "\""), std::string::npos);
  EXPECT_EQ(obj->name(), "a");
  EXPECT_EQ(obj->ns(), "default");
}

TEST_F(WatchCacheTest, SplicedAndReparsedDecodingsAgree) {
  // Kinds without extracted fields get resourceVersion spliced into their stored bytes; the
  // others are parsed and serialised again. Both must serve the same object.
  WatchCacheOptions whole;
  whole.field_extractor = [](std::string_view, const boost::json::object&,
                             std::vector<std::pair<std::string, std::string>>&) {};
  whole.has_fields = [](std::string_view) { return true; };
  auto slow = WatchCache::Start(*store_, whole);
  ASSERT_TRUE(slow.has_value());
  const std::vector<std::string> stored = {
      R"({"kind":"Widget","metadata":{"name":"a","labels":{"app":"x","metadata":"{"}},"spec":{"metadata":{"n":1}}})",
      R"({"kind":"Widget","metadata":{},"data":"}"})",
      R"({"metadata":{"name":"c","resourceVersion":"7"},"kind":"Widget"})",  // a stale one: replaced
      R"({"kind":"Widget","spec":{}})",                                      // none: added
      R"({"kind":"Widget","metadata":{ "name" : "e" } })",
  };
  for (std::size_t i = 0; i < stored.size(); ++i) {
    const std::string key = Key("default", "o" + std::to_string(i));
    auto fast = cache_->decode(key, MakeBytes(stored[i]), 42);
    auto reparsed = (*slow)->decode(key, MakeBytes(stored[i]), 42);
    ASSERT_TRUE(fast.has_value() && reparsed.has_value()) << stored[i];
    auto a = ParseJson((*fast)->json);
    auto b = ParseJson((*reparsed)->json);
    ASSERT_TRUE(a.has_value()) << (*fast)->json;
    EXPECT_EQ(*a, *b) << (*fast)->json << " vs " << (*reparsed)->json;
    EXPECT_EQ(a->at("metadata").at("resourceVersion").as_string(), "42");
    EXPECT_EQ((*fast)->labels, (*reparsed)->labels);
    EXPECT_EQ(ParseJson((*fast)->metadata_json()).value(), a->at("metadata")) << (*fast)->metadata_json();
  }
}

TEST_F(WatchCacheTest, ListsAtAnExactPastRevision) {
  Create("default", "a", "x");
  Revision r2 = Create("default", "b", "x");
  Update("default", "a", "y");
  Create("default", "c", "x");
  ASSERT_TRUE(store_->remove(Key("default", "b"), 0).has_value());
  cache_->wait_for(store_->current_revision(), 5s);
  Filter f{"/registry/example.com/widgets/default/", nullptr};
  auto now = cache_->list(f, 0, "", 0);
  ASSERT_TRUE(now.has_value());
  ASSERT_EQ(now->items.size(), 2u);  // a (updated), c
  auto past = cache_->list(f, r2, "", 0);
  ASSERT_TRUE(past.has_value()) << past.error().to_string();
  ASSERT_EQ(past->items.size(), 2u);  // a (old label), b
  EXPECT_EQ(past->items[0]->name(), "a");
  EXPECT_NE(past->items[0]->json.find("\"app\":\"x\""), std::string::npos);
  EXPECT_EQ(past->items[1]->name(), "b");
  EXPECT_EQ(past->revision, r2);
}

TEST_F(WatchCacheTest, PaginatesWithContinueKeys) {
  for (int i = 0; i < 7; ++i) Create("default", "w" + std::to_string(i));
  Filter f{"/registry/example.com/widgets/", nullptr};
  std::vector<std::string> names;
  std::string after;
  Revision at = 0;
  for (int page = 0; page < 10; ++page) {
    auto p = cache_->list(f, at, after, 3);
    ASSERT_TRUE(p.has_value());
    at = p->revision;
    for (auto& o : p->items) names.emplace_back(o->name());
    if (p->continue_after.empty()) break;
    EXPECT_EQ(p->remaining, -1);  // unknown: pages never scan past their end
    after = p->continue_after;
    Create("default", "late" + std::to_string(page));  // later writes do not leak into the list
  }
  EXPECT_EQ(names, (std::vector<std::string>{"w0", "w1", "w2", "w3", "w4", "w5", "w6"}));
}

TEST_F(WatchCacheTest, WatchReplaysFromRevisionAndFollowsLive) {
  Revision r1 = Create("default", "a");
  Create("default", "b");
  auto w = cache_->watch({"/registry/example.com/widgets/", nullptr}, {r1, false, false}, nullptr);
  ASSERT_TRUE(w.has_value());
  Create("default", "c");
  auto items = Drain(*w, 2);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].object->name(), "b");
  EXPECT_EQ(items[0].type, WatchEventType::kAdded);
  EXPECT_EQ(items[1].object->name(), "c");
  EXPECT_LT(items[0].revision, items[1].revision);
  cache_->unwatch(*w);
}

TEST_F(WatchCacheTest, SelectorTransitionsBecomeAddedAndDeleted) {
  Create("default", "a", "x");
  Filter f{"/registry/example.com/widgets/", [](const CachedObject& o) {
             auto it = o.labels.find("app");
             return it != o.labels.end() && it->value() == "y";
           }};
  auto w = cache_->watch(f, {cache_->revision(), false, false}, nullptr);
  ASSERT_TRUE(w.has_value());
  Update("default", "a", "y");  // moves in
  Update("default", "a", "x");  // moves out
  auto items = Drain(*w, 2);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].type, WatchEventType::kAdded);
  EXPECT_EQ(items[1].type, WatchEventType::kDeleted);
}

TEST_F(WatchCacheTest, InitialStateEndsWithBookmark) {
  Create("default", "a");
  Create("other", "b");
  auto w = cache_->watch({"/registry/example.com/widgets/default/", nullptr}, {0, true, true}, nullptr);
  ASSERT_TRUE(w.has_value());
  auto items = Drain(*w, 2);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].type, WatchEventType::kAdded);
  EXPECT_EQ(items[0].object->name(), "a");
  EXPECT_EQ(items[1].type, WatchEventType::kBookmark);
  EXPECT_EQ(items[1].revision, cache_->revision());
}

TEST_F(WatchCacheTest, SlowWatcherOverflowsInsteadOfGrowing) {
  WatchCacheOptions opts;
  opts.watcher_max_pending = 5;
  auto store = NewMemoryStore();
  auto cache = WatchCache::Start(*store, opts);
  ASSERT_TRUE(cache.has_value());
  auto w = (*cache)->watch({"/registry/", nullptr}, {0, false, false}, nullptr);
  ASSERT_TRUE(w.has_value());
  Revision last = 0;
  for (int i = 0; i < 10; ++i)
    last = *store->create(Key("default", "o" + std::to_string(i)), MakeBytes(Obj("default", "o")));
  ASSERT_TRUE((*cache)->wait_for(last, 5s));
  std::vector<WatchItem> items;
  EXPECT_FALSE((*w)->take(items));
}

TEST_F(WatchCacheTest, TooOldRevisionIsExpired) {
  WatchCacheOptions opts;
  opts.history_max_events = 3;
  auto store = NewMemoryStore();
  auto cache = WatchCache::Start(*store, opts);
  ASSERT_TRUE(cache.has_value());
  Revision first = *store->create(Key("default", "first"), MakeBytes(Obj("default", "first")));
  Revision last = first;
  for (int i = 0; i < 10; ++i)
    last = *store->create(Key("default", "o" + std::to_string(i)), MakeBytes(Obj("default", "o")));
  ASSERT_TRUE((*cache)->wait_for(last, 5s));
  auto w = (*cache)->watch({"/registry/", nullptr}, {first, false, false}, nullptr);
  ASSERT_FALSE(w.has_value());
  EXPECT_EQ(w.error().code(), StatusCode::kExpired);
  auto l = (*cache)->list({"/registry/", nullptr}, first, "", 0);
  ASSERT_FALSE(l.has_value());
  EXPECT_EQ(l.error().code(), StatusCode::kExpired);
}

TEST_F(WatchCacheTest, RestartReplaysRetainedHistory) {
  // A cache started on a store with history can serve watches from before it started.
  auto store = NewMemoryStore();
  Revision r1 = *store->create(Key("default", "a"), MakeBytes(Obj("default", "a", "x")));
  *store->update(Key("default", "a"), MakeBytes(Obj("default", "a", "y")), 0);
  Revision r3 = *store->create(Key("default", "b"), MakeBytes(Obj("default", "b")));
  auto cache = WatchCache::Start(*store, {});
  ASSERT_TRUE(cache.has_value());
  auto w = (*cache)->watch({"/registry/", nullptr}, {r1, false, false}, nullptr);
  ASSERT_TRUE(w.has_value()) << w.error().to_string();
  auto items = Drain(*w, 2);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].type, WatchEventType::kModified);
  EXPECT_EQ(items[1].revision, r3);
  auto past = (*cache)->list({"/registry/", nullptr}, r1, "", 0);
  ASSERT_TRUE(past.has_value()) << past.error().to_string();
  ASSERT_EQ(past->items.size(), 1u);
  EXPECT_NE(past->items[0]->json.find("\"app\":\"x\""), std::string::npos);
}

}  // namespace
}  // namespace setpoint::store

namespace setpoint::store {
namespace {

// A memory store whose current watch can be made to expire, as etcd ends a watch whose revision
// it compacted away while the watcher was cut off.
class ExpiringStore final : public Store {
 public:
  ExpiringStore() : inner_(NewMemoryStore()) {}
  Result<Revision> create(std::string key, Bytes value) override {
    return inner_->create(std::move(key), std::move(value));
  }
  Result<Revision> update(std::string key, Bytes value, Revision expected) override {
    return inner_->update(std::move(key), std::move(value), expected);
  }
  Result<Revision> remove(std::string key, Revision expected) override {
    return inner_->remove(std::move(key), expected);
  }
  Result<KeyValue> get(std::string_view key) override { return inner_->get(key); }
  Result<ListResult> list(std::string_view prefix, Revision at) override {
    {
      // After expire(), the relist waits for release(): the test writes in between, as a store
      // that moved on while the cache was disconnected.
      std::unique_lock lock(mu_);
      list_cv_.wait_for(lock, std::chrono::seconds(10), [&] { return !hold_lists_; });
    }
    return inner_->list(prefix, at);
  }
  Status compact(Revision upto) override { return inner_->compact(upto); }
  Revision current_revision() override { return inner_->current_revision(); }
  Revision compacted_revision() override { return inner_->compacted_revision(); }
  void close() override { inner_->close(); }

  Result<WatchHandlePtr> watch(Revision after, WatchSink& sink) override {
    auto gate = std::make_shared<Gate>(sink);
    auto h = inner_->watch(after, *gate);
    if (!h) return Err(h.error());
    std::lock_guard lock(mu_);
    gate_ = gate;
    ++watches_;
    return WatchHandlePtr(std::make_unique<Handle>(gate, std::move(*h)));
  }

  // Ends the current watch with Expired; later events of that watch are dropped.
  void expire() {
    std::shared_ptr<Gate> g;
    {
      std::lock_guard lock(mu_);
      g = gate_;
      hold_lists_ = true;
    }
    g->expire();
  }
  void release() {
    {
      std::lock_guard lock(mu_);
      hold_lists_ = false;
    }
    list_cv_.notify_all();
  }
  int watches() {
    std::lock_guard lock(mu_);
    return watches_;
  }

 private:
  struct Gate final : WatchSink {
    explicit Gate(WatchSink& s) : sink(s) {}
    void on_events(std::span<const Event> events) override {
      std::lock_guard lock(mu);
      if (!dead) sink.on_events(events);
    }
    void on_error(const Status& status) override {
      std::lock_guard lock(mu);
      if (!dead) sink.on_error(status);
      dead = true;
    }
    void expire() { on_error(Status::Expired("required revision has been compacted")); }
    WatchSink& sink;
    std::mutex mu;
    bool dead = false;
  };
  struct Handle final : WatchHandle {
    Handle(std::shared_ptr<Gate> g, WatchHandlePtr h) : gate(std::move(g)), inner(std::move(h)) {}
    ~Handle() override { inner.reset(); }
    std::shared_ptr<Gate> gate;
    WatchHandlePtr inner;
  };
  StorePtr inner_;
  std::mutex mu_;
  std::shared_ptr<Gate> gate_;
  int watches_ = 0;
  bool hold_lists_ = false;
  std::condition_variable list_cv_;
};

TEST(WatchCacheRelist, AnExpiredStoreWatchRelistsAndWatchersStartOver) {
  ExpiringStore store;
  ASSERT_TRUE(store.create(Key("default", "a"), MakeBytes(Obj("default", "a"))));
  auto started = WatchCache::Start(store, {});
  ASSERT_TRUE(started.has_value()) << started.error().to_string();
  auto& cache = **started;
  auto watcher = cache.watch({"/registry/example.com/widgets/"}, {cache.revision()}, nullptr);
  ASSERT_TRUE(watcher.has_value());
  const Revision before = cache.revision();

  store.expire();
  // Its watchers learn that they must start over (the API answers them 410 and they relist).
  std::vector<WatchItem> items;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (
      std::none_of(items.begin(), items.end(), [](const WatchItem& i) { return i.type == WatchEventType::kError; }) &&
      std::chrono::steady_clock::now() < deadline) {
    (*watcher)->wait(deadline);
    (*watcher)->take(items);
  }
  ASSERT_TRUE(
      std::any_of(items.begin(), items.end(), [](const WatchItem& i) { return i.type == WatchEventType::kError; }));

  // Meanwhile the store moves on; the cache relists, watches again and is healthy.
  auto b = store.create(Key("default", "b"), MakeBytes(Obj("default", "b")));
  ASSERT_TRUE(b);
  store.release();
  ASSERT_TRUE(setpoint::test::Eventually([&] { return cache.healthy() && cache.get(Key("default", "b")) != nullptr; }));
  EXPECT_EQ(store.watches(), 2);
  EXPECT_GE(cache.oldest_revision(), *b) << "history before the relist is gone";

  // New writes flow again, to new watchers.
  auto fresh = cache.watch({"/registry/example.com/widgets/"}, {cache.revision()}, nullptr);
  ASSERT_TRUE(fresh.has_value());
  auto c = store.create(Key("default", "c"), MakeBytes(Obj("default", "c")));
  ASSERT_TRUE(c);
  ASSERT_TRUE(cache.wait_for(*c, 5s));
  std::vector<WatchItem> got;
  deadline = std::chrono::steady_clock::now() + 5s;
  while (got.empty() && std::chrono::steady_clock::now() < deadline) {
    (*fresh)->wait(deadline);
    (*fresh)->take(got);
  }
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got[0].object->name(), "c");
  // A watch from before the relist cannot be served.
  auto old = cache.watch({"/registry/example.com/widgets/"}, {before}, nullptr);
  EXPECT_FALSE(old.has_value());
}

}  // namespace
}  // namespace setpoint::store
