// The informer and controller layers against the real API server in process (memory store,
// port 0, temp dir): a Parent controller that owns Child objects converges from scratch, repairs
// a child deleted behind its back, scales down, and takes AlreadyExists as success; a watcher
// whose resource version fell out of the server's history relists and ends equal to the server.
// Every wait is a deadline on observable server state, never a fixed sleep.
#include <atomic>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <unistd.h>

#include "apiserver/server.h"
#include "setpoint/runtime/conditions.h"
#include "setpoint/runtime/controller.h"
#include "setpoint/runtime/object_helpers.h"
#include "setpoint/types/apiextensions_v1.h"
#include "store/memory/memory_store.h"
#include "testing/crds.h"
#include "testing/eventually.h"

namespace setpoint::runtime {
namespace {

namespace json = boost::json;
using client::GroupVersionResource;

const GroupVersionResource& kCrds = setpoint::types::GvrOf<setpoint::apiextensionsv1::CustomResourceDefinition>();
const GroupVersionResource kParents{"test.setpoint.dev", "v1", "parents", true, "Parent"};
const GroupVersionResource kChildren{"test.setpoint.dev", "v1", "children", true, "Child"};

json::object Crd(const std::string& plural, const std::string& kind) {
  return test::OpenCrd("test.setpoint.dev", plural, kind == "Parent" ? "parent" : "child", kind);
}

template <typename F>
bool Eventually(F done, std::chrono::milliseconds deadline = std::chrono::seconds(20)) {
  return test::Eventually(done, deadline);
}

class ServerFixture : public ::testing::Test {
 protected:
  void Start(std::size_t history_max_events) {
    dir_ = std::filesystem::temp_directory_path() / ("runtime_it_" + std::to_string(::getpid()) + "_" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto s = apiserver::Server::Start({.data_dir = dir_.string(),
                                       .listen = "127.0.0.1:0",
                                       .worker_threads = 4,
                                       .io_threads = 1,
                                       .history_max_events = history_max_events,
                                       .write_kubeconfig = false},
                                      store::NewMemoryStore({.history_max_events = history_max_events}));
    ASSERT_TRUE(s.has_value()) << s.error().to_string();
    server_ = std::move(*s);
    client::RestConfig c;
    c.server = "http://127.0.0.1:" + std::to_string(server_->port());
    c.timeout = std::chrono::seconds(10);
    auto r = client::RestClient::Create(c);
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    rest_ = std::move(*r);
    client_ = std::make_unique<client::DynamicClient>(*rest_);
  }
  void InstallCrds() {
    for (auto [plural, kind] : {std::pair{"parents", "Parent"}, std::pair{"children", "Child"}}) {
      auto r = client_->create(kCrds, "", Crd(plural, kind));
      ASSERT_TRUE(r.has_value()) << r.error().to_string();
    }
    ASSERT_TRUE(Eventually([&] {
      return client_->list(kParents, "default").has_value() && client_->list(kChildren, "default").has_value();
    })) << "CRDs never became served";
  }
  void TearDown() override {
    client_.reset();
    rest_.reset();
    if (server_) server_->stop();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::filesystem::path dir_;
  std::unique_ptr<apiserver::Server> server_;
  std::unique_ptr<client::RestClient> rest_;
  std::unique_ptr<client::DynamicClient> client_;
};

std::int64_t Replicas(const json::object& parent) {
  const auto* spec = parent.if_contains("spec");
  const auto* r = spec && spec->is_object() ? spec->as_object().if_contains("replicas") : nullptr;
  return r && r->is_int64() ? r->as_int64() : 0;
}

// Ensures each Parent has exactly spec.replicas Children named <parent>-<i>, controlled by it,
// and reports Ready on the parent's status. Reads come from the controller's caches, which may
// be stale: a create that meets AlreadyExists and a delete that meets NotFound are success.
class ParentReconciler : public Reconciler {
 public:
  explicit ParentReconciler(client::DynamicClient& client) : client_(client) {}
  void attach(const Controller& c) {
    parents_ = c.cache(kParents);
    children_ = c.cache(kChildren);
  }

  ReconcileResult reconcile(const Request& req) override {
    ObjectPtr parent = parents_->get(req.ns, req.name);
    if (!parent || deletion_requested(*parent)) return ReconcileResult::Done();
    const std::int64_t replicas = Replicas(*parent);
    const std::string uid(parent->at("metadata").at("uid").as_string());
    std::set<std::string> have;
    for (const auto& c : children_->by_index(kOwnerUidIndex, uid)) have.emplace(ObjectName(*c));
    std::set<std::string> want;
    for (std::int64_t i = 0; i < replicas; ++i) want.insert(req.name + "-" + std::to_string(i));
    for (const auto& name : want) {
      if (have.count(name)) continue;
      json::object child{{"apiVersion", "test.setpoint.dev/v1"},
                         {"kind", "Child"},
                         {"metadata", {{"name", name}, {"namespace", req.ns}, {"labels", {{"managed", "true"}}}}},
                         {"spec", {{"index", name}}}};
      if (Status s = set_controller_reference(*parent, child); !s.ok()) return ReconcileResult::Terminal(s);
      auto r = client_.create(kChildren, req.ns, child);
      if (r) {
        std::lock_guard lock(mu_);
        ++created_[name];
      } else if (r.error().code() == StatusCode::kAlreadyExists) {
        already_exists_.fetch_add(1);
      } else {
        return ReconcileResult::Retry(r.error());
      }
    }
    for (const auto& name : have) {
      if (want.count(name)) continue;
      auto r = client_.remove(kChildren, req.ns, name);
      if (!r && r.error().code() != StatusCode::kNotFound) return ReconcileResult::Retry(r.error());
    }
    const bool ready = have == want;
    json::object updated = *parent;
    json::object& status =
        updated["status"].is_object() ? updated["status"].as_object() : updated["status"].emplace_object();
    json::array& conds =
        status["conditions"].is_array() ? status["conditions"].as_array() : status["conditions"].emplace_array();
    Condition c{"Ready",
                std::string(ready ? kConditionTrue : kConditionFalse),
                ready ? "ChildrenReady" : "Progressing",
                std::to_string(have.size()) + "/" + std::to_string(replicas) + " children",
                parent->at("metadata").at("generation").to_number<std::int64_t>(),
                std::nullopt};
    if (!set_condition(conds, c, std::chrono::system_clock::now())) return ReconcileResult::Done();
    auto r = client_.update_status(kParents, req.ns, updated);
    // A conflict means our copy was stale; the newer parent's event brings us back anyway.
    if (!r && r.error().code() != StatusCode::kConflict) return ReconcileResult::Retry(r.error());
    return ReconcileResult::Done();
  }

  std::map<std::string, int> created() {
    std::lock_guard lock(mu_);
    return created_;
  }
  int already_exists() const { return already_exists_.load(); }

 private:
  client::DynamicClient& client_;
  const Cache* parents_ = nullptr;
  const Cache* children_ = nullptr;
  std::mutex mu_;
  std::map<std::string, int> created_;
  std::atomic<int> already_exists_{0};
};

class ControllerIntegrationTest : public ServerFixture {
 protected:
  void SetUp() override {
    Start(100000);
    if (HasFatalFailure()) return;
    InstallCrds();
  }

  ControllerPtr Build(ParentReconciler& r, std::string child_selector = {}) {
    auto c = Controller::Builder("parent", *client_)
                 .For(kParents)
                 .Owns(kChildren)
                 .WithMaxConcurrentReconciles(2)
                 .WithWatcherOptions([child_selector](WatcherOptions& o) {
                   if (o.gvr.resource == "children") o.label_selector = child_selector;
                 })
                 .Complete(r);
    EXPECT_TRUE(c.has_value()) << c.error().to_string();
    r.attach(**c);
    return std::move(*c);
  }

  void CreateParent(const std::string& name, std::int64_t replicas) {
    auto r = client_->create(kParents, "default",
                             json::object{{"apiVersion", "test.setpoint.dev/v1"},
                                          {"kind", "Parent"},
                                          {"metadata", {{"name", name}}},
                                          {"spec", {{"replicas", replicas}}}});
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
  }

  // Names of the children on the server (not in any cache).
  std::set<std::string> ServerChildren() {
    std::set<std::string> out;
    auto l = client_->list(kChildren, "default");
    if (!l) return {"<list failed>"};
    for (const auto& o : l->items) out.emplace(ObjectName(o));
    return out;
  }
  bool ParentReady(const std::string& name) {
    auto p = client_->get(kParents, "default", name);
    if (!p) return false;
    const auto* st = p->if_contains("status");
    const auto* conds = st && st->is_object() ? st->as_object().if_contains("conditions") : nullptr;
    if (!conds || !conds->is_array() || !is_true(conds->as_array(), "Ready")) return false;
    const auto* c = find_condition(conds->as_array(), "Ready");
    return c->at("observedGeneration") == p->at("metadata").at("generation");
  }
};

TEST_F(ControllerIntegrationTest, ConvergesRepairsAndScalesDownWithoutDuplicates) {
  ParentReconciler r(*client_);
  auto c = Build(r);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->start(std::chrono::seconds(20)).ok());

  CreateParent("p", 3);
  const std::set<std::string> three{"p-0", "p-1", "p-2"};
  ASSERT_TRUE(Eventually([&] { return ServerChildren() == three && ParentReady("p"); }))
      << "children: " << ServerChildren().size();

  // Deleted behind the controller's back: the Owns() source sees the delete and the parent
  // recreates exactly that child.
  auto old = client_->get(kChildren, "default", "p-1");
  ASSERT_TRUE(old.has_value());
  ASSERT_TRUE(client_->remove(kChildren, "default", "p-1").has_value());
  ASSERT_TRUE(Eventually([&] {
    auto now = client_->get(kChildren, "default", "p-1");
    return now.has_value() && now->at("metadata").at("uid") != old->at("metadata").at("uid");
  }));
  ASSERT_TRUE(Eventually([&] { return ServerChildren() == three && ParentReady("p"); }));

  // Scale down.
  auto patched = client_->patch(kParents, "default", "p", client::PatchType::kMerge, R"({"spec":{"replicas":1}})");
  ASSERT_TRUE(patched.has_value()) << patched.error().to_string();
  ASSERT_TRUE(Eventually([&] { return ServerChildren() == std::set<std::string>{"p-0"} && ParentReady("p"); }));

  c->stop();
  // Each child was created once, p-1 once more after the test deleted it: never a duplicate.
  EXPECT_EQ(r.created(), (std::map<std::string, int>{{"p-0", 1}, {"p-1", 2}, {"p-2", 1}}));
  auto m = c->metrics();
  EXPECT_GT(m.reconcile_success, 0u);
  EXPECT_EQ(m.panics_total, 0u);
  std::string text;
  c->render_prometheus(text);
  EXPECT_NE(text.find("controller_runtime_reconcile_total{controller=\"parent\",result=\"success\"}"),
            std::string::npos);
  EXPECT_NE(text.find("controller_runtime_reconcile_time_seconds_count{controller=\"parent\"}"), std::string::npos);
}

TEST_F(ControllerIntegrationTest, AlreadyExistsIsSuccessNotAnError) {
  // The controller caches only managed=true children, so a child the test made without the label
  // is invisible to it: its create meets AlreadyExists, which must count as done, not as a retry.
  ParentReconciler r(*client_);
  auto c = Build(r, "managed=true");
  ASSERT_NE(c, nullptr);
  CreateParent("q", 1);
  auto q = client_->get(kParents, "default", "q");
  ASSERT_TRUE(q.has_value());
  json::object child{{"apiVersion", "test.setpoint.dev/v1"},
                     {"kind", "Child"},
                     {"metadata", {{"name", "q-0"}, {"namespace", "default"}}}};
  ASSERT_TRUE(set_controller_reference(*q, child).ok());
  ASSERT_TRUE(client_->create(kChildren, "default", child).has_value());

  ASSERT_TRUE(c->start(std::chrono::seconds(20)).ok());
  ASSERT_TRUE(Eventually([&] { return r.already_exists() > 0 && c->metrics().reconcile_total() > 0; }));
  c->stop();
  EXPECT_TRUE(r.created().empty());
  EXPECT_EQ(ServerChildren(), std::set<std::string>{"q-0"});
  EXPECT_EQ(c->metrics().errors_total, 0u);
}

TEST_F(ControllerIntegrationTest, BuilderRejectsIncompleteControllers) {
  ParentReconciler r(*client_);
  EXPECT_EQ(Controller::Builder("x", *client_).Owns(kChildren).Complete(r).error().code(), StatusCode::kInvalid);
  auto no_kind = kParents;
  no_kind.kind.clear();
  EXPECT_EQ(Controller::Builder("x", *client_).For(no_kind).Owns(kChildren).Complete(r).error().code(),
            StatusCode::kInvalid);
  EXPECT_EQ(Controller::Builder("x", *client_).For(kParents).WithMaxConcurrentReconciles(0).Complete(r).error().code(),
            StatusCode::kInvalid);
}

class WatcherRelistTest : public ServerFixture {
 protected:
  void SetUp() override {
    Start(5);
    if (HasFatalFailure()) return;
    InstallCrds();
  }

  void Put(const std::string& name, const std::string& value) {
    auto existing = client_->get(kChildren, "default", name);
    json::object obj = existing ? *existing
                                : json::object{{"apiVersion", "test.setpoint.dev/v1"},
                                               {"kind", "Child"},
                                               {"metadata", {{"name", name}, {"namespace", "default"}}}};
    obj["spec"] = json::object{{"v", value}};
    auto r = existing ? client_->update(kChildren, "default", obj) : client_->create(kChildren, "default", obj);
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
  }
};

TEST_F(WatcherRelistTest, ExpiredResourceVersionRelistsAndTheCacheEndsEqualToTheServer) {
  for (const char* n : {"a", "b", "c"}) Put(n, "0");
  auto before = client_->list(kChildren, "default");
  ASSERT_TRUE(before.has_value());

  // A cache that holds the old list, as an informer whose watch was down for a while would.
  Cache cache;
  std::mutex mu;
  std::set<std::string> deleted;
  Reflector reflector(cache, [&](std::vector<CacheDelta> deltas, bool) {
    std::lock_guard lock(mu);
    for (const auto& d : deltas)
      if (d.kind == CacheDelta::Kind::kDeleted) deleted.insert(ObjectKey(*d.old_object));
  });
  WatcherEvent initial{WatcherEvent::Kind::kRestarted, {}, nullptr, before->resource_version};
  for (auto& o : before->items) initial.objects.push_back(std::make_shared<const json::object>(o));
  reflector.handle(std::move(initial));

  // Far more writes than the server keeps history for.
  ASSERT_TRUE(client_->remove(kChildren, "default", "a").has_value());
  for (int i = 1; i <= 10; ++i) Put("b", std::to_string(i));
  for (const char* n : {"d", "e", "f", "g"}) Put(n, "0");

  WatcherOptions o;
  o.gvr = kChildren;
  o.ns = "default";
  o.start_resource_version = before->resource_version;
  Watcher watcher(*client_, o, reflector.as_sink());
  watcher.start();
  auto server_state = [&] {
    std::map<std::string, std::string> out;
    auto l = client_->list(kChildren, "default");
    if (l)
      for (const auto& i : l->items) out[ObjectKey(i)] = std::string(ObjectResourceVersion(i));
    return out;
  };
  auto cache_state = [&] {
    std::map<std::string, std::string> out;
    for (const auto& i : cache.list()) out[ObjectKey(*i)] = std::string(ObjectResourceVersion(*i));
    return out;
  };
  ASSERT_TRUE(Eventually([&] { return watcher.relists() >= 1 && cache_state() == server_state(); }))
      << "relists " << watcher.relists() << ", cache " << cache_state().size() << " objects";
  // Still live after the relist: a new write arrives through the resumed watch.
  Put("h", "0");
  ASSERT_TRUE(Eventually([&] { return cache_state() == server_state() && cache.get("default", "h") != nullptr; }));
  watcher.stop();
  EXPECT_EQ(watcher.relists(), 1u);
  std::lock_guard lock(mu);
  EXPECT_EQ(deleted, std::set<std::string>{"default/a"});
}

}  // namespace
}  // namespace setpoint::runtime
