// DynamicClient and Discover() against the real in-process API server.
#include "setpoint/client/dynamic_client.h"

#include <future>
#include <set>
#include <thread>

#include <boost/json.hpp>

#include "fake_http_server.h"
#include "server_fixture.h"
#include "setpoint/common/json.h"
#include "setpoint/types/coordination_v1.h"
#include "setpoint/types/core_v1.h"

namespace setpoint::client {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

const GroupVersionResource& kLeases = setpoint::types::GvrOf<setpoint::coordinationv1::Lease>();
const GroupVersionResource& kNamespaces = setpoint::types::GvrOf<setpoint::corev1::Namespace>();

json::object Lease(const std::string& name, const std::string& holder = "me") {
  return json::object{{"apiVersion", "coordination.k8s.io/v1"},
                      {"kind", "Lease"},
                      {"metadata", {{"name", name}}},
                      {"spec", {{"holderIdentity", holder}}}};
}

std::string Meta(const json::object& o, std::string_view key) {
  return std::string(GetStringOr(o.at("metadata").as_object(), key, ""));
}

class DynamicClientTest : public testing::ServerTest {};

TEST(ResourcePathTest, CoreGroupsScopesAndEncoding) {
  EXPECT_EQ(ResourcePath(kNamespaces, "ignored", "a"), "/api/v1/namespaces/a");
  EXPECT_EQ(ResourcePath(kLeases, "ns", "x", "status"), "/apis/coordination.k8s.io/v1/namespaces/ns/leases/x/status");
  EXPECT_EQ(ResourcePath(kLeases, ""), "/apis/coordination.k8s.io/v1/leases");
  EXPECT_EQ(ResourcePath({"", "v1", "configmaps", true, ""}, "d", "a b/c"),
            "/api/v1/namespaces/d/configmaps/a%20b%2Fc");
  EXPECT_EQ(UrlEncode("app in (a,b),!x"), "app%20in%20%28a%2Cb%29%2C%21x");
}

TEST_F(DynamicClientTest, CrudAndStatusMapping) {
  auto created = dynamic_->create(kLeases, "default", Lease("a"));
  ASSERT_TRUE(created.has_value()) << created.error().to_string();
  EXPECT_FALSE(Meta(*created, "uid").empty());

  auto again = dynamic_->create(kLeases, "default", Lease("a"));
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), StatusCode::kAlreadyExists);

  auto got = dynamic_->get(kLeases, "default", "a");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(Meta(*got, "resourceVersion"), Meta(*created, "resourceVersion"));

  json::object changed = *got;
  changed["spec"].as_object()["holderIdentity"] = "you";
  auto updated = dynamic_->update(kLeases, "default", changed);
  ASSERT_TRUE(updated.has_value()) << updated.error().to_string();
  EXPECT_NE(Meta(*updated, "resourceVersion"), Meta(*got, "resourceVersion"));

  auto stale = dynamic_->update(kLeases, "default", changed);  // still carries the old RV
  ASSERT_FALSE(stale.has_value());
  EXPECT_EQ(stale.error().code(), StatusCode::kConflict);

  auto merged = dynamic_->patch(kLeases, "default", "a", PatchType::kMerge, R"({"metadata":{"labels":{"k":"v"}}})");
  ASSERT_TRUE(merged.has_value()) << merged.error().to_string();
  EXPECT_EQ(merged->at("metadata").at("labels").at("k").as_string(), "v");
  auto jp = dynamic_->patch(kLeases, "default", "a", PatchType::kJson,
                            R"([{"op":"replace","path":"/spec/holderIdentity","value":"them"}])");
  ASSERT_TRUE(jp.has_value()) << jp.error().to_string();
  EXPECT_EQ(jp->at("spec").at("holderIdentity").as_string(), "them");

  auto missing = dynamic_->get(kLeases, "default", "nope");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), StatusCode::kNotFound);

  auto invalid = dynamic_->create(kLeases, "default", Lease("Not_A_Name"));
  ASSERT_FALSE(invalid.has_value());
  EXPECT_EQ(invalid.error().code(), StatusCode::kInvalid);
  ASSERT_FALSE(invalid.error().causes().empty());
  EXPECT_EQ(invalid.error().causes()[0].field, "metadata.name");

  DeleteOptions wrong_uid;
  wrong_uid.precondition_uid = "00000000-0000-0000-0000-000000000000";
  auto refused = dynamic_->remove(kLeases, "default", "a", wrong_uid);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), StatusCode::kConflict);

  DeleteOptions right_uid;
  right_uid.precondition_uid = Meta(*created, "uid");
  ASSERT_TRUE(dynamic_->remove(kLeases, "default", "a", right_uid).has_value());
  EXPECT_EQ(dynamic_->get(kLeases, "default", "a").error().code(), StatusCode::kNotFound);
  EXPECT_EQ(dynamic_->get(kLeases, "", "a").error().code(), StatusCode::kBadRequest);
}

// A create's or an update's answer is the object as stored, at its new revision: byte for byte
// what a get of that object serves next.
TEST_F(DynamicClientTest, WriteAnswersAreTheBytesAGetServes) {
  const std::string path = "/apis/coordination.k8s.io/v1/namespaces/default/leases";
  auto created = rest_->request(Method::kPost, path, json::serialize(Lease("same")));
  ASSERT_TRUE(created.has_value()) << created.error().to_string();
  EXPECT_EQ(created->status, 201);
  auto got = rest_->request(Method::kGet, path + "/same");
  ASSERT_TRUE(got.has_value()) << got.error().to_string();
  EXPECT_EQ(created->body, got->body);

  json::object changed = json::parse(got->body).as_object();
  changed["spec"].as_object()["holderIdentity"] = "other";
  auto updated = rest_->request(Method::kPut, path + "/same", json::serialize(changed));
  ASSERT_TRUE(updated.has_value()) << updated.error().to_string();
  auto again = rest_->request(Method::kGet, path + "/same");
  ASSERT_TRUE(again.has_value()) << again.error().to_string();
  EXPECT_EQ(updated->body, again->body);
  auto parsed = json::parse(updated->body).as_object();
  EXPECT_EQ(parsed.at("spec").at("holderIdentity").as_string(), "other");
  EXPECT_NE(Meta(parsed, "resourceVersion"), Meta(changed, "resourceVersion"));
}

TEST_F(DynamicClientTest, ClusterScopedAndPaginatedLists) {
  json::object ns{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "pages"}}}};
  ASSERT_TRUE(dynamic_->create(kNamespaces, "", ns).has_value());
  for (int i = 0; i < 5; ++i) {
    json::object l = Lease("l" + std::to_string(i));
    l["metadata"].as_object()["labels"] = json::object{{"parity", i % 2 ? "odd" : "even"}};
    ASSERT_TRUE(dynamic_->create(kLeases, "pages", l).has_value());
  }
  std::set<std::string> names;
  ListOptions o;
  o.limit = 2;
  int pages = 0;
  do {
    auto page = dynamic_->list(kLeases, "pages", o);
    ASSERT_TRUE(page.has_value()) << page.error().to_string();
    EXPECT_LE(page->items.size(), 2u);
    for (const auto& item : page->items) names.insert(Meta(item, "name"));
    o.continue_ = page->continue_;
    ASSERT_LT(++pages, 10);
  } while (!o.continue_.empty());
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(names, (std::set<std::string>{"l0", "l1", "l2", "l3", "l4"}));

  ListOptions selected;
  selected.label_selector = "parity in (odd)";
  auto odd = dynamic_->list(kLeases, "pages", selected);
  ASSERT_TRUE(odd.has_value()) << odd.error().to_string();
  EXPECT_EQ(odd->items.size(), 2u);
  EXPECT_FALSE(odd->resource_version.empty());

  auto all_ns = dynamic_->list(kNamespaces, "");
  ASSERT_TRUE(all_ns.has_value());
  bool found = false;
  for (const auto& item : all_ns->items) found |= Meta(item, "name") == "pages";
  EXPECT_TRUE(found);
}

TEST_F(DynamicClientTest, WatchSeesAddedModifiedDeletedInOrder) {
  auto listed = dynamic_->list(kLeases, "default");
  ASSERT_TRUE(listed.has_value());
  WatchOptions wo;
  wo.resource_version = listed->resource_version;
  auto w = dynamic_->watch(kLeases, "default", wo);
  ASSERT_TRUE(w.has_value()) << w.error().to_string();

  auto created = dynamic_->create(kLeases, "default", Lease("w"));
  ASSERT_TRUE(created.has_value());
  ASSERT_TRUE(dynamic_->patch(kLeases, "default", "w", PatchType::kMerge, R"({"spec":{"holderIdentity":"x"}})"));
  ASSERT_TRUE(dynamic_->remove(kLeases, "default", "w").has_value());

  std::vector<std::string> types;
  while (types.size() < 3) {
    auto e = (*w)->next(10s);
    ASSERT_TRUE(e.has_value()) << e.error().to_string();
    ASSERT_TRUE(e->has_value()) << "no event within the deadline";
    EXPECT_EQ(Meta((*e)->object.as_object(), "name"), "w");
    types.push_back((*e)->type);
  }
  EXPECT_EQ(types, (std::vector<std::string>{"ADDED", "MODIFIED", "DELETED"}));
}

TEST_F(DynamicClientTest, CancelUnblocksAWatchWaitingInAnotherThread) {
  auto w = dynamic_->watch(kLeases, "default");
  ASSERT_TRUE(w.has_value());
  std::promise<Result<std::optional<WatchEvent>>> result;
  auto started = std::chrono::steady_clock::now();
  std::thread reader([&] { result.set_value((*w)->next(60s)); });
  (*w)->cancel();
  auto fut = result.get_future();
  ASSERT_EQ(fut.wait_for(10s), std::future_status::ready);
  reader.join();
  auto r = fut.get();
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->has_value());
  EXPECT_TRUE((*w)->ended());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
}

TEST_F(DynamicClientTest, DiscoverByKindPluralShortNameAndGroup) {
  for (const char* what : {"lease", "Lease", "leases", "leases.coordination.k8s.io", "lease.v1.coordination.k8s.io"}) {
    auto g = Discover(*rest_, what);
    ASSERT_TRUE(g.has_value()) << what << ": " << g.error().to_string();
    EXPECT_EQ(g->group, "coordination.k8s.io") << what;
    EXPECT_EQ(g->version, "v1");
    EXPECT_EQ(g->resource, "leases");
    EXPECT_EQ(g->kind, "Lease");
    EXPECT_TRUE(g->namespaced);
  }
  auto ns = Discover(*rest_, "ns");
  ASSERT_TRUE(ns.has_value());
  EXPECT_EQ(ns->resource, "namespaces");
  EXPECT_EQ(ns->group, "");
  EXPECT_FALSE(ns->namespaced);
  EXPECT_EQ(Discover(*rest_, "crd")->resource, "customresourcedefinitions");
  auto none = Discover(*rest_, "gizmos");
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code(), StatusCode::kNotFound);
}

TEST(DiscoverTest, LegacyDocumentsWhenAggregatedIsNotOffered) {
  testing::FakeHttpServer server([](const testing::FakeRequest& req) {
    std::string body = "{}";
    if (req.target == "/api") body = R"({"kind":"APIVersions","versions":["v1"]})";
    if (req.target == "/api/v1")
      body = R"({"kind":"APIResourceList","groupVersion":"v1","resources":[)"
             R"({"name":"pods","singularName":"pod","namespaced":true,"kind":"Pod","shortNames":["po"]},)"
             R"({"name":"pods/log","namespaced":true,"kind":"Pod"},)"
             R"({"name":"nodes","singularName":"node","namespaced":false,"kind":"Node","shortNames":["no"]}]})";
    if (req.target == "/apis")
      body =
          R"({"kind":"APIGroupList","groups":[{"name":"apps","versions":[{"groupVersion":"apps/v1","version":"v1"}],)"
          R"("preferredVersion":{"groupVersion":"apps/v1","version":"v1"}}]})";
    if (req.target == "/apis/apps/v1")
      body =
          R"({"kind":"APIResourceList","groupVersion":"apps/v1","resources":[)"
          R"({"name":"deployments","singularName":"deployment","namespaced":true,"kind":"Deployment","shortNames":["deploy"]}]})";
    return testing::FakeReply{.status = 200, .body = body};
  });
  RestConfig c;
  c.server = server.url();
  auto rest = RestClient::Create(c);
  ASSERT_TRUE(rest.has_value());
  auto deploy = Discover(**rest, "deploy");
  ASSERT_TRUE(deploy.has_value()) << deploy.error().to_string();
  EXPECT_EQ(deploy->group, "apps");
  EXPECT_EQ(deploy->resource, "deployments");
  EXPECT_EQ(deploy->kind, "Deployment");
  auto po = Discover(**rest, "PO");
  ASSERT_TRUE(po.has_value());
  EXPECT_EQ(po->resource, "pods");
  EXPECT_EQ(po->group, "");
  auto node = Discover(**rest, "Node");
  ASSERT_TRUE(node.has_value());
  EXPECT_FALSE(node->namespaced);
  EXPECT_EQ(Discover(**rest, "deployments.extensions").error().code(), StatusCode::kNotFound);
  EXPECT_EQ(Discover(**rest, "log").error().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace setpoint::client
