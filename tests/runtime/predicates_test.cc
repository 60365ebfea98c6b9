// Predicates and owner mapping (reference/seed-systems.md S1 scenarios are about what events
// reach the queue: generation vs status writes, label filters, controller owners only).
#include "setpoint/runtime/predicates.h"

#include <gtest/gtest.h>

namespace setpoint::runtime {
namespace {

namespace json = boost::json;

json::object Meta(json::object meta) { return json::object{{"metadata", std::move(meta)}}; }

// S1-17: a status-only change (same generation) triggers nothing.
TEST(PredicatesTest, S1_17_GenerationChangedIgnoresStatusOnlyUpdates) {
  auto p = GenerationChangedPredicate();
  auto a = Meta({{"generation", 1}, {"resourceVersion", "5"}});
  auto b = Meta({{"generation", 1}, {"resourceVersion", "6"}});
  auto c = Meta({{"generation", 2}, {"resourceVersion", "7"}});
  EXPECT_FALSE(p.update(a, b));
  EXPECT_TRUE(p.update(b, c));
  EXPECT_EQ(p.create, nullptr);  // creates and deletes pass
  EXPECT_EQ(p.remove, nullptr);
}

TEST(PredicatesTest, ResourceVersionChangedDropsResyncs) {
  auto p = ResourceVersionChangedPredicate();
  EXPECT_FALSE(p.update(Meta({{"resourceVersion", "5"}}), Meta({{"resourceVersion", "5"}})));
  EXPECT_TRUE(p.update(Meta({{"resourceVersion", "5"}}), Meta({{"resourceVersion", "6"}})));
}

TEST(PredicatesTest, AnnotationAndLabelChangedTreatAbsentAsEmpty) {
  auto p = AnnotationChangedPredicate();
  EXPECT_FALSE(p.update(Meta({}), Meta({{"annotations", json::object{}}})));
  EXPECT_TRUE(p.update(Meta({}), Meta({{"annotations", {{"a", "1"}}}})));
  EXPECT_FALSE(p.update(Meta({{"annotations", {{"a", "1"}}}, {"labels", {{"x", "1"}}}}),
                        Meta({{"annotations", {{"a", "1"}}}, {"labels", {{"x", "2"}}}})));
  auto l = LabelChangedPredicate();
  EXPECT_TRUE(l.update(Meta({{"labels", {{"x", "1"}}}}), Meta({{"labels", {{"x", "2"}}}})));
}

TEST(PredicatesTest, LabelSelectorFiltersEveryEventKind) {
  auto sel = api::LabelSelector::Parse("tier=web");
  ASSERT_TRUE(sel.has_value());
  auto p = LabelSelectorPredicate(*sel);
  auto web = Meta({{"labels", {{"tier", "web"}}}});
  auto db = Meta({{"labels", {{"tier", "db"}}}});
  EXPECT_TRUE(p.create(web));
  EXPECT_FALSE(p.create(db));
  EXPECT_FALSE(p.create(Meta({})));
  EXPECT_TRUE(p.update(db, web));
  EXPECT_FALSE(p.update(web, db));
  EXPECT_TRUE(p.remove(web));
}

json::object OwnerRef(std::string api_version, std::string kind, std::string name, bool controller) {
  return {
      {"apiVersion", api_version}, {"kind", kind}, {"name", name}, {"uid", name + "-uid"}, {"controller", controller}};
}

// S1-12: a change of a controlled child enqueues its owner. S1-13: non-controller owners only
// with every_owner. S1-15: the group must match, the version need not.
TEST(OwnerMappingTest, S1_12_13_15_ControllerOwnerOfTheForKindOnly) {
  auto child = Meta({{"namespace", "ns"},
                     {"name", "c"},
                     {"ownerReferences", json::array{OwnerRef("test.setpoint.dev/v1", "Parent", "p1", false),
                                                     OwnerRef("test.setpoint.dev/v2", "Parent", "p2", true),
                                                     OwnerRef("other.dev/v1", "Parent", "p3", true),
                                                     OwnerRef("test.setpoint.dev/v1", "Other", "p4", true)}}});
  auto ctl = RequestsForOwners(child, "test.setpoint.dev", "Parent", true);
  ASSERT_EQ(ctl.size(), 1u);
  EXPECT_EQ(ctl[0].key(), "ns/p2");  // version differs, group and kind match
  auto all = RequestsForOwners(child, "test.setpoint.dev", "Parent", false);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].key(), "ns/p1");
  EXPECT_EQ(all[1].key(), "ns/p2");
}

// S1-13 exactly: two non-controller owners of the kind; Owns() enqueues nothing, every_owner both.
TEST(OwnerMappingTest, S1_13_NonControllerOwnersNeedEveryOwner) {
  auto cm = Meta({{"namespace", "ns"},
                  {"name", "c"},
                  {"ownerReferences", json::array{OwnerRef("test.setpoint.dev/v1", "T", "a1", false),
                                                  OwnerRef("test.setpoint.dev/v1", "T", "a2", false)}}});
  EXPECT_TRUE(RequestsForOwners(cm, "test.setpoint.dev", "T", true).empty());
  auto all = RequestsForOwners(cm, "test.setpoint.dev", "T", false);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].key(), "ns/a1");
  EXPECT_EQ(all[1].key(), "ns/a2");
}

// S1-16: a cluster-scoped owner's request has no namespace, though its dependent has one.
TEST(OwnerMappingTest, S1_16_ClusterScopedOwnerHasNoNamespace) {
  auto dep = Meta({{"namespace", "ns"},
                   {"name", "d"},
                   {"ownerReferences", json::array{OwnerRef("test.setpoint.dev/v1", "Cluster", "top", true)}}});
  auto reqs = RequestsForOwners(dep, "test.setpoint.dev", "Cluster", true, /*owner_namespaced=*/false);
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].ns, "");
  EXPECT_EQ(reqs[0].key(), "top");
}

TEST(OwnerMappingTest, CoreGroupAndNoOwners) {
  auto pod = Meta({{"namespace", "ns"},
                   {"name", "p"},
                   {"ownerReferences", json::array{OwnerRef("v1", "ReplicationController", "rc", true)}}});
  EXPECT_EQ(RequestsForOwners(pod, "", "ReplicationController", true).size(), 1u);
  EXPECT_TRUE(RequestsForOwners(Meta({{"name", "x"}}), "", "ReplicationController", true).empty());
  EXPECT_EQ(RequestForObject(pod).key(), "ns/p");
}

}  // namespace
}  // namespace setpoint::runtime
