// The built-in controllers against the real server (the test kit runs them as `setpoint server`
// does): garbage collection in every propagation mode, ordering by blockOwnerDeletion, chains,
// diamonds and cycles, owners re-created under the same name, a collector that was down, 10,000
// dependents of one owner, invalid cross-namespace owners, namespace and CRD deletion, and event
// expiry. Every wait is a deadline on what the server shows.
#include <atomic>
#include <thread>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "controllers/controller_manager.h"
#include "setpoint/client/dynamic_client.h"
#include "setpoint/common/json.h"
#include "setpoint/runtime/object_helpers.h"
#include "setpoint/testing/test_server.h"
#include "setpoint/types/apiextensions_v1.h"
#include "setpoint/types/core_v1.h"
#include "testing/crds.h"
#include "testing/eventually.h"

namespace setpoint::controllers {
namespace {

namespace json = boost::json;
using client::GroupVersionResource;
using namespace std::chrono_literals;

const GroupVersionResource& kCrds = setpoint::types::GvrOf<setpoint::apiextensionsv1::CustomResourceDefinition>();
const GroupVersionResource kNodes{"gc.setpoint.dev", "v1", "nodes", true, "Node"};
const GroupVersionResource& kNamespacesGvr = setpoint::types::GvrOf<setpoint::corev1::Namespace>();
const GroupVersionResource& kConfigMaps = setpoint::types::GvrOf<setpoint::corev1::ConfigMap>();
const GroupVersionResource& kEventsGvr = setpoint::types::GvrOf<setpoint::corev1::Event>();

class LifecycleTest : public ::testing::Test {
 protected:
  void Start(testing::TestServerOptions options = {}) {
    auto s = testing::TestServer::Start(std::move(options));
    ASSERT_TRUE(s.has_value()) << s.error().to_string();
    server_ = std::move(*s);
    rest_ = server_->make_client();
    api_ = std::make_unique<client::DynamicClient>(*rest_);
    auto crd = api_->create(kCrds, "", test::OpenCrd("gc.setpoint.dev", "nodes", "node", "Node"));
    ASSERT_TRUE(crd.has_value()) << crd.error().to_string();
    ASSERT_TRUE(test::Eventually([&] { return api_->list(kNodes, "default").has_value(); }));
  }

  // A Node owned by `owners` (controller on the first, blockOwnerDeletion as given).
  json::object Node(const std::string& name, const std::vector<json::object>& owners = {}, bool block = true,
                    const std::string& ns = "default", std::vector<std::string> finalizers = {}) {
    json::array refs;
    for (std::size_t i = 0; i < owners.size(); ++i) {
      const auto& m = owners[i].at("metadata").as_object();
      refs.push_back(json::object{{"apiVersion", "gc.setpoint.dev/v1"},
                                  {"kind", "Node"},
                                  {"name", m.at("name")},
                                  {"uid", m.at("uid")},
                                  {"controller", i == 0},
                                  {"blockOwnerDeletion", block}});
    }
    json::object meta{{"name", name}, {"namespace", ns}};
    if (!refs.empty()) meta["ownerReferences"] = std::move(refs);
    if (!finalizers.empty()) {
      json::array f;
      for (auto& x : finalizers) f.emplace_back(x);
      meta["finalizers"] = std::move(f);
    }
    auto r = api_->create(kNodes, ns,
                          json::object{{"apiVersion", "gc.setpoint.dev/v1"}, {"kind", "Node"}, {"metadata", meta}});
    EXPECT_TRUE(r.has_value()) << name << ": " << r.error().to_string();
    return r ? *r : json::object{};
  }

  bool Exists(const std::string& name, const std::string& ns = "default") {
    return api_->get(kNodes, ns, name).has_value();
  }
  bool Gone(const std::string& name, const std::string& ns = "default") {
    auto r = api_->get(kNodes, ns, name);
    return !r && r.error().code() == StatusCode::kNotFound;
  }
  Status Delete(const std::string& name, const std::string& policy, const std::string& ns = "default") {
    client::DeleteOptions o;
    o.propagation_policy = policy;
    auto r = api_->remove(kNodes, ns, name, o);
    return r ? Status::Ok() : r.error();
  }
  void RemoveFinalizers(const std::string& name, const std::string& ns = "default") {
    auto r = api_->patch(kNodes, ns, name, client::PatchType::kMerge, R"({"metadata":{"finalizers":null}})");
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
  }
  std::vector<std::string> OwnerUids(const std::string& name) {
    std::vector<std::string> out;
    auto r = api_->get(kNodes, "default", name);
    if (!r) return out;
    if (const json::array* refs = GetArray(r->at("metadata").as_object(), "ownerReferences"))
      for (const auto& ref : *refs) out.emplace_back(ref.at("uid").as_string());
    return out;
  }
  static std::string Uid(const json::object& o) { return std::string(o.at("metadata").at("uid").as_string()); }
  double Metric(const std::string& name) {
    auto r = rest_->request(client::Method::kGet, "/metrics");
    if (!r) return -1;
    const auto pos = r->body.find("\n" + name + " ");
    return pos == std::string::npos ? -1 : std::stod(r->body.substr(pos + name.size() + 2));
  }

  std::unique_ptr<testing::TestServer> server_;
  std::unique_ptr<client::RestClient> rest_;
  std::unique_ptr<client::DynamicClient> api_;
};

TEST_F(LifecycleTest, BackgroundDeletionCollectsAThreeLevelChain) {
  Start();
  auto a = Node("a");
  auto b = Node("b", {a});
  Node("c", {b});
  ASSERT_TRUE(Delete("a", "Background").ok());
  EXPECT_TRUE(Gone("a")) << "background: the owner goes at once";
  ASSERT_TRUE(test::Eventually([&] { return Gone("b") && Gone("c"); }, 20s));
}

TEST_F(LifecycleTest, ForegroundDeletesDependentsFirstAndAFinalizerHoldsTheChain) {
  Start();
  auto a = Node("a");
  auto b = Node("b", {a});
  Node("c", {b}, true, "default", {"test.setpoint.dev/hold"});
  ASSERT_TRUE(Delete("a", "Foreground").ok());
  // a waits (foregroundDeletion) for b, which waits for c, which a finalizer holds.
  ASSERT_TRUE(test::Eventually(
      [&] {
        auto c = api_->get(kNodes, "default", "c");
        return c && runtime::deletion_requested(*c);
      },
      20s))
      << "c was never asked to go";
  auto got_a = api_->get(kNodes, "default", "a");
  ASSERT_TRUE(got_a.has_value()) << "a went before its blocking dependents";
  EXPECT_TRUE(runtime::has_finalizer(*got_a, "foregroundDeletion"));
  EXPECT_TRUE(test::StaysFalse([&] { return Gone("a") || Gone("b"); }, 500ms)) << "the held chain must stay";
  RemoveFinalizers("c");
  ASSERT_TRUE(test::Eventually([&] { return Gone("a") && Gone("b") && Gone("c"); }, 20s));
}

TEST_F(LifecycleTest, ForegroundWaitsOnlyForBlockingDependents) {
  Start();
  auto a = Node("a");
  Node("blocking", {a}, true, "default", {"test.setpoint.dev/hold"});
  Node("free", {a}, false, "default", {"test.setpoint.dev/hold"});
  ASSERT_TRUE(Delete("a", "Foreground").ok());
  // Both dependents are asked to go; a waits only for the one with blockOwnerDeletion.
  ASSERT_TRUE(test::Eventually(
      [&] {
        auto f = api_->get(kNodes, "default", "free");
        auto b = api_->get(kNodes, "default", "blocking");
        return f && b && runtime::deletion_requested(*f) && runtime::deletion_requested(*b);
      },
      20s));
  EXPECT_TRUE(test::StaysFalse([&] { return Gone("a"); }, 500ms));
  RemoveFinalizers("blocking");
  ASSERT_TRUE(test::Eventually([&] { return Gone("a") && Gone("blocking"); }, 20s))
      << "a must go once no blocking dependent is left, though 'free' is still held";
  EXPECT_TRUE(Exists("free"));
  RemoveFinalizers("free");
  ASSERT_TRUE(test::Eventually([&] { return Gone("free"); }, 20s));
}

TEST_F(LifecycleTest, OrphanKeepsDependentsAndRemovesTheReference) {
  Start();
  auto a = Node("a");
  auto b = Node("b", {a});
  Node("c", {b});
  ASSERT_TRUE(Delete("a", "Orphan").ok());
  ASSERT_TRUE(test::Eventually([&] { return Gone("a"); }, 20s));
  EXPECT_TRUE(OwnerUids("b").empty()) << "b still names its deleted owner";
  EXPECT_EQ(OwnerUids("c"), std::vector<std::string>{Uid(b)}) << "c is untouched";
  EXPECT_TRUE(test::StaysFalse([&] { return Gone("b") || Gone("c"); }, 500ms));
}

TEST_F(LifecycleTest, DiamondDependentGoesWithItsLastOwner) {
  Start();
  auto a = Node("a");
  auto b = Node("b");
  Node("c", {a, b});
  ASSERT_TRUE(Delete("a", "Background").ok());
  ASSERT_TRUE(test::Eventually([&] { return OwnerUids("c") == std::vector<std::string>{Uid(b)}; }, 20s))
      << "the reference to the deleted owner must go, the object stay";
  ASSERT_TRUE(Delete("b", "Background").ok());
  ASSERT_TRUE(test::Eventually([&] { return Gone("c"); }, 20s));
}

TEST_F(LifecycleTest, CyclesResolve) {
  Start();
  auto a = Node("a");
  auto b = Node("b", {a});
  // a is owned by b as well: a cycle.
  json::object patch{{"metadata",
                      {{"ownerReferences", json::array{json::object{{"apiVersion", "gc.setpoint.dev/v1"},
                                                                    {"kind", "Node"},
                                                                    {"name", "b"},
                                                                    {"uid", Uid(b)},
                                                                    {"blockOwnerDeletion", true}}}}}}};
  ASSERT_TRUE(api_->patch(kNodes, "default", "a", client::PatchType::kMerge, ToJson(patch)).has_value());
  ASSERT_TRUE(Delete("a", "Foreground").ok());
  ASSERT_TRUE(test::Eventually([&] { return Gone("a") && Gone("b"); }, 20s)) << "a foreground cycle hung";
  // And in the background.
  auto x = Node("x");
  auto y = Node("y", {x});
  patch["metadata"].as_object()["ownerReferences"].as_array()[0].as_object()["name"] = "y";
  patch["metadata"].as_object()["ownerReferences"].as_array()[0].as_object()["uid"] = Uid(y);
  ASSERT_TRUE(api_->patch(kNodes, "default", "x", client::PatchType::kMerge, ToJson(patch)).has_value());
  ASSERT_TRUE(Delete("x", "Background").ok());
  ASSERT_TRUE(test::Eventually([&] { return Gone("x") && Gone("y"); }, 20s));
}

TEST_F(LifecycleTest, OwnerRecreatedUnderTheSameNameDoesNotSaveOldDependents) {
  Start({.controllers = "*,-garbagecollector"});
  auto a = Node("a");
  Node("b", {a});
  ASSERT_TRUE(Delete("a", "Background").ok());
  auto a2 = Node("a");  // same name, new uid
  ASSERT_NE(Uid(a), Uid(a2));
  EXPECT_TRUE(Exists("b"));
  // Now the collector starts (as after a restart) and must look at the uid, not the name.
  auto cm = ControllerManager::Start(server_->url(), {.controllers = "garbagecollector", .leader_elect = false});
  ASSERT_TRUE(cm.has_value()) << cm.error().to_string();
  ASSERT_TRUE(test::Eventually([&] { return Gone("b"); }, 20s));
  EXPECT_TRUE(Exists("a")) << "the new owner is not touched";
  (*cm)->stop();
}

TEST_F(LifecycleTest, CollectorCatchesUpOnWhatHappenedWhileItWasDown) {
  Start({.controllers = "*,-garbagecollector"});
  auto a = Node("a");
  auto b = Node("b", {a});
  Node("c", {b});
  Node("keep", {b, Node("other")});
  ASSERT_TRUE(Delete("a", "Background").ok());
  EXPECT_TRUE(test::StaysFalse([&] { return Gone("b"); }, 300ms)) << "nothing collects while the collector is off";
  auto cm = ControllerManager::Start(server_->url(), {.controllers = "garbagecollector", .leader_elect = false});
  ASSERT_TRUE(cm.has_value()) << cm.error().to_string();
  ASSERT_TRUE(test::Eventually([&] { return Gone("b") && Gone("c"); }, 20s));
  ASSERT_TRUE(test::Eventually([&] { return OwnerUids("keep").size() == 1; }, 20s));
  EXPECT_TRUE(Exists("keep"));
  (*cm)->stop();
}

TEST_F(LifecycleTest, CrossNamespaceOwnerIsInvalidAndReported) {
  Start();
  ASSERT_TRUE(api_->create(kNamespacesGvr, "",
                           json::object{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "other"}}}})
                  .has_value());
  auto owner = Node("owner");  // in default
  auto dep = Node("dep", {owner}, true, "other");
  ASSERT_TRUE(test::Eventually([&] { return Gone("dep", "other"); }, 20s))
      << "an owner in another namespace does not own";
  EXPECT_TRUE(Exists("owner"));
  ASSERT_TRUE(test::Eventually(
      [&] {
        auto ev = api_->list(kEventsGvr, "other", {.field_selector = "reason=OwnerRefInvalidNamespace"});
        return ev && !ev->items.empty() && ev->items[0].at("involvedObject").at("name") == "dep" &&
               ev->items[0].at("type") == "Warning";
      },
      20s))
      << "no OwnerRefInvalidNamespace event";
}

TEST_F(LifecycleTest, TenThousandDependentsOfOneOwner) {
  Start();
  auto owner = Node("owner");
  constexpr int kDependents = 10000;
  {
    std::vector<std::jthread> writers;
    std::atomic<int> next{0}, failed{0};
    for (int t = 0; t < 8; ++t) {
      writers.emplace_back([&] {
        auto rest = server_->make_client();
        client::DynamicClient api(*rest);
        const auto& m = owner.at("metadata").as_object();
        json::object tmpl{{"apiVersion", "gc.setpoint.dev/v1"},
                          {"kind", "Node"},
                          {"metadata",
                           {{"namespace", "default"},
                            {"ownerReferences", json::array{json::object{{"apiVersion", "gc.setpoint.dev/v1"},
                                                                         {"kind", "Node"},
                                                                         {"name", m.at("name")},
                                                                         {"uid", m.at("uid")},
                                                                         {"controller", true},
                                                                         {"blockOwnerDeletion", true}}}}}}};
        for (int i; (i = next.fetch_add(1)) < kDependents;) {
          json::object o = tmpl;
          o["metadata"].as_object()["name"] = "d-" + std::to_string(i);
          if (!api.create(kNodes, "default", o)) failed.fetch_add(1);
        }
      });
    }
  }
  ASSERT_TRUE(test::Eventually([&] { return Metric("setpoint_gc_graph_objects") >= kDependents; }, 30s))
      << "the collector never saw the dependents";
  ASSERT_TRUE(Delete("owner", "Background").ok());
  // Progress shows in the metrics while it works.
  std::vector<double> samples;
  ASSERT_TRUE(test::Eventually(
      [&] {
        const double d = Metric("setpoint_gc_deleted_total");
        if (samples.empty() || samples.back() != d) samples.push_back(d);
        auto list = api_->list(kNodes, "default", {.limit = 1});
        return list && list->items.empty();
      },
      120s, 20ms))
      << "not every dependent was collected";
  EXPECT_GE(Metric("setpoint_gc_deleted_total"), kDependents);
  EXPECT_GE(samples.size(), 3u) << "no intermediate progress was visible in /metrics";
  // One owner, looked up live a handful of times (workers racing), then remembered as absent.
  EXPECT_LE(Metric("setpoint_gc_owner_lookups_total"), 16);
  ASSERT_TRUE(test::Eventually([&] { return Metric("setpoint_gc_graph_objects") < 100; }, 20s))
      << "the graph must shrink back: memory is bounded by what exists";
}

TEST_F(LifecycleTest, GraphHoldsOnlyOwnersAndDependents) {
  Start();
  for (int i = 0; i < 100; ++i) Node("plain-" + std::to_string(i));
  auto owner = Node("owner");
  Node("dep", {owner});
  // The dependent comes after the plain objects on the same watch, so once the collector has
  // looked its owner up, it has seen them all: none is in the graph.
  ASSERT_TRUE(test::Eventually(
      [&] { return Metric("setpoint_gc_owner_lookups_total") >= 1 && Metric("setpoint_gc_graph_objects") == 2; }, 20s))
      << "graph: " << Metric("setpoint_gc_graph_objects");
  EXPECT_TRUE(test::StaysFalse([&] { return Metric("setpoint_gc_graph_objects") != 2; }, 200ms));
  // The owner, looked up once, is tracked: its deletion reaches the dependent without a lookup.
  ASSERT_TRUE(Delete("owner", "Background").ok());
  ASSERT_TRUE(test::Eventually([&] { return Gone("dep"); }, 20s));
  EXPECT_EQ(Metric("setpoint_gc_owner_lookups_total"), 1);
  ASSERT_TRUE(test::Eventually([&] { return Metric("setpoint_gc_graph_objects") == 0; }, 20s))
      << "graph: " << Metric("setpoint_gc_graph_objects");
  EXPECT_TRUE(Exists("plain-0"));
}

TEST_F(LifecycleTest, NamespaceDeletionWaitsForFinalizersAndSaysWhy) {
  Start();
  ASSERT_TRUE(
      api_->create(kNamespacesGvr, "",
                   json::object{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "doomed"}}}})
          .has_value());
  ASSERT_TRUE(api_->create(kConfigMaps, "doomed",
                           json::object{{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "cm"}}}})
                  .has_value());
  Node("held", {}, true, "doomed", {"test.setpoint.dev/hold"});
  Node("plain", {}, true, "doomed");
  ASSERT_TRUE(api_->remove(kNamespacesGvr, "", "doomed").has_value());
  auto condition = [&](const std::string& type) -> json::object {
    auto ns = api_->get(kNamespacesGvr, "", "doomed");
    if (!ns) return {};
    const json::object* st = GetObject(*ns, "status");
    const json::array* cs = st ? GetArray(*st, "conditions") : nullptr;
    if (cs)
      for (const auto& c : *cs)
        if (GetStringOr(c.as_object(), "type", "") == type) return c.as_object();
    return {};
  };
  // Everything deletable goes; the held object stays, and the conditions say so.
  ASSERT_TRUE(test::Eventually(
      [&] {
        auto c = condition("NamespaceContentRemaining");
        return !c.empty() && c.at("status") == "True" && c.at("reason") == "SomeResourcesRemain" &&
               GetStringOr(c, "message", "") ==
                   "Some resources are remaining: nodes.gc.setpoint.dev has 1 resource instances";
      },
      20s))
      << ToJson(condition("NamespaceContentRemaining"));
  EXPECT_TRUE(Gone("plain", "doomed"));
  EXPECT_EQ(condition("NamespaceFinalizersRemaining").at("status"), "True");
  EXPECT_NE(
      std::string(condition("NamespaceFinalizersRemaining").at("message").as_string()).find("test.setpoint.dev/hold"),
      std::string::npos);
  auto ns = api_->get(kNamespacesGvr, "", "doomed");
  ASSERT_TRUE(ns.has_value());
  EXPECT_EQ(ns->at("status").at("phase"), "Terminating");
  EXPECT_FALSE(api_->get(kConfigMaps, "doomed", "cm").has_value());
  RemoveFinalizers("held", "doomed");
  ASSERT_TRUE(test::Eventually(
      [&] {
        auto r = api_->get(kNamespacesGvr, "", "doomed");
        return !r && r.error().code() == StatusCode::kNotFound;
      },
      20s));
}

TEST_F(LifecycleTest, CrdDeletionWaitsForItsResources) {
  Start();
  Node("held", {}, true, "default", {"test.setpoint.dev/hold"});
  Node("plain");
  ASSERT_TRUE(api_->remove(kCrds, "", "nodes.gc.setpoint.dev").has_value());
  ASSERT_TRUE(test::Eventually([&] { return Gone("plain"); }, 20s));
  auto crd = api_->get(kCrds, "", "nodes.gc.setpoint.dev");
  ASSERT_TRUE(crd.has_value()) << "the CRD went before its resources";
  bool terminating = false;
  for (const auto& c : crd->at("status").at("conditions").as_array())
    terminating = terminating || (c.at("type") == "Terminating" && c.at("status") == "True");
  EXPECT_TRUE(terminating);
  auto refused = api_->create(
      kNodes, "default",
      json::object{{"apiVersion", "gc.setpoint.dev/v1"}, {"kind", "Node"}, {"metadata", {{"name", "late"}}}});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), StatusCode::kMethodNotAllowed);
  RemoveFinalizers("held");
  ASSERT_TRUE(test::Eventually(
      [&] {
        auto r = api_->get(kCrds, "", "nodes.gc.setpoint.dev");
        return !r && r.error().code() == StatusCode::kNotFound;
      },
      20s));
}

TEST_F(LifecycleTest, EventsExpireAfterTheirTtl) {
  Start({.event_ttl = 3s});
  json::object ev{{"apiVersion", "v1"},
                  {"kind", "Event"},
                  {"metadata", {{"name", "e1"}, {"namespace", "default"}}},
                  {"involvedObject", {{"kind", "Node"}, {"name", "x"}, {"namespace", "default"}}},
                  {"reason", "Test"},
                  {"message", "expires"},
                  {"type", "Normal"}};
  ASSERT_TRUE(api_->create(kEventsGvr, "default", ev).has_value());
  EXPECT_TRUE(test::StaysFalse([&] { return !api_->get(kEventsGvr, "default", "e1").has_value(); }, 1s))
      << "deleted before its TTL";
  ASSERT_TRUE(test::Eventually(
      [&] {
        auto r = api_->get(kEventsGvr, "default", "e1");
        return !r && r.error().code() == StatusCode::kNotFound;
      },
      15s));
}

TEST(SelectControllersTest, FollowsKubeControllerManagerFlagRules) {
  EXPECT_EQ(SelectControllers("*").value(), KnownControllers());
  EXPECT_EQ(SelectControllers("*,-eventttl").value(),
            (std::vector<std::string>{"garbagecollector", "namespace", "customresourcecleanup", "scheduler",
                                      "agentlifecycle", "processset", "bankreconciliation"}));
  EXPECT_EQ(SelectControllers("namespace").value(), std::vector<std::string>{"namespace"});
  EXPECT_TRUE(SelectControllers("").value().empty());
  auto bad = SelectControllers("*,-nope");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("unknown controller \"nope\""), std::string::npos);
}

}  // namespace
}  // namespace setpoint::controllers
