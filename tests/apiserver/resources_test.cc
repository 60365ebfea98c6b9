#include "apiserver/resources.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <map>
#include <set>

namespace setpoint::apiserver {
namespace {

namespace json = boost::json;

json::object Crd(std::string_view extra_version_fields = "") {
  std::string text = R"({"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
    "metadata":{"name":"widgets.example.com"},
    "spec":{"group":"example.com","scope":"Namespaced",
      "names":{"plural":"widgets","singular":"widget","kind":"Widget","shortNames":["wd"],"categories":["all"]},
      "versions":[{"name":"v1","served":true,"storage":true)" +
                     std::string(extra_version_fields) + R"(,
        "schema":{"openAPIV3Schema":{"type":"object","properties":{"spec":{"type":"object","properties":{"size":{"type":"integer"}}}}}},
        "subresources":{"status":{},"scale":{"specReplicasPath":".spec.size","statusReplicasPath":".status.replicas"}},
        "additionalPrinterColumns":[{"name":"Size","type":"integer","jsonPath":".spec.size"}]},
        {"name":"v1beta1","served":true,"storage":false,
        "schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}})";
  return json::parse(text).as_object();
}

TEST(ResourceFromCrdTest, ReadsNamesVersionsAndSubresources) {
  auto r = ResourceFromCrd(Crd());
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  EXPECT_EQ((*r)->resource, "widgets");
  EXPECT_EQ((*r)->kind, "Widget");
  EXPECT_EQ((*r)->list_kind, "WidgetList");
  EXPECT_TRUE((*r)->namespaced);
  EXPECT_TRUE((*r)->status_subresource);
  EXPECT_TRUE((*r)->scale_subresource);
  EXPECT_EQ((*r)->storage_version, "v1");
  EXPECT_EQ((*r)->versions.size(), 2u);
  EXPECT_EQ((*r)->key("ns", "a"), "/registry/example.com/widgets/ns/a");
  ASSERT_NE((*r)->version("v1"), nullptr);
  EXPECT_EQ((*r)->version("v1")->columns.size(), 1u);
  EXPECT_EQ((*r)->version("v1beta1")->columns.size(), 1u);  // the default Age column
}

TEST(ResourceFromCrdTest, RejectsInvalidDefinitions) {
  auto bad_name = Crd();
  bad_name["metadata"].as_object()["name"] = "other.example.com";
  auto r = ResourceFromCrd(bad_name);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kInvalid);
  EXPECT_EQ(r.error().causes()[0].field, "metadata.name");

  auto two_storage = Crd();
  two_storage["spec"].as_object()["versions"].as_array()[1].as_object()["storage"] = true;
  EXPECT_FALSE(ResourceFromCrd(two_storage).has_value());

  auto bad_scope = Crd();
  bad_scope["spec"].as_object()["scope"] = "Galaxy";
  EXPECT_FALSE(ResourceFromCrd(bad_scope).has_value());

  auto not_structural = Crd();
  not_structural["spec"].as_object()["versions"].as_array()[0].as_object()["schema"] = json::parse(
      R"({"openAPIV3Schema":{"type":"object","properties":{"spec":{"properties":{"a":{"type":"string"}}}}}})");
  EXPECT_FALSE(ResourceFromCrd(not_structural).has_value());
}

TEST(RegistryTest, RendersDiscoveryWithPreferredVersionFirst) {
  Registry reg;
  reg.rebuild({*ResourceFromCrd(Crd())}, 7);
  auto snap = reg.snapshot();
  EXPECT_EQ(snap->crd_revision, 7);
  ASSERT_NE(snap->find("example.com", "widgets"), nullptr);
  ASSERT_NE(snap->find("", "namespaces"), nullptr);
  auto group = json::parse(snap->group_docs.at("/apis/example.com")).as_object();
  EXPECT_EQ(group["preferredVersion"].as_object()["version"], "v1");
  auto agg = json::parse(snap->apis_aggregated_v2).as_object();
  EXPECT_EQ(agg["apiVersion"], "apidiscovery.k8s.io/v2");
  auto list = json::parse(snap->resource_lists.at("/apis/example.com/v1")).as_object();
  bool has_status = false, has_scale = false;
  for (auto& r : list["resources"].as_array()) {
    has_status |= r.as_object()["name"] == "widgets/status";
    has_scale |= r.as_object()["name"] == "widgets/scale";
  }
  EXPECT_TRUE(has_status);
  EXPECT_TRUE(has_scale);
  // OpenAPI: the PATCH operation carries fieldValidation, and the hash is in the root.
  const std::string& doc = snap->openapi_docs.at("apis/example.com/v1");
  EXPECT_NE(doc.find("fieldValidation"), std::string::npos);
  EXPECT_NE(doc.find("com.example.v1.Widget"), std::string::npos);
  EXPECT_NE(
      snap->openapi_root.find("/openapi/v3/apis/example.com/v1?hash=" + snap->openapi_hashes.at("apis/example.com/v1")),
      std::string::npos);
  // A different schema changes the hash.
  auto changed = Crd();
  changed["spec"]
      .as_object()["versions"]
      .as_array()[0]
      .as_object()["schema"]
      .as_object()["openAPIV3Schema"]
      .as_object()["description"] = "x";
  Registry reg2;
  reg2.rebuild({*ResourceFromCrd(changed)}, 8);
  EXPECT_NE(reg2.snapshot()->openapi_hashes.at("apis/example.com/v1"), snap->openapi_hashes.at("apis/example.com/v1"));
}

TEST(RegistryTest, ServesConfigMapsAndSecretsAsCoreKinds) {
  Registry reg;
  auto snap = reg.snapshot();
  auto cm = snap->find("", "configmaps");
  auto secret = snap->find("", "secrets");
  ASSERT_NE(cm, nullptr);
  ASSERT_NE(secret, nullptr);
  EXPECT_EQ(cm->kind, "ConfigMap");
  EXPECT_EQ(cm->short_names, std::vector<std::string>{"cm"});
  EXPECT_TRUE(cm->namespaced && secret->namespaced);
  EXPECT_TRUE(cm->builtin && secret->builtin);  // strategic merge patch, as kubectl apply sends
  EXPECT_FALSE(cm->status_subresource || secret->status_subresource);
  EXPECT_FALSE(cm->generation || secret->generation);
  EXPECT_EQ(cm->key("default", "x"), "/registry/core/configmaps/default/x");
  EXPECT_TRUE(cm->categories.empty());  // not in `kubectl get all`, as upstream

  // Legacy discovery (/api/v1) and aggregated discovery (/api).
  auto list = json::parse(snap->resource_lists.at("/api/v1")).as_object();
  std::map<std::string, json::object> by_name;
  for (auto& r : list["resources"].as_array()) by_name[std::string(r.as_object()["name"].as_string())] = r.as_object();
  ASSERT_TRUE(by_name.count("configmaps"));
  ASSERT_TRUE(by_name.count("secrets"));
  EXPECT_FALSE(by_name.count("configmaps/status"));
  EXPECT_EQ(by_name["configmaps"]["kind"], "ConfigMap");
  EXPECT_EQ(by_name["configmaps"]["shortNames"], json::array{"cm"});
  EXPECT_EQ(by_name["secrets"]["singularName"], "secret");
  EXPECT_FALSE(by_name["secrets"].contains("shortNames"));
  auto agg = json::parse(snap->api_aggregated_v2).as_object();
  std::set<std::string> aggregated;
  for (auto& v : agg["items"].as_array()[0].as_object()["versions"].as_array())
    for (auto& r : v.as_object()["resources"].as_array())
      aggregated.insert(std::string(r.as_object()["resource"].as_string()));
  EXPECT_TRUE(aggregated.count("configmaps") && aggregated.count("secrets") && aggregated.count("namespaces"));

  // OpenAPI v3: schemas with their GVK, data/binaryData/stringData/type/immutable.
  auto doc = json::parse(snap->openapi_docs.at("api/v1")).as_object();
  auto& schemas = doc["components"].as_object()["schemas"].as_object();
  ASSERT_TRUE(schemas.contains("io.k8s.api.core.v1.ConfigMap"));
  ASSERT_TRUE(schemas.contains("io.k8s.api.core.v1.Secret"));
  auto& cm_schema = schemas["io.k8s.api.core.v1.ConfigMap"].as_object();
  EXPECT_EQ(cm_schema["x-kubernetes-group-version-kind"],
            json::parse(R"([{"group":"","kind":"ConfigMap","version":"v1"}])"));
  auto& cm_props = cm_schema["properties"].as_object();
  for (const char* f : {"apiVersion", "kind", "metadata", "data", "binaryData", "immutable"})
    EXPECT_TRUE(cm_props.contains(f)) << f;
  EXPECT_EQ(cm_props["binaryData"].as_object()["additionalProperties"].as_object()["format"], "byte");
  auto& secret_props = schemas["io.k8s.api.core.v1.Secret"].as_object()["properties"].as_object();
  for (const char* f : {"data", "stringData", "type", "immutable"}) EXPECT_TRUE(secret_props.contains(f)) << f;
  auto& paths = doc["paths"].as_object();
  EXPECT_TRUE(paths.contains("/api/v1/namespaces/{namespace}/configmaps/{name}"));
  EXPECT_TRUE(paths.contains("/api/v1/namespaces/{namespace}/secrets"));
  EXPECT_FALSE(paths.contains("/api/v1/namespaces/{namespace}/secrets/{name}/status"));

  // kubectl's columns: NAME DATA AGE, NAME TYPE DATA AGE.
  auto names = [](const ResourceInfo& r) {
    std::vector<std::string> out;
    for (const auto& c : r.versions[0].columns) out.push_back(c.name);
    return out;
  };
  EXPECT_EQ(names(*cm), (std::vector<std::string>{"Data", "Age"}));
  EXPECT_EQ(names(*secret), (std::vector<std::string>{"Type", "Data", "Age"}));
}

}  // namespace
}  // namespace setpoint::apiserver
