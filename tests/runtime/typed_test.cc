// The typed SDK: the test kit's FakeClient keeps the API server's write rules; runtime::Client
// reads and writes typed objects through any ObjectClient; a controller built with For<T>() and a
// ReconcileFunc runs against the real server and sees its stop token requested when it stops.
#include <atomic>

#include <gtest/gtest.h>

#include "setpoint/runtime/env.h"
#include "setpoint/runtime/manager.h"
#include "setpoint/testing/eventually.h"
#include "setpoint/testing/fake_client.h"
#include "setpoint/testing/test_server.h"
#include "setpoint/types/apiextensions_v1.h"
#include "setpoint/types/core_v1.h"
#include "setpoint/types/crd.h"
#include "setpoint/types/setpoint_v1alpha1.h"

namespace setpoint::runtime {
namespace {

using corev1::ConfigMap;
using setpointv1alpha1::ProcessSet;
using testing::Eventually;
using namespace std::chrono_literals;

ConfigMap MakeConfigMap(std::string name, std::map<std::string, std::string> data = {}) {
  ConfigMap cm;
  cm.metadata = {.name = std::move(name), .namespace_ = "default"};
  cm.data = std::move(data);
  return cm;
}

TEST(FakeClientTest, CreateFillsWhatTheServerOwnsAndRefusesDuplicates) {
  testing::FakeClient fake;
  Client c(fake);
  auto created = c.create(MakeConfigMap("a", {{"k", "v"}}));
  ASSERT_TRUE(created.has_value()) << created.error().to_string();
  EXPECT_FALSE(created->metadata.uid.empty());
  EXPECT_FALSE(created->metadata.resourceVersion.empty());
  EXPECT_EQ(created->metadata.generation, 1);
  EXPECT_FALSE(created->metadata.creationTimestamp.empty());
  EXPECT_EQ(c.create(MakeConfigMap("a")).error().code(), StatusCode::kAlreadyExists);
  ConfigMap no_ns;
  no_ns.metadata.name = "b";
  EXPECT_EQ(c.create(no_ns).error().code(), StatusCode::kBadRequest);
  ConfigMap generated;
  generated.metadata = {.generateName = "g-", .namespace_ = "default"};
  auto g = c.create(generated);
  ASSERT_TRUE(g.has_value());
  EXPECT_TRUE(g->metadata.name.starts_with("g-"));
}

TEST(FakeClientTest, UpdatesAreConditionalAndStatusIsItsOwnSubresource) {
  testing::FakeClient fake;
  Client c(fake);
  ProcessSet set;
  set.metadata = {.name = "s", .namespace_ = "default"};
  set.status.replicas = 9;  // ignored by create
  auto v1 = c.create(set);
  ASSERT_TRUE(v1.has_value());
  EXPECT_EQ(v1->status.replicas, 0);
  ProcessSet v2 = *v1;
  v2.spec.replicas = 3;
  v2.status.replicas = 7;  // ignored by update
  auto u = c.update(v2);
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->metadata.generation, 2);
  EXPECT_EQ(u->status.replicas, 0);
  EXPECT_EQ(c.update(v2).error().code(), StatusCode::kConflict);  // v2's resourceVersion is stale
  ProcessSet s = *u;
  s.status.replicas = 3;
  s.spec.replicas = 100;  // ignored by update_status
  auto st = c.update_status(s);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->status.replicas, 3);
  EXPECT_EQ(st->spec.replicas, 3);
  EXPECT_EQ(st->metadata.generation, 2);  // status writes do not bump it
}

TEST(FakeClientTest, DeleteWaitsForFinalizersAndPatchesApply) {
  testing::FakeClient fake;
  Client c(fake);
  ConfigMap cm = MakeConfigMap("f");
  cm.metadata.finalizers = {"example.com/hold"};
  auto created = c.create(cm);
  ASSERT_TRUE(created.has_value());
  ASSERT_TRUE(c.remove(*created).ok());
  auto held = c.get<ConfigMap>("default", "f");
  ASSERT_TRUE(held.has_value());
  EXPECT_TRUE(held->metadata.being_deleted());
  auto patched = c.patch<ConfigMap>("default", "f", client::PatchType::kMerge, R"({"data":{"p":"1"}})");
  ASSERT_TRUE(patched.has_value()) << patched.error().to_string();
  EXPECT_EQ(patched->data.at("p"), "1");
  patched->metadata.remove_finalizer("example.com/hold");
  ASSERT_TRUE(c.update(*patched).has_value());
  EXPECT_EQ(c.get<ConfigMap>("default", "f").error().code(), StatusCode::kNotFound);
}

TEST(FakeClientTest, ListsBySelectorInNameOrderAndFailsOnRequest) {
  testing::FakeClient fake;
  Client c(fake);
  for (std::string n : {"c", "a", "b"}) {
    ConfigMap cm = MakeConfigMap(n);
    cm.metadata.labels = {{"app", n == "b" ? "other" : "web"}};
    fake.add(cm);
  }
  auto web = c.list<ConfigMap>("default", {{"app", "web"}});
  ASSERT_TRUE(web.has_value());
  ASSERT_EQ(web->size(), 2u);
  EXPECT_EQ((*web)[0].metadata.name, "a");
  EXPECT_EQ((*web)[1].metadata.name, "c");
  EXPECT_EQ(c.list<ConfigMap>("elsewhere")->size(), 0u);
  fake.fail_when(
      [](std::string_view verb, auto&&...) { return verb == "list" ? Status::Unavailable("down") : Status::Ok(); });
  EXPECT_EQ(c.list<ConfigMap>("default").error().code(), StatusCode::kUnavailable);
}

// Without a cache the two indexes every cache keeps still answer, from a list.
TEST(FakeClientTest, ViewsByOwnerAndNamespaceIndex) {
  testing::FakeClient fake;
  Client c(fake);
  ConfigMap owned = MakeConfigMap("owned");
  owned.metadata.ownerReferences = {{.apiVersion = "v1", .kind = "Thing", .name = "t", .uid = "u-1"}};
  fake.add(owned);
  fake.add(MakeConfigMap("free"));
  auto by_owner = c.view_index<ConfigMap>(kOwnerUidIndex, "u-1");
  ASSERT_TRUE(by_owner.has_value()) << by_owner.error().to_string();
  ASSERT_EQ(by_owner->size(), 1u);
  EXPECT_EQ((*by_owner)[0]->metadata.name, "owned");
  auto by_ns = c.view_index<ConfigMap>(kNamespaceIndex, "default");
  ASSERT_TRUE(by_ns.has_value());
  EXPECT_EQ(by_ns->size(), 2u);
  auto other = c.view_index<ConfigMap>("by-colour", "red");
  ASSERT_FALSE(other.has_value());
  EXPECT_EQ(other.error().code(), StatusCode::kInvalid);
}

TEST(ClientTest, SetConditionWritesOnlyWhenSomethingChanged) {
  testing::FakeClient fake;
  Client c(fake);
  ProcessSet set;
  set.metadata = {.name = "s", .namespace_ = "default"};
  auto created = c.create(set);
  ASSERT_TRUE(created.has_value());
  fake.clear_writes();
  auto once = c.set_condition(*created, "Ready", "False", "Starting", "");
  ASSERT_TRUE(once.has_value());
  ASSERT_EQ(once->status.conditions.size(), 1u);
  EXPECT_EQ(once->status.conditions[0].observedGeneration, 1);
  auto twice = c.set_condition(*once, "Ready", "False", "Starting", "");
  ASSERT_TRUE(twice.has_value());
  EXPECT_EQ(fake.writes().size(), 1u);
}

TEST(CrdTest, GeneratedFromTypesServesAndValidates) {
  auto server = testing::TestServer::Start({.controllers = ""});
  ASSERT_TRUE(server.has_value()) << server.error().to_string();
  auto rest = (*server)->make_client();
  client::DynamicClient api(*rest);
  // ProcessSet's schema, generated from its type, under a kind of its own: accepted and enforced.
  constexpr types::Kind kWidget{"typed.setpoint.dev", "v1", "Widget", "widgets"};
  boost::json::object crd = types::MakeCrd(kWidget, types::SchemaOf<ProcessSet>(), {.short_names = {"wd"}});
  auto created = api.create(types::GvrOf<apiextensionsv1::CustomResourceDefinition>(), "", crd);
  ASSERT_TRUE(created.has_value()) << created.error().to_string();
  const client::GroupVersionResource widgets{"typed.setpoint.dev", "v1", "widgets", true, "Widget"};
  ASSERT_TRUE(Eventually([&] { return api.list(widgets, "default").has_value(); }));
  boost::json::object bad{{"apiVersion", "typed.setpoint.dev/v1"},
                          {"kind", "Widget"},
                          {"metadata", {{"name", "w"}}},
                          {"spec", {{"replicas", "three"}}}};
  auto refused = api.create(widgets, "default", bad);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), StatusCode::kInvalid);
  bad["spec"] = boost::json::object{{"replicas", 3}};
  EXPECT_TRUE(api.create(widgets, "default", bad).has_value());
}

TEST(TypedControllerTest, ReconcilesTypedObjectsAndSeesStopRequested) {
  auto server = testing::TestServer::Start({.controllers = ""});
  ASSERT_TRUE(server.has_value()) << server.error().to_string();
  auto rest = (*server)->make_client();
  auto manager = Manager::Create(*rest, {.name = "typed-test"});
  ASSERT_TRUE(manager.has_value());
  Manager& m = **manager;
  std::atomic<bool> blocking{false}, stopped_seen{false};
  auto c = m.controller("typed").For<ConfigMap>().Complete([&](const Context& ctx, const Request& req) {
    auto cm = ctx.client.get<ConfigMap>(req);
    if (!cm) return ReconcileResult::Done();
    if (cm->data.count("block")) {  // waits for the controller to stop
      blocking = true;
      std::mutex mu;
      std::condition_variable_any cv;
      std::unique_lock lock(mu);
      cv.wait_for(lock, ctx.stop, 20s, [] { return false; });
      stopped_seen = ctx.stop.stop_requested();
      return ReconcileResult::Done();
    }
    if (cm->metadata.annotations["seen"] == cm->data["x"]) return ReconcileResult::Done();
    cm->metadata.annotations["seen"] = cm->data["x"];
    auto written = ctx.client.update(*cm);
    return written ? ReconcileResult::Done() : ReconcileResult::Retry(written.error());
  });
  ASSERT_TRUE(c.has_value()) << c.error().to_string();
  ASSERT_TRUE(m.add(std::move(*c)).ok());
  ASSERT_TRUE(m.start().ok());
  client::DynamicClient api(*rest);
  DirectClient direct(api);
  Client typed(direct);
  ASSERT_TRUE(typed.create(MakeConfigMap("one", {{"x", "42"}})).has_value());
  EXPECT_TRUE(Eventually([&] {
    auto cm = typed.get<ConfigMap>("default", "one");
    return cm && cm->metadata.annotations.count("seen") && cm->metadata.annotations.at("seen") == "42";
  }));
  ASSERT_TRUE(typed.create(MakeConfigMap("two", {{"block", ""}})).has_value());
  ASSERT_TRUE(Eventually([&] { return blocking.load(); }));
  EXPECT_TRUE(m.stop().ok());
  EXPECT_TRUE(stopped_seen.load());  // the reconcile's wait ended by the stop, not its 20 s
}

// Through the manager's cache a view is one shared object per version: read twice, the same
// pointer; after a write, the new version (read-your-writes), decoded afresh.
TEST(ClientTest, ACachedViewIsSharedUntilTheObjectChanges) {
  auto server = testing::TestServer::Start({.controllers = ""});
  ASSERT_TRUE(server.has_value()) << server.error().to_string();
  auto rest = (*server)->make_client();
  auto manager = Manager::Create(*rest, {.name = "view-test"});
  ASSERT_TRUE(manager.has_value());
  ASSERT_TRUE((*manager)->start().ok());
  const Client cached((*manager)->client());
  ASSERT_TRUE(cached.create(MakeConfigMap("viewed", {{"k", "1"}})).has_value());
  ASSERT_TRUE(cached.create(MakeConfigMap("other", {{"k", "2"}})).has_value());

  auto first = cached.view<ConfigMap>("default", "viewed");
  ASSERT_TRUE(first.has_value()) << first.error().to_string();
  EXPECT_EQ((*first)->data.at("k"), "1");
  auto again = cached.view<ConfigMap>("default", "viewed");
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->get(), first->get());

  ConfigMap next = **first;  // a copy to write keeps what the type does not model
  next.data["k"] = "3";
  ASSERT_TRUE(cached.update(next).has_value());
  auto after = cached.view<ConfigMap>("default", "viewed");
  ASSERT_TRUE(after.has_value());
  EXPECT_NE(after->get(), first->get());
  EXPECT_EQ((*after)->data.at("k"), "3");
  EXPECT_EQ((*first)->data.at("k"), "1") << "a view handed out never changes";

  auto all = cached.view_list<ConfigMap>("default");
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0]->metadata.name, "other");
  EXPECT_EQ((*all)[1].get(), after->get());
  auto in_ns = cached.view_index<ConfigMap>(kNamespaceIndex, "default");
  ASSERT_TRUE(in_ns.has_value());
  ASSERT_EQ(in_ns->size(), 2u);
  EXPECT_EQ((*in_ns)[1].get(), after->get()) << "the index hands out the cached view too";
  auto gone = cached.view<ConfigMap>("default", "absent");
  ASSERT_FALSE(gone.has_value());
  EXPECT_EQ(gone.error().code(), StatusCode::kNotFound);
  EXPECT_TRUE((*manager)->stop().ok());
}

TEST(EnvTest, AFakeEnvsSleepEndsWhenTimeIsAdvancedPastIt) {
  auto env = std::make_shared<FakeEnv>();
  std::atomic<bool> woke{false};
  std::jthread sleeper([&](std::stop_token) { woke = env->sleep_for(std::chrono::minutes(5)); });
  ASSERT_TRUE(testing::Eventually([&] { return env->waiters() == 1; }));  // its deadline is set
  env->advance(std::chrono::minutes(4));
  EXPECT_TRUE(testing::StaysFalse([&] { return woke.load(); }, 100ms)) << "woke before its deadline";
  env->advance(std::chrono::minutes(1));
  EXPECT_TRUE(testing::Eventually([&] { return woke.load(); }));
  const double r = env->random();
  EXPECT_TRUE(r >= 0.0 && r < 1.0);
  EXPECT_EQ(FakeEnv(7).random(), FakeEnv(7).random());  // seeded: the same run every time
}

TEST(EnvTest, AStoppedSleepReturnsFalse) {
  std::stop_source stop;
  std::atomic<int> result{-1};
  std::jthread sleeper(
      [&](std::stop_token) { result = DefaultEnv()->sleep_for(std::chrono::hours(1), stop.get_token()); });
  stop.request_stop();
  EXPECT_TRUE(testing::Eventually([&] { return result.load() == 0; }));
}

// One FakeEnv drives the manager's timings: a reconcile that asks to be run again in an hour runs
// again when the test advances the Env by an hour, not before, and with no real wait.
TEST(EnvTest, TheManagersRequeueAfterRunsOnItsEnvsTime) {
  auto server = testing::TestServer::Start({.controllers = ""});
  ASSERT_TRUE(server.has_value()) << server.error().to_string();
  auto rest = (*server)->make_client();
  auto env = std::make_shared<FakeEnv>();
  auto manager = Manager::Create(*rest, {.name = "env-test", .env = env});
  ASSERT_TRUE(manager.has_value());
  std::atomic<int> runs{0};
  auto built = (*manager)->controller("env").For<ConfigMap>().Complete([&](const Context&, const Request& r) {
    if (r.name != "polled") return ReconcileResult::Done();
    ++runs;
    return ReconcileResult::RequeueAfter(std::chrono::hours(1));
  });
  ASSERT_TRUE(built.has_value()) << built.error().to_string();
  Controller* controller = built->get();
  ASSERT_TRUE((*manager)->add(std::move(*built)).ok());
  ASSERT_TRUE((*manager)->start().ok());
  client::DynamicClient api(*rest);
  DirectClient direct(api);
  ASSERT_TRUE(Client(direct).create(MakeConfigMap("polled")).has_value());
  // Once it waits in the queue, its hour is counted from the Env's now.
  ASSERT_TRUE(testing::Eventually([&] { return runs.load() == 1 && controller->queue().num_waiting() == 1; }));
  env->advance(std::chrono::minutes(59));
  EXPECT_TRUE(testing::StaysFalse([&] { return runs.load() > 1; }, 200ms)) << "ran again before its hour";
  env->advance(std::chrono::minutes(1));
  EXPECT_TRUE(testing::Eventually([&] { return runs.load() == 2; }));
  EXPECT_TRUE((*manager)->stop().ok());
}

}  // namespace
}  // namespace setpoint::runtime
