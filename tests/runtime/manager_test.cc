// The Manager against the real server, through the test kit (setpoint::testing::TestServer):
// a Scale controller that owns Child objects with generated names — the case where a stale cache
// makes a naive controller create duplicates — converges under cache lag, injected conflicts,
// dropped and expired watches and a server restart, and never creates a child it does not need.
// Also: shared informers, metadata-only caches, the event recorder's aggregation, the health and
// metrics endpoints, and leader election between two managers. Every wait is a deadline on
// observable state.
#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "setpoint/common/json.h"
#include "setpoint/runtime/manager.h"
#include "setpoint/runtime/object_helpers.h"
#include "setpoint/testing/test_server.h"
#include "setpoint/types/apiextensions_v1.h"
#include "testing/crds.h"
#include "testing/eventually.h"

namespace setpoint::runtime {
namespace {

namespace json = boost::json;
using client::GroupVersionResource;
using namespace std::chrono_literals;

const GroupVersionResource& kCrds = setpoint::types::GvrOf<setpoint::apiextensionsv1::CustomResourceDefinition>();
const GroupVersionResource kScales{"mgr.setpoint.dev", "v1", "scales", true, "Scale"};
const GroupVersionResource kChildren{"mgr.setpoint.dev", "v1", "children", true, "Child"};

std::int64_t Replicas(const json::object& o) {
  const auto* spec = GetObject(o, "spec");
  return spec ? GetInt(*spec, "replicas").value_or(0) : 0;
}

// Keeps spec.replicas Children per Scale, one create per reconcile (named by generateName, so a
// create the cache has not seen yet is invisible to the next reconcile), requeueing quickly until
// done, and writes status.readyReplicas. Counts every create it makes.
class ScaleReconciler : public Reconciler {
 public:
  enum class Reads { kCachedClient, kRawCache };
  ScaleReconciler(Manager& m, Reads reads) : m_(m), reads_(reads) {
    if (reads_ == Reads::kRawCache) {
      scales_ = m_.informers().get(kScales);
      children_ = m_.informers().get(kChildren);
    }
  }

  ReconcileResult reconcile(const Request& req) override {
    ObjectPtr scale;
    std::vector<ObjectPtr> children;
    if (reads_ == Reads::kCachedClient) {
      auto got = m_.client().get(kScales, req.ns, req.name);
      if (!got)
        return got.error().code() == StatusCode::kNotFound ? ReconcileResult::Done()
                                                           : ReconcileResult::Retry(got.error());
      scale = *got;
    } else {
      scale = scales_->cache().get(req.ns, req.name);
      if (!scale) return ReconcileResult::Done();
    }
    const std::string uid(scale->at("metadata").at("uid").as_string());
    if (reads_ == Reads::kCachedClient) {
      auto listed = m_.client().by_index(kChildren, kOwnerUidIndex, uid);
      if (!listed) return ReconcileResult::Retry(listed.error());
      children = std::move(*listed);
    } else {
      children = children_->cache().by_index(kOwnerUidIndex, uid);
    }
    const auto want = Replicas(*scale);
    const auto have = static_cast<std::int64_t>(children.size());
    if (have < want) {
      json::object child{{"apiVersion", "mgr.setpoint.dev/v1"},
                         {"kind", "Child"},
                         {"metadata", {{"generateName", req.name + "-"}, {"namespace", req.ns}}}};
      if (Status s = set_controller_reference(*scale, child); !s.ok()) return ReconcileResult::Terminal(s);
      auto r = m_.client().create(kChildren, req.ns, child);
      if (!r) return ReconcileResult::Retry(r.error());
      creates_.fetch_add(1);
      return ReconcileResult::RequeueAfter(10ms);
    }
    for (std::int64_t i = want; i < have; ++i) {
      auto r = m_.client().remove(kChildren, req.ns, ObjectName(*children[i]));
      if (!r && r.error().code() != StatusCode::kNotFound) return ReconcileResult::Retry(r.error());
    }
    const auto* status = GetObject(*scale, "status");
    if (status && GetInt(*status, "readyReplicas").value_or(-1) == want) return ReconcileResult::Done();
    json::object updated = *scale;
    updated["status"] = json::object{{"readyReplicas", want}};
    auto r = m_.client().update_status(kScales, req.ns, updated);
    if (!r) return ReconcileResult::Retry(r.error());
    return ReconcileResult::Done();
  }

  int creates() const { return creates_.load(); }

 private:
  Manager& m_;
  const Reads reads_;
  SharedInformer scales_, children_;
  std::atomic<int> creates_{0};
};

// The value of one sample in a Prometheus exposition; -1 when absent.
double SampleValue(const std::string& text, const std::string& series) {
  const auto pos = text.find("\n" + series + " ");
  if (pos == std::string::npos) return -1;
  return std::stod(text.substr(pos + series.size() + 2));
}

class ManagerTest : public ::testing::Test {
 protected:
  void StartServer(testing::TestServerOptions options = {}) {
    auto s = testing::TestServer::Start(std::move(options));
    ASSERT_TRUE(s.has_value()) << s.error().to_string();
    server_ = std::move(*s);
    rest_ = server_->make_client();
    ASSERT_TRUE(rest_);
    api_ = std::make_unique<client::DynamicClient>(*rest_);
    for (auto [plural, singular, kind] :
         {std::tuple{"scales", "scale", "Scale"}, std::tuple{"children", "child", "Child"}}) {
      auto r = api_->create(kCrds, "", test::OpenCrd("mgr.setpoint.dev", plural, singular, kind));
      ASSERT_TRUE(r.has_value()) << r.error().to_string();
    }
    ASSERT_TRUE(test::Eventually(
        [&] { return api_->list(kScales, "default").has_value() && api_->list(kChildren, "default").has_value(); }));
  }

  ManagerPtr NewManager(ManagerOptions options = {}) {
    options.cache_sync_timeout = 20s;
    options.graceful_shutdown_timeout = 10s;
    // Tests reconnect fast after a dropped watch or a restart.
    options.watcher_tweak = [](WatcherOptions& o) {
      o.backoff_initial = 20ms;
      o.backoff_max = 200ms;
    };
    auto m = Manager::Create(*rest_, std::move(options));
    EXPECT_TRUE(m.has_value()) << m.error().to_string();
    return m ? std::move(*m) : nullptr;
  }

  ControllerPtr BuildScale(Manager& m, ScaleReconciler& r, bool stale_guard = true) {
    auto b = m.controller("scale");
    b.For(kScales).Owns(kChildren).WithMaxConcurrentReconciles(2);
    if (!stale_guard) b.WithStaleCacheGuard(100ms, Duration::zero());
    auto c = b.Complete(r);
    EXPECT_TRUE(c.has_value()) << c.error().to_string();
    return c ? std::move(*c) : nullptr;
  }

  void CreateScale(const std::string& name, std::int64_t replicas) {
    json::object s{{"apiVersion", "mgr.setpoint.dev/v1"},
                   {"kind", "Scale"},
                   {"metadata", {{"name", name}, {"namespace", "default"}}},
                   {"spec", {{"replicas", replicas}}}};
    auto r = api_->create(kScales, "default", s);
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
  }

  // Children on the server (uncached) owned by Scale `name`.
  std::vector<json::object> ServerChildren(const std::string& name) {
    std::vector<json::object> out;
    auto scale = api_->get(kScales, "default", name);
    auto list = api_->list(kChildren, "default");
    if (!scale || !list) return out;
    const std::string uid(scale->at("metadata").at("uid").as_string());
    for (auto& c : list->items)
      if (is_owned_by(c, uid)) out.push_back(std::move(c));
    return out;
  }

  bool Converged(const std::string& name, std::int64_t replicas) {
    auto scale = api_->get(kScales, "default", name);
    if (!scale) return false;
    const auto* status = GetObject(*scale, "status");
    return status && GetInt(*status, "readyReplicas").value_or(-1) == replicas &&
           static_cast<std::int64_t>(ServerChildren(name).size()) == replicas;
  }

  void TearDown() override {
    api_.reset();
    rest_.reset();
    server_.reset();
  }

  std::unique_ptr<testing::TestServer> server_;
  std::unique_ptr<client::RestClient> rest_;
  std::unique_ptr<client::DynamicClient> api_;
};

// S1-05, made hard: children have generated names, so AlreadyExists cannot save the day. The
// controller reads raw caches (no read-your-writes waits) while the cache lags 300 ms: only the
// stale-cache guard stands between it and a duplicate child.
TEST_F(ManagerTest, StaleCacheGuardPreventsDuplicateChildren) {
  StartServer({.cache_delay = 300ms});
  auto m = NewManager();
  ScaleReconciler r(*m, ScaleReconciler::Reads::kRawCache);
  ASSERT_TRUE(m->add(BuildScale(*m, r)).ok());
  ASSERT_TRUE(m->start().ok());
  CreateScale("a", 3);
  ASSERT_TRUE(test::Eventually([&] { return Converged("a", 3); }, 30s));
  EXPECT_EQ(r.creates(), 3) << "a child was created twice";
  EXPECT_GT(SampleValue(m->metrics_text(), "controller_runtime_stale_sync_skips_total{controller=\"scale\"}"), 0)
      << "the guard never had to skip: the test did not exercise it";
  ASSERT_TRUE(m->stop().ok());
}

// The control experiment: the same controller without the guard does create duplicates, which is
// what shows the test above can fail.
TEST_F(ManagerTest, WithoutTheGuardAStaleCacheDuplicatesChildren) {
  StartServer({.cache_delay = 500ms});
  auto m = NewManager();
  ScaleReconciler r(*m, ScaleReconciler::Reads::kRawCache);
  ASSERT_TRUE(m->add(BuildScale(*m, r, /*stale_guard=*/false)).ok());
  ASSERT_TRUE(m->start().ok());
  CreateScale("a", 2);
  ASSERT_TRUE(test::Eventually([&] { return r.creates() > 2; }, 30s)) << "creates: " << r.creates();
}

// Reads through the manager's client wait for the controller's own writes, so even without the
// guard no child is duplicated.
TEST_F(ManagerTest, ReadYourWritesPreventsDuplicatesWithoutTheGuard) {
  StartServer({.cache_delay = 300ms});
  auto m = NewManager();
  ScaleReconciler r(*m, ScaleReconciler::Reads::kCachedClient);
  ASSERT_TRUE(m->add(BuildScale(*m, r, /*stale_guard=*/false)).ok());
  ASSERT_TRUE(m->start().ok());
  CreateScale("a", 3);
  ASSERT_TRUE(test::Eventually([&] { return Converged("a", 3); }, 30s));
  EXPECT_EQ(r.creates(), 3);
}

TEST_F(ManagerTest, CachedGetWaitsForOwnWrites) {
  StartServer({.cache_delay = 200ms});
  auto m = NewManager();
  ASSERT_TRUE(m->start().ok());
  ASSERT_TRUE(m->client().list(kChildren, "default").has_value());  // the informer exists and synced
  json::object child{{"apiVersion", "mgr.setpoint.dev/v1"},
                     {"kind", "Child"},
                     {"metadata", {{"name", "c"}, {"namespace", "default"}}},
                     {"spec", {{"v", "1"}}}};
  auto created = m->client().create(kChildren, "default", child);
  ASSERT_TRUE(created.has_value()) << created.error().to_string();
  auto got = m->client().get(kChildren, "default", "c");
  ASSERT_TRUE(got.has_value()) << "a cached read right after a create must see it: " << got.error().to_string();
  json::object changed = *created;
  changed["spec"] = json::object{{"v", "2"}};
  auto updated = m->client().update(kChildren, "default", changed);
  ASSERT_TRUE(updated.has_value()) << updated.error().to_string();
  got = m->client().get(kChildren, "default", "c");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ((*got)->at("spec").at("v").as_string(), "2");
  ASSERT_TRUE(m->client().remove(kChildren, "default", "c").has_value());
  got = m->client().get(kChildren, "default", "c");
  ASSERT_FALSE(got.has_value()) << "a cached read right after a delete must not see the object";
  EXPECT_EQ(got.error().code(), StatusCode::kNotFound);
  // A list waits for the writes to its resource too.
  child["metadata"].as_object()["name"] = "d";
  ASSERT_TRUE(m->client().create(kChildren, "default", child).has_value());
  auto listed = m->client().list(kChildren, "default");
  ASSERT_TRUE(listed.has_value());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(ObjectName(*listed->front()), "d");
}

TEST_F(ManagerTest, ConvergesUnderConflictsDroppedAndExpiredWatches) {
  StartServer({.cache_delay = 20ms});
  auto m = NewManager();
  ScaleReconciler r(*m, ScaleReconciler::Reads::kCachedClient);
  ASSERT_TRUE(m->add(BuildScale(*m, r)).ok());
  ASSERT_TRUE(m->start().ok());
  server_->conflict_next_updates(3, "scales");
  CreateScale("a", 2);
  ASSERT_TRUE(test::Eventually([&] { return Converged("a", 2); }, 30s));
  EXPECT_EQ(server_->conflicts_injected(), 3u);
  // Watches end, and the next ones find their resourceVersion expired: the informers relist.
  server_->fail_next_watches(2);
  server_->drop_watches();
  EXPECT_GE(server_->watches_dropped(), 2u);
  ASSERT_TRUE(test::Eventually([&] { return server_->watches_failed() == 2; }, 20s));
  auto scale = api_->get(kScales, "default", "a");
  ASSERT_TRUE(scale.has_value());
  (*scale)["spec"].as_object()["replicas"] = 4;
  ASSERT_TRUE(api_->update(kScales, "default", *scale).has_value());
  ASSERT_TRUE(test::Eventually([&] { return Converged("a", 4); }, 30s));
  // A child deleted behind the controller's back comes back.
  auto children = ServerChildren("a");
  ASSERT_EQ(children.size(), 4u);
  ASSERT_TRUE(api_->remove(kChildren, "default", ObjectName(children[0])).has_value());
  ASSERT_TRUE(test::Eventually([&] { return r.creates() == 5 && Converged("a", 4); }, 30s));
  EXPECT_EQ(r.creates(), 5) << "only the deleted child may be re-created";
}

TEST_F(ManagerTest, SurvivesServerRestart) {
  StartServer({.store = "sqlite"});
  auto m = NewManager();
  ScaleReconciler r(*m, ScaleReconciler::Reads::kCachedClient);
  ASSERT_TRUE(m->add(BuildScale(*m, r)).ok());
  ASSERT_TRUE(m->start().ok());
  CreateScale("a", 2);
  ASSERT_TRUE(test::Eventually([&] { return Converged("a", 2); }, 30s));
  ASSERT_TRUE(server_->restart().ok());
  auto children = ServerChildren("a");
  ASSERT_EQ(children.size(), 2u);
  ASSERT_TRUE(api_->remove(kChildren, "default", ObjectName(children[0])).has_value());
  ASSERT_TRUE(test::Eventually([&] { return r.creates() == 3 && Converged("a", 2); }, 30s));
  CreateScale("b", 1);
  ASSERT_TRUE(test::Eventually([&] { return Converged("b", 1); }, 30s));
  EXPECT_EQ(r.creates(), 4);
}

TEST_F(ManagerTest, ControllersShareOneInformerPerResource) {
  StartServer();
  auto m = NewManager();
  ScaleReconciler r1(*m, ScaleReconciler::Reads::kCachedClient), r2(*m, ScaleReconciler::Reads::kCachedClient);
  auto c1 = BuildScale(*m, r1);
  auto c2 = m->controller("second").For(kScales).Owns(kChildren).Complete(r2);
  ASSERT_TRUE(c2.has_value());
  EXPECT_EQ(m->informers().live(ResourceKey(kScales)).size(), 1u);
  EXPECT_EQ(m->informers().live(ResourceKey(kChildren)).size(), 1u);
  c2.value().reset();  // the first controller keeps the informers alive
  EXPECT_EQ(m->informers().live(ResourceKey(kScales)).size(), 1u);
  ASSERT_TRUE(m->add(std::move(c1)).ok());
  ASSERT_TRUE(m->start().ok());
  CreateScale("a", 1);
  ASSERT_TRUE(test::Eventually([&] { return Converged("a", 1); }, 30s));
}

TEST_F(ManagerTest, LateHandlerGetsASnapshotThenChanges) {
  StartServer();
  auto m = NewManager();
  ASSERT_TRUE(m->start().ok());
  CreateScale("a", 1);
  CreateScale("b", 1);
  auto informer = m->informers().get(kScales);
  ASSERT_TRUE(informer->cache().wait_for_sync(10s));
  ASSERT_TRUE(test::Eventually([&] { return informer->cache().size() == 2; }));
  std::mutex mu;
  std::vector<std::string> added;
  auto id = informer->add_handlers({.on_add = [&](const ObjectPtr& o) {
    std::lock_guard lock(mu);
    added.emplace_back(ObjectName(*o));
  }});
  ASSERT_TRUE(informer->wait_for_sync(id, 10s));
  CreateScale("c", 1);
  ASSERT_TRUE(test::Eventually([&] {
    std::lock_guard lock(mu);
    return std::find(added.begin(), added.end(), "c") != added.end();
  }));
  std::lock_guard lock(mu);
  std::sort(added.begin(), added.end());
  added.erase(std::unique(added.begin(), added.end()), added.end());
  EXPECT_EQ(added, (std::vector<std::string>{"a", "b", "c"}));
  informer->remove_handlers(id);
}

TEST_F(ManagerTest, MetadataOnlyCacheKeepsNoSpec) {
  StartServer();
  auto m = NewManager();
  m->set_cache_options(kChildren, {.metadata_only = true});
  ASSERT_TRUE(m->start().ok());
  json::object child{{"apiVersion", "mgr.setpoint.dev/v1"},
                     {"kind", "Child"},
                     {"metadata", {{"name", "big"}, {"namespace", "default"}}},
                     {"spec", {{"blob", std::string(4096, 'x')}}}};
  auto created = m->client().create(kChildren, "default", child);
  ASSERT_TRUE(created.has_value()) << created.error().to_string();
  auto got = m->client().get(kChildren, "default", "big");
  ASSERT_TRUE(got.has_value()) << got.error().to_string();
  EXPECT_FALSE((*got)->contains("spec"));
  EXPECT_EQ((*got)->at("metadata").at("name").as_string(), "big");
  // The server sent PartialObjectMetadata; the informer gives it the resource's type back.
  EXPECT_EQ((*got)->at("kind").as_string(), "Child");
  EXPECT_EQ((*got)->at("apiVersion").as_string(), "mgr.setpoint.dev/v1");
  // The uncached read has everything.
  auto live = m->client().uncached().get(kChildren, "default", "big");
  ASSERT_TRUE(live.has_value());
  EXPECT_TRUE(live->contains("spec"));

  // metadata_fields: a cache of exactly what a graph of owners needs. The owner must exist: the
  // server's garbage collector deletes a dependent whose owner is gone, and did so before the
  // informer saw it (a flake of this test under load).
  const GroupVersionResource configmaps{"", "v1", "configmaps", true, "ConfigMap"};
  auto owner = m->client().create(
      configmaps, "default",
      json::object{
          {"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "o"}, {"namespace", "default"}}}});
  ASSERT_TRUE(owner.has_value()) << owner.error().to_string();
  json::object labelled = child;
  labelled["metadata"].as_object()["name"] = "owned";
  labelled["metadata"].as_object()["labels"] = {{"app", "x"}};
  labelled["metadata"].as_object()["ownerReferences"] = json::array{
      {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"name", "o"}, {"uid", owner->at("metadata").at("uid")}}};
  ASSERT_TRUE(m->client().create(kChildren, "default", labelled).has_value());
  auto graph = m->informers().get(kChildren, {.metadata_only = true, .metadata_fields = {"ownerReferences"}});
  ASSERT_TRUE(graph->cache().wait_for_sync(10s));
  runtime::ObjectPtr owned;
  ASSERT_TRUE(test::Eventually([&] { return (owned = graph->cache().get("default", "owned")) != nullptr; }));
  EXPECT_EQ(owned->size(), 1u) << json::serialize(*owned);  // metadata only: no kind, no apiVersion
  const json::object& meta = owned->at("metadata").as_object();
  std::vector<std::string> keys;
  for (const auto& kv : meta) keys.emplace_back(kv.key());
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"name", "namespace", "ownerReferences", "resourceVersion", "uid"}));
  EXPECT_EQ(meta.at("ownerReferences").as_array().size(), 1u);
}

TEST_F(ManagerTest, EventRecorderAggregatesRepeats) {
  StartServer();
  auto m = NewManager({.name = "scale-controller"});
  CreateScale("a", 1);
  auto scale = api_->get(kScales, "default", "a");
  ASSERT_TRUE(scale.has_value());
  for (int i = 0; i < 3; ++i) m->recorder().event(*scale, "Warning", "Deleting", "Scale a is being deleted");
  m->recorder().event(*scale, "Normal", "Scaled", "Scaled to 1");
  ASSERT_TRUE(m->recorder().flush(10s));
  auto events =
      api_->list(kEventsResource, "default",
                 {.field_selector = "involvedObject.uid=" + std::string(scale->at("metadata").at("uid").as_string())});
  ASSERT_TRUE(events.has_value()) << events.error().to_string();
  ASSERT_EQ(events->items.size(), 2u);
  std::map<std::string, std::int64_t> counts;
  for (const auto& e : events->items) {
    counts[std::string(e.at("reason").as_string())] = e.at("count").to_number<std::int64_t>();
    EXPECT_EQ(e.at("source").at("component").as_string(), "scale-controller");
    EXPECT_EQ(e.at("involvedObject").at("kind").as_string(), "Scale");
  }
  EXPECT_EQ(counts["Deleting"], 3);
  EXPECT_EQ(counts["Scaled"], 1);
  EXPECT_EQ(m->recorder().dropped(), 0u);
}

std::pair<int, std::string> HttpGet(unsigned short port, const std::string& target) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  boost::asio::io_context io;
  beast::tcp_stream stream(io);
  stream.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1");
  http::write(stream, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(stream, buf, res);
  return {res.result_int(), res.body()};
}

TEST_F(ManagerTest, ServesHealthReadinessAndMetrics) {
  StartServer();
  auto m = NewManager({.health_listen = "127.0.0.1:0"});
  ScaleReconciler r(*m, ScaleReconciler::Reads::kCachedClient);
  ASSERT_TRUE(m->add(BuildScale(*m, r)).ok());
  ASSERT_TRUE(m->start().ok());
  ASSERT_NE(m->health_port(), 0);
  CreateScale("a", 1);
  ASSERT_TRUE(test::Eventually([&] { return Converged("a", 1); }, 30s));
  EXPECT_EQ(HttpGet(m->health_port(), "/healthz"), (std::pair<int, std::string>{200, "ok"}));
  EXPECT_EQ(HttpGet(m->health_port(), "/readyz"), (std::pair<int, std::string>{200, "ok"}));
  EXPECT_EQ(HttpGet(m->health_port(), "/nope").first, 404);
  auto [code, text] = HttpGet(m->health_port(), "/metrics");
  EXPECT_EQ(code, 200);
  for (const char* want : {"# TYPE controller_runtime_reconcile_total counter",
                           "controller_runtime_reconcile_total{controller=\"scale\",result=\"success\"} ",
                           "controller_runtime_reconcile_time_seconds_bucket{controller=\"scale\",le=\"0.005\"}",
                           "controller_runtime_stale_sync_skips_total{controller=\"scale\"}",
                           "workqueue_adds_total{name=\"scale\",controller=\"scale\"}",
                           "workqueue_depth{name=\"scale\",controller=\"scale\"}", "setpoint_events_dropped_total 0"})
    EXPECT_NE(text.find(want), std::string::npos) << want << "\n" << text;
  // Each family once, even with several sources.
  EXPECT_EQ(text.find("# TYPE workqueue_depth"), text.rfind("# TYPE workqueue_depth"));
  ASSERT_TRUE(m->stop().ok());
}

TEST(MergeExpositionsTest, GroupsEachFamilyOnce) {
  const std::string a = "# HELP x_total X.\n# TYPE x_total counter\nx_total{c=\"a\"} 1\n# TYPE y gauge\ny 2\n";
  const std::string b = "# HELP x_total X.\n# TYPE x_total counter\nx_total{c=\"b\"} 3\n";
  EXPECT_EQ(MergeExpositions({a, b}),
            "# HELP x_total X.\n# TYPE x_total counter\nx_total{c=\"a\"} 1\nx_total{c=\"b\"} 3\n# TYPE y gauge\ny 2\n");
}

// Two managers on one Lease. Each reconcile marks itself active and checks that the other
// manager's reconciles are not; at no time may they overlap. Stopping the leader without releasing
// the Lease (as a crash would) hands over once the lease has expired.
TEST_F(ManagerTest, LeaderElectionHandsOverAndNeverRunsTwo) {
  StartServer();
  auto rest2 = server_->make_client();
  std::atomic<int> active_a{0}, active_b{0}, overlaps{0};
  std::mutex mu;
  std::vector<std::string> log;
  auto election = [](std::string id) {
    LeaderElectionConfig le;
    le.lease_name = "scale-leader";
    le.identity = std::move(id);
    le.lease_duration = 2s;
    le.renew_deadline = 1500ms;
    le.retry_period = 200ms;
    le.release_on_cancel = false;  // stop() below behaves as a crash would
    return le;
  };
  auto a = NewManager({.name = "a", .leader_election = election("a")});
  auto mb = Manager::Create(*rest2, {.name = "b", .leader_election = election("b"), .cache_sync_timeout = 20s});
  ASSERT_TRUE(mb.has_value());
  auto& b = *mb;
  // Each reconciler watches the other's activity: the overlap check reads the other counter.
  struct Probe : Reconciler {
    std::string id;
    std::atomic<int>& mine;
    std::atomic<int>& other;
    std::atomic<int>& overlaps;
    std::mutex& mu;
    std::vector<std::string>& log;
    Probe(std::string i, std::atomic<int>& m, std::atomic<int>& o, std::atomic<int>& ov, std::mutex& l,
          std::vector<std::string>& g)
        : id(std::move(i)), mine(m), other(o), overlaps(ov), mu(l), log(g) {}
    ReconcileResult reconcile(const Request&) override {
      mine.fetch_add(1);
      if (other.load() > 0) overlaps.fetch_add(1);
      {
        std::lock_guard lock(mu);
        if (log.empty() || log.back() != id) log.push_back(id);
      }
      std::this_thread::sleep_for(2ms);
      if (other.load() > 0) overlaps.fetch_add(1);
      mine.fetch_sub(1);
      return ReconcileResult::RequeueAfter(20ms);
    }
  } ra("a", active_a, active_b, overlaps, mu, log), rb("b", active_b, active_a, overlaps, mu, log);
  auto ca = a->controller("probe").For(kScales).Complete(ra);
  auto cb = b->controller("probe").For(kScales).Complete(rb);
  ASSERT_TRUE(ca.has_value() && cb.has_value());
  ASSERT_TRUE(a->add(std::move(*ca)).ok());
  ASSERT_TRUE(b->add(std::move(*cb)).ok());
  CreateScale("x", 1);
  ASSERT_TRUE(a->start().ok());
  ASSERT_TRUE(test::Eventually([&] { return a->leading(); }, 10s));
  ASSERT_TRUE(b->start().ok());
  ASSERT_TRUE(test::Eventually([&] {
    std::lock_guard lock(mu);
    return !log.empty();
  }));
  // b waits: it must not reconcile while a leads.
  EXPECT_TRUE(test::StaysFalse([&] { return b->leading(); }, 600ms));
  EXPECT_TRUE(b->ready()) << "a replica waiting for the Lease is ready";
  const auto killed = std::chrono::steady_clock::now();
  ASSERT_TRUE(a->stop().ok());
  ASSERT_TRUE(test::Eventually(
      [&] {
        std::lock_guard lock(mu);
        return !log.empty() && log.back() == "b";
      },
      10s));
  const auto handover = std::chrono::steady_clock::now() - killed;
  // Within the lease duration after the last renewal, plus one jittered retry period.
  EXPECT_LT(handover, 2s + 200ms * 2.2 + 1s)
      << "handover took " << std::chrono::duration<double>(handover).count() << " s";
  EXPECT_EQ(overlaps.load(), 0) << "both managers reconciled at once";
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(log, (std::vector<std::string>{"a", "b"}));
  }
  ASSERT_TRUE(b->stop().ok());
}

}  // namespace
}  // namespace setpoint::runtime
