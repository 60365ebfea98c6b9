// The reconciler against the real setpoint API server in this process (setpoint::testing), the way
// the tutorial's envtest suite drives its reconciler: one Reconcile at a time, then a look at what
// the server holds. The server runs no built-in controllers here, so the test plays the agent: it
// writes the memcached Processes' readiness itself. Test names cite the scenarios of
// seed-systems.md §4.7 (S4-xx) and §7.6 (S7-18).
#include <chrono>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "memcached.h"
#include "setpoint/api/yaml.h"
#include "setpoint/client/dynamic_client.h"
#include "setpoint/client/setpoint_kinds.h"
#include "setpoint/runtime/conditions.h"
#include "setpoint/runtime/manager.h"
#include "setpoint/runtime/object_helpers.h"
#include "setpoint/testing/eventually.h"
#include "setpoint/testing/test_server.h"
#include "setpoint/types/apiextensions_v1.h"
#include "setpoint/types/core_v1.h"

namespace {

namespace json = boost::json;
namespace runtime = setpoint::runtime;
using namespace std::chrono_literals;
const setpoint::client::GroupVersionResource& kMemcacheds = setpoint::types::GvrOf<memcached::Memcached>();
using setpoint::client::kProcesses;
using setpoint::client::kProcessSets;
using Kind = runtime::ReconcileResult::Kind;

const setpoint::client::GroupVersionResource& kCrds =
    setpoint::types::GvrOf<setpoint::apiextensionsv1::CustomResourceDefinition>();
const setpoint::client::GroupVersionResource& kEvents = setpoint::types::GvrOf<setpoint::corev1::Event>();

using setpoint::testing::Eventually;  // the test kit's: polls a condition until a deadline

json::object ReadYaml(const char* path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return setpoint::api::YamlToJson(ss.str())->as_object();
}

const json::object* Condition(const json::object& obj, std::string_view type) {
  const json::value* st = obj.if_contains("status");
  if (!st || !st->is_object() || !st->as_object().contains("conditions")) return nullptr;
  return runtime::find_condition(st->as_object().at("conditions").as_array(), type);
}

std::string Field(const json::object* o, std::string_view key) {
  if (!o || !o->contains(key)) return "<none>";
  const json::value& v = o->at(key);
  return v.is_string() ? std::string(v.as_string()) : json::serialize(v);
}

std::string ResourceVersion(const json::object& obj) {
  const json::value* meta = obj.if_contains("metadata");
  return meta && meta->is_object() ? Field(&meta->as_object(), "resourceVersion") : "";
}

class MemcachedTest : public ::testing::Test {
 protected:
  void SetUp() override { Start("memcached"); }

  void Start(std::string binary) {
    // A restart: the old parts go in the reverse order of their making.
    if (manager_) (void)manager_->stop();
    manager_.reset();
    api_.reset();
    rest_.reset();
    server_.reset();
    auto server = setpoint::testing::TestServer::Start({.controllers = ""});
    ASSERT_TRUE(server.has_value()) << server.error().to_string();
    server_ = std::move(*server);
    rest_ = server_->make_client();
    api_ = std::make_unique<setpoint::client::DynamicClient>(*rest_);
    ASSERT_TRUE(api_->create(kCrds, "", setpoint::types::Crd<memcached::Memcached>()).has_value());
    ASSERT_TRUE(Eventually([&] { return api_->list(kMemcacheds, "default").has_value(); }));
    auto manager = runtime::Manager::Create(*rest_, {.name = "memcached-test"});
    ASSERT_TRUE(manager.has_value()) << manager.error().to_string();
    manager_ = std::move(*manager);
    ASSERT_TRUE(manager_->start().ok());
    binary_ = std::move(binary);
  }

  void TearDown() override {
    if (manager_) (void)manager_->stop();
  }

  runtime::ReconcileResult Reconcile(const std::string& name = "m") {
    const runtime::Context ctx{{}, runtime::Client(manager_->client()), &manager_->recorder()};
    return memcached::Reconcile(ctx, {"default", name}, binary_);
  }

  void CreateMemcached(int size, const std::string& name = "m") {
    json::object cr{{"apiVersion", "cache.example.com/v1alpha1"},
                    {"kind", "Memcached"},
                    {"metadata", {{"name", name}, {"namespace", "default"}}},
                    {"spec", {{"size", size}, {"port", 21000}}}};
    auto created = api_->create(kMemcacheds, "default", cr);
    ASSERT_TRUE(created.has_value()) << created.error().to_string();
  }

  json::object Get(const setpoint::client::GroupVersionResource& gvr, const std::string& name = "m") {
    auto got = api_->get(gvr, "default", name);
    return got ? *got : json::object();
  }

  // Reconciles until the result is Done (bounded), as the controller's queue would.
  runtime::ReconcileResult Settle(const std::string& name = "m") {
    runtime::ReconcileResult r = runtime::ReconcileResult::Done();
    for (int i = 0; i < 10; ++i) {
      r = Reconcile(name);
      if (r.kind() == Kind::kDone || r.is_error()) break;
    }
    return r;
  }

  // What the agent would do: a Process of the set, reported ready (or not).
  void AgentRuns(const std::string& process, bool ready, const std::string& instance = "m") {
    json::object p{{"apiVersion", "setpoint.dev/v1alpha1"},
                   {"kind", "Process"},
                   {"metadata",
                    {{"name", process},
                     {"namespace", "default"},
                     {"labels",
                      {{"app.kubernetes.io/name", "memcached"},
                       {"app.kubernetes.io/instance", instance},
                       {"app.kubernetes.io/managed-by", "MemcachedController"}}}}},
                   {"spec", {{"command", json::array{"memcached"}}}}};
    auto got = api_->get(kProcesses, "default", process);
    if (!got) {
      auto created = api_->create(kProcesses, "default", p);
      ASSERT_TRUE(created.has_value()) << created.error().to_string();
      got = std::move(created);
    }
    (*got)["status"] = json::object{{"phase", ready ? "Running" : "Starting"}, {"ready", ready}};
    auto written = api_->update_status(kProcesses, "default", *got);
    ASSERT_TRUE(written.has_value()) << written.error().to_string();
  }

  std::unique_ptr<setpoint::testing::TestServer> server_;
  std::unique_ptr<setpoint::client::RestClient> rest_;
  std::unique_ptr<setpoint::client::DynamicClient> api_;
  std::unique_ptr<runtime::Manager> manager_;
  std::string binary_;
};

TEST(MemcachedCrdTest, TheCheckedInCrdIsTheOneGeneratedFromTheTypes) {
  // Regenerate with: memcached-operator --crd > config/crd.yaml
  EXPECT_EQ(ReadYaml(MEMCACHED_CRD), setpoint::types::Crd<memcached::Memcached>());
}

TEST_F(MemcachedTest, S4_01_FirstReconcileSaysStartingAndAddsTheFinalizer) {
  CreateMemcached(1);
  Reconcile();
  json::object cr = Get(kMemcacheds);
  const json::object* available = Condition(cr, "Available");
  ASSERT_NE(available, nullptr) << json::serialize(cr);
  EXPECT_EQ(Field(available, "reason"), "Reconciling");
  // The first pass goes on to create the ProcessSet, so Available is still Unknown.
  EXPECT_EQ(Field(available, "status"), "Unknown");
  const auto finalizers = runtime::finalizers(cr);
  EXPECT_EQ(finalizers, std::vector<std::string>{"cache.example.com/finalizer"});
}

TEST_F(MemcachedTest, S4_02_03_CreatesAnOwnedProcessSetAndLooksAgainInAMinute) {
  CreateMemcached(2);
  auto r = Reconcile();
  EXPECT_EQ(r.kind(), Kind::kRequeueAfter);
  EXPECT_EQ(r.requeue_after(), std::chrono::minutes(1));
  json::object set = Get(kProcessSets);
  ASSERT_FALSE(set.empty());
  const json::object& spec = set.at("spec").as_object();
  EXPECT_EQ(spec.at("replicas").as_int64(), 2);
  const auto* owner = runtime::get_controller_of(set);
  ASSERT_NE(owner, nullptr);
  EXPECT_EQ(Field(owner, "kind"), "Memcached");
  EXPECT_EQ(Field(owner, "name"), "m");
  EXPECT_EQ(Field(owner, "blockOwnerDeletion"), "true");
  const json::object& labels = set.at("metadata").as_object().at("labels").as_object();
  EXPECT_EQ(labels.at("app.kubernetes.io/name"), "memcached");
  EXPECT_EQ(labels.at("app.kubernetes.io/managed-by"), "MemcachedController");
  const json::object& tpl = spec.at("template").as_object().at("spec").as_object();
  const json::object& port = tpl.at("ports").as_array()[0].as_object();
  EXPECT_EQ(port.at("port").as_int64(), 21000);
  EXPECT_EQ(port.at("indexed"), true) << "server i listens on port + i";
  EXPECT_EQ(tpl.at("command").as_array()[0], "memcached");
}

TEST_F(MemcachedTest, S4_04_16_AvailableOnceEveryServerIsReadyWithTheirNames) {
  CreateMemcached(2);
  Settle();
  EXPECT_EQ(Field(Condition(Get(kMemcacheds), "Available"), "status"), "Unknown");
  AgentRuns("m-b", true);
  AgentRuns("m-a", false);
  auto nodes = [&] {
    json::object cr = Get(kMemcacheds);
    const json::value* st = cr.if_contains("status");
    return st && st->as_object().contains("nodes") ? json::serialize(st->as_object().at("nodes")) : std::string();
  };
  ASSERT_TRUE(Eventually([&] {
    Settle();
    return nodes() == R"(["m-b"])";
  })) << nodes();
  EXPECT_EQ(Field(Condition(Get(kMemcacheds), "Available"), "status"), "Unknown");
  AgentRuns("m-a", true);
  ASSERT_TRUE(Eventually([&] {
    Settle();
    return nodes() == R"(["m-a","m-b"])";
  })) << nodes();
  json::object cr = Get(kMemcacheds);
  const json::object* available = Condition(cr, "Available");
  EXPECT_EQ(Field(available, "status"), "True");
  EXPECT_EQ(Field(available, "reason"), "Reconciling");
  EXPECT_EQ(Field(available, "message"), "ProcessSet for custom resource (m) with 2 replicas created successfully");
  EXPECT_EQ(Field(available, "observedGeneration"), "1");
  const auto& conditions = cr.at("status").as_object().at("conditions").as_array();
  EXPECT_EQ(std::count_if(conditions.begin(), conditions.end(),
                          [](const json::value& c) { return c.as_object().at("type") == "Available"; }),
            1);
  EXPECT_EQ(json::serialize(cr.at("status").as_object().at("nodes")), R"(["m-a","m-b"])");
  // Nothing changed: another pass writes nothing (S7-10).
  const std::string rv = ResourceVersion(cr);
  Settle();
  EXPECT_EQ(ResourceVersion(Get(kMemcacheds)), rv);
}

TEST_F(MemcachedTest, S4_05_AResizeUpdatesTheProcessSetAndRequeues) {
  CreateMemcached(1);
  Settle();
  json::object cr = Get(kMemcacheds);
  cr["spec"].as_object()["size"] = 3;
  ASSERT_TRUE(api_->update(kMemcacheds, "default", cr).has_value());
  ASSERT_TRUE(Eventually([&] {
    auto r = Reconcile();
    return r.kind() == Kind::kRequeueAfter && r.requeue_after() == std::chrono::milliseconds(0);
  }));
  EXPECT_EQ(Get(kProcessSets).at("spec").as_object().at("replicas").as_int64(), 3);
  for (const char* p : {"m-0", "m-1", "m-2"}) AgentRuns(p, true);
  // The manager's cache sees the test's writes a moment later: reconcile until it has.
  ASSERT_TRUE(Eventually([&] {
    Settle();
    return Field(Condition(Get(kMemcacheds), "Available"), "message") ==
           "ProcessSet for custom resource (m) with 3 replicas created successfully";
  })) << Field(Condition(Get(kMemcacheds), "Available"), "message");
  EXPECT_EQ(Field(Condition(Get(kMemcacheds), "Available"), "observedGeneration"), "2");
}

TEST_F(MemcachedTest, S4_06_AHandMadeScaleIsUndone) {
  CreateMemcached(1);
  Settle();
  json::object set = Get(kProcessSets);
  set["spec"].as_object()["replicas"] = 4;
  ASSERT_TRUE(api_->update(kProcessSets, "default", set).has_value());
  ASSERT_TRUE(Eventually([&] {
    Reconcile();
    return Get(kProcessSets).at("spec").as_object().at("replicas").as_int64() == 1;
  }));
}

TEST_F(MemcachedTest, S4_07_SizesOutsideOneToFiveAreRejectedByTheApi) {
  for (int size : {0, 6}) {
    json::object cr{{"apiVersion", "cache.example.com/v1alpha1"},
                    {"kind", "Memcached"},
                    {"metadata", {{"name", "bad"}, {"namespace", "default"}}},
                    {"spec", {{"size", size}}}};
    auto created = api_->create(kMemcacheds, "default", cr);
    ASSERT_FALSE(created.has_value()) << size;
    EXPECT_EQ(created.error().code(), setpoint::StatusCode::kInvalid) << created.error().to_string();
    EXPECT_NE(created.error().message().find("spec.size"), std::string::npos) << created.error().message();
  }
}

TEST_F(MemcachedTest, S4_08_NoBinaryIsReportedAndRetried) {
  Start("");
  CreateMemcached(1);
  auto r = Reconcile();
  EXPECT_EQ(r.kind(), Kind::kRetry);
  const json::object cr_now = Get(kMemcacheds);
  const json::object* available = Condition(cr_now, "Available");
  EXPECT_EQ(Field(available, "status"), "False");
  EXPECT_EQ(Field(available, "reason"), "Reconciling");
  EXPECT_EQ(Field(available, "message").rfind("Failed to create ProcessSet for the custom resource (m): (", 0), 0u)
      << Field(available, "message");
  EXPECT_TRUE(Get(kProcessSets).empty());
}

TEST_F(MemcachedTest, S4_09_AFailedResizeSaysResizing) {
  CreateMemcached(1);
  Settle();
  json::object cr = Get(kMemcacheds);
  cr["spec"].as_object()["size"] = 2;
  ASSERT_TRUE(api_->update(kMemcacheds, "default", cr).has_value());
  server_->conflict_next_updates(1, "processsets");
  runtime::ReconcileResult r = runtime::ReconcileResult::Done();
  ASSERT_TRUE(Eventually([&] {
    r = Reconcile();
    return r.kind() == Kind::kRetry;
  }));
  EXPECT_EQ(r.error().code(), setpoint::StatusCode::kConflict);
  const json::object cr_now = Get(kMemcacheds);
  const json::object* available = Condition(cr_now, "Available");
  EXPECT_EQ(Field(available, "status"), "False");
  EXPECT_EQ(Field(available, "reason"), "Resizing");
  EXPECT_EQ(Field(available, "message").rfind("Failed to update the size for the custom resource (m): (", 0), 0u);
  // The next pass succeeds.
  ASSERT_TRUE(Eventually([&] { return Reconcile().kind() != Kind::kRetry; }));
  EXPECT_EQ(Get(kProcessSets).at("spec").as_object().at("replicas").as_int64(), 2);
}

TEST_F(MemcachedTest, S4_10_DeletionRunsTheFinalizerSequence) {
  CreateMemcached(1);
  Settle();
  auto watch = api_->watch(kMemcacheds, "default", {.resource_version = ResourceVersion(Get(kMemcacheds))});
  ASSERT_TRUE(watch.has_value());
  ASSERT_TRUE(api_->remove(kMemcacheds, "default", "m").has_value());
  ASSERT_FALSE(Get(kMemcacheds).empty()) << "the finalizer holds it";
  ASSERT_TRUE(Eventually([&] {
    Reconcile();
    return Get(kMemcacheds).empty();
  }));
  // What the watch saw: Degraded Unknown, then True, both Finalizing, then the deletion.
  std::vector<std::string> degraded;
  bool deleted = false;
  while (!deleted) {
    auto e = (*watch)->next(5s);
    ASSERT_TRUE(e.has_value() && e->has_value()) << "watch ended early";
    const auto& ev = **e;
    if (ev.type == "DELETED") deleted = true;
    if (const json::object* d = Condition(ev.object.as_object(), "Degraded")) {
      std::string step = Field(d, "status") + "/" + Field(d, "reason");
      if (degraded.empty() || degraded.back() != step) degraded.push_back(step);
    }
  }
  EXPECT_EQ(degraded, (std::vector<std::string>{"Unknown/Finalizing", "True/Finalizing"}));
  ASSERT_TRUE(Eventually([&] {
    auto events = api_->list(kEvents, "default");
    if (!events) return false;
    for (const auto& e : events->items)
      if (Field(&e, "reason") == "Deleting" && Field(&e, "type") == "Warning" &&
          Field(&e, "message") == "Custom Resource m is being deleted from the namespace default")
        return true;
    return false;
  }));
}

TEST_F(MemcachedTest, S4_11_AnAbsentMemcachedIsIgnored) {
  auto r = Reconcile("never-made");
  EXPECT_EQ(r.kind(), Kind::kDone);
  EXPECT_FALSE(r.is_error());
}

TEST_F(MemcachedTest, S4_17_NodesFollowReplacedProcesses) {
  CreateMemcached(1);
  Settle();
  AgentRuns("m-old", true);
  ASSERT_TRUE(Eventually([&] {
    Settle();
    return json::serialize(Get(kMemcacheds).at("status").as_object().at("nodes")) == R"(["m-old"])";
  }));
  ASSERT_TRUE(api_->remove(kProcesses, "default", "m-old").has_value());
  AgentRuns("m-new", true);
  ASSERT_TRUE(Eventually([&] {
    Settle();
    return json::serialize(Get(kMemcacheds).at("status").as_object().at("nodes")) == R"(["m-new"])";
  }));
}

TEST_F(MemcachedTest, S7_18_TheApiRejectsMalformedConditions) {
  CreateMemcached(1);
  Settle();
  json::object cr = Get(kMemcacheds);
  json::object& bad = cr["status"].as_object()["conditions"].as_array()[0].as_object();
  bad["reason"] = "Bad Reason!";
  auto written = api_->update_status(kMemcacheds, "default", cr);
  ASSERT_FALSE(written.has_value());
  EXPECT_EQ(written.error().code(), setpoint::StatusCode::kInvalid);
  bad["reason"] = "Fine";
  bad["status"] = "Maybe";
  written = api_->update_status(kMemcacheds, "default", cr);
  ASSERT_FALSE(written.has_value());
  EXPECT_EQ(written.error().code(), setpoint::StatusCode::kInvalid);
}

}  // namespace
