#include "apiserver/resources.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace setpoint::apiserver {
namespace {

namespace json = boost::json;

json::object Crd(std::string_view extra_version_fields = "") {
  std::string text = R"({"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
    "metadata":{"name":"widgets.example.com"},
    "spec":{"group":"example.com","scope":"Namespaced",
      "names":{"plural":"widgets","singular":"widget","kind":"Widget","shortNames":["wd"],"categories":["all"]},
      "versions":[{"name":"v1","served":true,"storage":true)" + std::string(extra_version_fields) + R"(,
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
  not_structural["spec"].as_object()["versions"].as_array()[0].as_object()["schema"] =
      json::parse(R"({"openAPIV3Schema":{"type":"object","properties":{"spec":{"properties":{"a":{"type":"string"}}}}}})");
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
  EXPECT_NE(snap->openapi_root.find("/openapi/v3/apis/example.com/v1?hash=" + snap->openapi_hashes.at("apis/example.com/v1")),
            std::string::npos);
  // A different schema changes the hash.
  auto changed = Crd();
  changed["spec"].as_object()["versions"].as_array()[0].as_object()["schema"].as_object()["openAPIV3Schema"].as_object()["description"] = "x";
  Registry reg2;
  reg2.rebuild({*ResourceFromCrd(changed)}, 8);
  EXPECT_NE(reg2.snapshot()->openapi_hashes.at("apis/example.com/v1"), snap->openapi_hashes.at("apis/example.com/v1"));
}

}  // namespace
}  // namespace setpoint::apiserver
