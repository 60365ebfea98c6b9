// Cache and Reflector: atomic relist with implied deletes, indexes, selectors, rv tracking and
// wait_for_rv; the reflector's mapping of watcher events onto the cache.
#include "setpoint/runtime/cache.h"

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

}  // namespace
}  // namespace setpoint::runtime
