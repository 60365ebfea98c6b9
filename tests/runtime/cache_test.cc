// Cache and Reflector: atomic relist with implied deletes, indexes, selectors, rv tracking and
// wait_for_rv; the reflector's mapping of watcher events onto the cache.
#include "setpoint/runtime/cache.h"

#include <atomic>
#include <future>

#include <gtest/gtest.h>

#include "setpoint/runtime/reflector.h"

namespace setpoint::runtime {
namespace {

namespace json = boost::json;
using Kind = CacheDelta::Kind;

ObjectPtr Make(std::string ns, std::string name, std::string rv, json::object labels = {},
               std::vector<std::string> owner_uids = {}) {
  json::array refs;
  for (auto& u : owner_uids) refs.push_back(json::object{{"kind", "Parent"}, {"name", "p"}, {"uid", u}});
  json::object meta{{"namespace", ns}, {"name", name}, {"resourceVersion", rv}, {"labels", labels}};
  if (!refs.empty()) meta["ownerReferences"] = refs;
  return std::make_shared<const json::object>(json::object{{"metadata", meta}});
}

std::vector<std::string> Names(const std::vector<ObjectPtr>& v) {
  std::vector<std::string> out;
  for (const auto& o : v) out.emplace_back(ObjectKey(*o));
  return out;
}

TEST(CacheTest, ReplaceSwapsContentsAndReportsVanishedObjectsAsDeletes) {
  Cache c;
  EXPECT_FALSE(c.has_synced());
  auto d1 = c.replace({Make("a", "x", "1"), Make("a", "y", "2")}, "2");
  EXPECT_EQ(d1.size(), 2u);
  EXPECT_TRUE(c.has_synced());
  auto d2 = c.replace({Make("a", "y", "3"), Make("b", "z", "4")}, "4");
  ASSERT_EQ(d2.size(), 3u);
  EXPECT_EQ(d2[0].kind, Kind::kDeleted);
  EXPECT_EQ(ObjectKey(*d2[0].old_object), "a/x");
  EXPECT_EQ(d2[1].kind, Kind::kUpdated);
  EXPECT_EQ(ObjectResourceVersion(*d2[1].old_object), "2");
  EXPECT_EQ(ObjectResourceVersion(*d2[1].new_object), "3");
  EXPECT_EQ(d2[2].kind, Kind::kAdded);
  EXPECT_EQ(c.get("a", "x"), nullptr);
  EXPECT_EQ(Names(c.list()), (std::vector<std::string>{"a/y", "b/z"}));
  EXPECT_EQ(c.last_sync_rv(), "4");
}

TEST(CacheTest, SnapshotsHandedOutNeverChange) {
  Cache c;
  c.replace({Make("a", "x", "1")}, "1");
  ObjectPtr before = c.get("a", "x");
  c.apply(Make("a", "x", "2"), "2");
  EXPECT_EQ(ObjectResourceVersion(*before), "1");
  EXPECT_EQ(ObjectResourceVersion(*c.get("a", "x")), "2");
}

TEST(CacheTest, IndexesByNamespaceOwnerUidAndUserFunctions) {
  Cache c;
  c.add_index("app", [](const json::object& o) {
    const auto& labels = o.at("metadata").at("labels").as_object();
    auto* app = labels.if_contains("app");
    return app ? std::vector<std::string>{std::string(app->as_string())} : std::vector<std::string>{};
  });
  c.replace({Make("a", "x", "1", {{"app", "web"}}, {"u1"}), Make("a", "y", "2", {{"app", "db"}}, {"u1", "u2"}),
             Make("b", "z", "3", {{"app", "web"}})},
            "3");
  EXPECT_EQ(Names(c.by_index(kNamespaceIndex, "a")), (std::vector<std::string>{"a/x", "a/y"}));
  EXPECT_EQ(Names(c.by_index(kOwnerUidIndex, "u1")), (std::vector<std::string>{"a/x", "a/y"}));
  EXPECT_EQ(Names(c.by_index(kOwnerUidIndex, "u2")), (std::vector<std::string>{"a/y"}));
  EXPECT_EQ(Names(c.by_index("app", "web")), (std::vector<std::string>{"a/x", "b/z"}));
  EXPECT_TRUE(c.by_index("nope", "web").empty());
  // Updates move an object between index values; deletes drop it.
  c.apply(Make("a", "x", "4", {{"app", "db"}}), "4");
  EXPECT_EQ(Names(c.by_index("app", "db")), (std::vector<std::string>{"a/x", "a/y"}));
  EXPECT_EQ(Names(c.by_index(kOwnerUidIndex, "u1")), (std::vector<std::string>{"a/y"}));
  c.remove(Make("a", "y", "5"), "5");
  EXPECT_TRUE(c.by_index(kOwnerUidIndex, "u1").empty());
  EXPECT_EQ(Names(c.list("a")), (std::vector<std::string>{"a/x"}));
}

TEST(CacheTest, IndexesBuiltOnFirstUseMatchOnesKeptAllAlong) {
  // An index is built on its first query and maintained from then on; the namespace "index" is a
  // key range, which must not spill into a namespace that merely starts with the same letters.
  Cache c;
  c.replace({Make("a", "x", "1", {}, {"u1"}), Make("ab", "y", "2", {}, {"u1"})}, "2");
  c.apply(Make("a", "w", "3", {}, {"u2"}), "3");
  c.apply(Make("a", "x", "4", {}, {"u2"}), "4");  // moved from u1 to u2 before anyone asked
  EXPECT_EQ(Names(c.by_index(kOwnerUidIndex, "u1")), (std::vector<std::string>{"ab/y"}));
  EXPECT_EQ(Names(c.by_index(kOwnerUidIndex, "u2")), (std::vector<std::string>{"a/w", "a/x"}));
  c.remove(Make("a", "w", "5"), "5");
  EXPECT_EQ(Names(c.by_index(kOwnerUidIndex, "u2")), (std::vector<std::string>{"a/x"}));
  EXPECT_EQ(Names(c.by_index(kNamespaceIndex, "a")), (std::vector<std::string>{"a/x"}));
  EXPECT_EQ(Names(c.list("a")), (std::vector<std::string>{"a/x"}));
  EXPECT_EQ(Names(c.list("ab")), (std::vector<std::string>{"ab/y"}));
  EXPECT_TRUE(c.list("b").empty());
}

TEST(CacheTest, ListFiltersByNamespaceAndSelector) {
  Cache c;
  c.replace({Make("a", "x", "1", {{"app", "web"}}), Make("a", "y", "2"), Make("b", "z", "3", {{"app", "web"}})}, "3");
  auto sel = api::LabelSelector::Parse("app=web");
  ASSERT_TRUE(sel.has_value());
  EXPECT_EQ(Names(c.list("", &*sel)), (std::vector<std::string>{"a/x", "b/z"}));
  EXPECT_EQ(Names(c.list("a", &*sel)), (std::vector<std::string>{"a/x"}));
  EXPECT_TRUE(c.list("c").empty());
}

TEST(CacheTest, WaitForRvReturnsOnceTheCacheCatchesUp) {
  Cache c;
  EXPECT_FALSE(c.wait_for_rv("1", std::chrono::milliseconds(1)));  // not synced
  c.replace({}, "10");
  EXPECT_TRUE(c.wait_for_rv("9", std::chrono::milliseconds(0)));
  EXPECT_TRUE(c.wait_for_rv("", std::chrono::milliseconds(0)));
  EXPECT_FALSE(c.wait_for_rv("12", std::chrono::milliseconds(1)));
  auto waiter = std::async(std::launch::async, [&] { return c.wait_for_rv("12", std::chrono::seconds(20)); });
  c.apply(Make("a", "x", "11"), "11");
  c.bookmark("12");
  EXPECT_TRUE(waiter.get());
  EXPECT_EQ(c.last_sync_rv(), "12");
}

TEST(CacheTest, ResourceVersionsCompareAsIntegersElseByEquality) {
  EXPECT_TRUE(ResourceVersionReached("10", "9"));
  EXPECT_FALSE(ResourceVersionReached("9", "10"));
  EXPECT_TRUE(ResourceVersionReached("abc", "abc"));
  EXPECT_FALSE(ResourceVersionReached("abd", "abc"));
}

TEST(ReflectorTest, MapsWatcherEventsOntoTheCache) {
  Cache c;
  std::vector<std::pair<std::size_t, bool>> batches;
  Reflector r(c, [&](std::vector<CacheDelta> d, bool restarted) { batches.emplace_back(d.size(), restarted); });
  r.handle({WatcherEvent::Kind::kRestarted, {}, nullptr, "5"});  // an empty list still reports
  r.handle({WatcherEvent::Kind::kApplied, {}, Make("a", "x", "6"), "6"});
  r.handle({WatcherEvent::Kind::kBookmark, {}, nullptr, "8"});
  EXPECT_EQ(c.last_sync_rv(), "8");
  r.handle({WatcherEvent::Kind::kDeleted, {}, Make("a", "x", "9"), "9"});
  r.handle({WatcherEvent::Kind::kDeleted, {}, Make("a", "gone", "10"), "10"});  // unknown: no delta
  EXPECT_EQ(c.size(), 0u);
  EXPECT_EQ(c.last_sync_rv(), "10");
  EXPECT_EQ(batches, (std::vector<std::pair<std::size_t, bool>>{{0, true}, {1, false}, {1, false}}));
}

// A decoder that counts its calls and decodes an object to its resourceVersion; "bad" fails.
std::atomic<int> g_decodes{0};
const int kRvTag = 0;
const ViewDecoder kRvDecoder{&kRvTag, [](const ObjectPtr& o) -> Result<std::shared_ptr<const void>> {
                               ++g_decodes;
                               const std::string rv(ObjectResourceVersion(*o));
                               if (rv == "bad") return Err(Status::Invalid("does not decode"));
                               return std::shared_ptr<const void>(std::make_shared<const std::string>(rv));
                             }};
std::string RvOf(const std::shared_ptr<const void>& v) { return *std::static_pointer_cast<const std::string>(v); }

TEST(CacheTest, AViewIsDecodedOncePerVersionOfAnObject) {
  Cache c;
  c.replace({Make("a", "x", "1"), Make("a", "y", "2")}, "2");
  g_decodes = 0;
  auto first = c.view("a", "x", kRvDecoder);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(RvOf(*first), "1");
  auto again = c.view("a", "x", kRvDecoder);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->get(), first->get()) << "the same shared view";
  EXPECT_EQ(g_decodes.load(), 1);

  c.apply(Make("a", "x", "3"), "3");  // a new version is decoded afresh
  auto third = c.view("a", "x", kRvDecoder);
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ(RvOf(*third), "3");
  EXPECT_EQ(g_decodes.load(), 2);

  auto absent = c.view("a", "nope", kRvDecoder);
  ASSERT_TRUE(absent.has_value());
  EXPECT_EQ(*absent, nullptr);
  c.apply(Make("a", "x", "bad"), "4");
  auto bad = c.view("a", "x", kRvDecoder);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), StatusCode::kInvalid);
}

TEST(CacheTest, ListViewsDecodesOnlyWhatHasNoViewYet) {
  Cache c;
  c.replace({Make("a", "x", "1"), Make("a", "y", "2"), Make("b", "z", "3")}, "3");
  g_decodes = 0;
  ASSERT_TRUE(c.view("a", "x", kRvDecoder).has_value());
  auto views = c.list_views("a", nullptr, kRvDecoder);
  ASSERT_TRUE(views.has_value());
  ASSERT_EQ(views->size(), 2u);
  EXPECT_EQ(RvOf((*views)[0]), "1");
  EXPECT_EQ(RvOf((*views)[1]), "2");
  EXPECT_EQ(g_decodes.load(), 2);  // x once, y once
  ASSERT_TRUE(c.list_views("a", nullptr, kRvDecoder).has_value());
  EXPECT_EQ(g_decodes.load(), 2);
}

// A view lives with its object in the cache and no longer: once the cache has moved on and no
// reader holds either, both are freed (a view that holds its JSON must not keep it forever).
TEST(CacheTest, AViewDiesWithTheObjectItWasDecodedFrom) {
  Cache c;
  std::weak_ptr<const json::object> old_json;
  std::weak_ptr<const void> old_view;
  {
    ObjectPtr o = Make("a", "x", "1");
    old_json = o;
    c.apply(std::move(o), "1");
    // A view that, as a typed object does, holds the JSON it came from.
    static const int tag = 0;
    const ViewDecoder holding{&tag, [](const ObjectPtr& obj) -> Result<std::shared_ptr<const void>> {
                                return std::shared_ptr<const void>(std::make_shared<const ObjectPtr>(obj));
                              }};
    auto v = c.view("a", "x", holding);
    ASSERT_TRUE(v.has_value());
    old_view = *v;
  }
  EXPECT_FALSE(old_json.expired());
  c.apply(Make("a", "x", "2"), "2");
  EXPECT_TRUE(old_view.expired());
  EXPECT_TRUE(old_json.expired());
}

}  // namespace
}  // namespace setpoint::runtime
