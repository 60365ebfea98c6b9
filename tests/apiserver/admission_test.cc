// Admission as pure functions: each rule checked on objects alone, with no store, cache or HTTP.
#include "apiserver/admission.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "setpoint/common/json.h"

namespace setpoint::apiserver {
namespace {

namespace json = boost::json;

// 2026-11-27T05:23:31Z
const WallTime kNow = WallTime(std::chrono::seconds(1795757011));

json::object Parse(std::string_view text) { return json::parse(text).as_object(); }

ResourceInfoPtr Widgets() {
  auto r = ResourceFromCrd(Parse(R"({"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
    "metadata":{"name":"widgets.example.com"},
    "spec":{"group":"example.com","scope":"Namespaced","names":{"plural":"widgets","kind":"Widget"},
      "versions":[{"name":"v1","served":true,"storage":true,"subresources":{"status":{}},
        "schema":{"openAPIV3Schema":{"type":"object","properties":{
          "spec":{"type":"object","properties":{"size":{"type":"integer","default":1},"color":{"type":"string"}}},
          "status":{"type":"object","properties":{"ready":{"type":"boolean"}}}}}}}]}})"));
  EXPECT_TRUE(r.has_value()) << r.error().to_string();
  return *r;
}

ResourceInfoPtr Builtin(std::string_view resource) {
  for (auto& r : BuiltinResources())
    if (r->resource == resource) return r;
  ADD_FAILURE() << "no built-in " << resource;
  return nullptr;
}

AdmissionAttributes For(const ResourceInfo& res, std::string ns = "") {
  AdmissionAttributes a;
  a.resource = &res;
  a.api_version = res.api_version(res.storage_version);
  a.ns = std::move(ns);
  a.now = kNow;
  return a;
}

std::string MetaString(const json::object& obj, std::string_view field) {
  return std::string(GetStringOr(*GetObject(obj, "metadata"), field, ""));
}

TEST(AdmitCreateTest, SetsWhatOnlyTheServerSets) {
  auto widgets = Widgets();
  json::object obj = Parse(R"({"metadata":{"name":"a","uid":"mine","creationTimestamp":"2001-01-01T00:00:00Z",
    "deletionTimestamp":"2001-01-01T00:00:00Z","selfLink":"/x","generation":7},"spec":{"size":3}})");
  AdmissionReport report;
  ASSERT_TRUE(AdmitCreate(For(*widgets, "team"), obj, report).ok());
  EXPECT_EQ(GetStringOr(obj, "apiVersion", ""), "example.com/v1");
  EXPECT_EQ(GetStringOr(obj, "kind", ""), "Widget");
  EXPECT_EQ(MetaString(obj, "namespace"), "team");
  EXPECT_EQ(MetaString(obj, "creationTimestamp"), "2026-11-27T05:23:31Z");
  EXPECT_NE(MetaString(obj, "uid"), "mine");
  EXPECT_EQ(MetaString(obj, "uid").size(), 36u);
  EXPECT_EQ(GetInt(*GetObject(obj, "metadata"), "generation"), 1);
  EXPECT_FALSE(GetObject(obj, "metadata")->contains("deletionTimestamp"));
  EXPECT_FALSE(GetObject(obj, "metadata")->contains("selfLink"));
  EXPECT_FALSE(report.name_generated);
}

TEST(AdmitCreateTest, RefusesAnotherKindVersionNamespaceOrAResourceVersion) {
  auto widgets = Widgets();
  AdmissionReport report;
  json::object kind = Parse(R"({"kind":"Gadget","metadata":{"name":"a"}})");
  Status s = AdmitCreate(For(*widgets, "team"), kind, report);
  EXPECT_EQ(s.code(), StatusCode::kBadRequest);
  EXPECT_EQ(s.message(), "the kind of the provided object \"Gadget\" does not match the resource kind \"Widget\"");
  json::object version = Parse(R"({"apiVersion":"example.com/v2","metadata":{"name":"a"}})");
  EXPECT_EQ(AdmitCreate(For(*widgets, "team"), version, report).message(),
            "the API version in the data (example.com/v2) does not match the expected API version (example.com/v1)");
  json::object ns = Parse(R"({"metadata":{"name":"a","namespace":"other"}})");
  EXPECT_EQ(AdmitCreate(For(*widgets, "team"), ns, report).code(), StatusCode::kBadRequest);
  json::object rv = Parse(R"({"metadata":{"name":"a","resourceVersion":"5"}})");
  EXPECT_EQ(AdmitCreate(For(*widgets, "team"), rv, report).message(),
            "resourceVersion should not be set on objects to be created");
}

TEST(AdmitCreateTest, NamesFromGenerateNameOrRefusesNeither) {
  auto widgets = Widgets();
  AdmissionReport report;
  json::object obj = Parse(R"({"metadata":{"generateName":"web-"}})");
  ASSERT_TRUE(AdmitCreate(For(*widgets, "team"), obj, report).ok());
  EXPECT_TRUE(report.name_generated);
  EXPECT_EQ(MetaString(obj, "name").substr(0, 4), "web-");
  EXPECT_EQ(MetaString(obj, "name").size(), 9u);

  json::object nameless = Parse(R"({"metadata":{}})");
  Status s = AdmitCreate(For(*widgets, "team"), nameless, report);
  ASSERT_EQ(s.code(), StatusCode::kInvalid);
  ASSERT_EQ(s.causes().size(), 1u);
  EXPECT_EQ(s.causes()[0].field, "metadata.name");
  EXPECT_EQ(s.causes()[0].reason, "FieldValueRequired");
}

TEST(AdmitCreateTest, ANamespaceStartsActiveWithItsFinalizer) {
  auto namespaces = Builtin("namespaces");
  json::object obj = Parse(R"({"metadata":{"name":"demo","namespace":"ignored"}})");
  AdmissionReport report;
  ASSERT_TRUE(AdmitCreate(For(*namespaces), obj, report).ok());
  EXPECT_FALSE(GetObject(obj, "metadata")->contains("namespace"));
  EXPECT_EQ(json::serialize(obj.at("status")), R"({"phase":"Active"})");
  EXPECT_EQ(json::serialize(obj.at("spec")), R"({"finalizers":["kubernetes"]})");
  json::object bad = Parse(R"({"metadata":{"name":"Not_A_Label"}})");
  EXPECT_EQ(AdmitCreate(For(*namespaces), bad, report).code(), StatusCode::kInvalid);
}

TEST(AdmitCreateTest, StatusIsDroppedWhenTheKindHasAStatusSubresource) {
  auto widgets = Widgets();
  json::object obj = Parse(R"({"metadata":{"name":"a"},"status":{"ready":true}})");
  AdmissionReport report;
  ASSERT_TRUE(AdmitCreate(For(*widgets, "team"), obj, report).ok());
  EXPECT_FALSE(obj.contains("status"));
}

TEST(AdmitCreateTest, ATerminatingDefinitionTakesNoNewObjects) {
  auto widgets = std::make_shared<ResourceInfo>(*Widgets());
  widgets->terminating = true;
  json::object obj = Parse(R"({"metadata":{"name":"a"}})");
  AdmissionReport report;
  EXPECT_EQ(AdmitCreate(For(*widgets, "team"), obj, report).code(), StatusCode::kMethodNotAllowed);
}

TEST(AdmitObjectTest, UnknownFieldsAsFieldValidationSays) {
  auto widgets = Widgets();
  const std::string text = R"({"metadata":{"name":"a","namespace":"team"},"spec":{"size":2,"shape":"round"}})";
  AdmissionAttributes a = For(*widgets, "team");

  a.field_validation = FieldValidation::kStrict;
  json::object strict = Parse(text);
  AdmissionReport report;
  Status s = AdmitObject(a, strict, nullptr, report);
  EXPECT_EQ(s.code(), StatusCode::kBadRequest);
  EXPECT_EQ(s.message(), "strict decoding error: unknown field \"spec.shape\"");

  a.field_validation = FieldValidation::kWarn;
  json::object warned = Parse(text);
  AdmissionReport warn_report;
  ASSERT_TRUE(AdmitObject(a, warned, nullptr, warn_report).ok());
  ASSERT_EQ(warn_report.warnings.size(), 1u);
  EXPECT_EQ(warn_report.warnings[0], "unknown field \\\"spec.shape\\\"");
  EXPECT_FALSE(GetObject(warned, "spec")->contains("shape"));

  a.field_validation = FieldValidation::kIgnore;
  json::object ignored = Parse(text);
  AdmissionReport quiet;
  ASSERT_TRUE(AdmitObject(a, ignored, nullptr, quiet).ok());
  EXPECT_TRUE(quiet.warnings.empty());
  EXPECT_FALSE(GetObject(ignored, "spec")->contains("shape"));
}

TEST(AdmitObjectTest, SchemaDefaultsAndValidates) {
  auto widgets = Widgets();
  AdmissionReport report;
  json::object defaulted = Parse(R"({"metadata":{"name":"a","namespace":"team"},"spec":{}})");
  ASSERT_TRUE(AdmitObject(For(*widgets, "team"), defaulted, nullptr, report).ok());
  EXPECT_EQ(GetInt(*GetObject(defaulted, "spec"), "size"), 1);

  json::object wrong = Parse(R"({"metadata":{"name":"a","namespace":"team"},"spec":{"size":"big"}})");
  Status s = AdmitObject(For(*widgets, "team"), wrong, nullptr, report);
  ASSERT_EQ(s.code(), StatusCode::kInvalid);
  ASSERT_FALSE(s.causes().empty());
  EXPECT_EQ(s.causes()[0].field, "spec.size");
  EXPECT_EQ(s.message().substr(0, 32), "Widget.example.com \"a\" is invali");
}

TEST(AdmitObjectTest, NoNewFinalizersOnAnObjectBeingDeleted) {
  auto widgets = Widgets();
  json::object old = Parse(R"({"metadata":{"name":"a","namespace":"team","finalizers":["keep"],
    "deletionTimestamp":"2026-11-27T05:00:00Z"}})");
  json::object more = Parse(R"({"metadata":{"name":"a","namespace":"team","finalizers":["keep","late"],
    "deletionTimestamp":"2026-11-27T05:00:00Z"}})");
  AdmissionReport report;
  Status s = AdmitObject(For(*widgets, "team"), more, &old, report);
  ASSERT_EQ(s.code(), StatusCode::kInvalid);
  EXPECT_EQ(s.causes()[0].field, "metadata.finalizers");
  EXPECT_NE(s.causes()[0].message.find("[]string{\"late\"}"), std::string::npos);
  json::object fewer = Parse(R"({"metadata":{"name":"a","namespace":"team","finalizers":[],
    "deletionTimestamp":"2026-11-27T05:00:00Z"}})");
  EXPECT_TRUE(AdmitObject(For(*widgets, "team"), fewer, &old, report).ok());
}

TEST(AdmitObjectTest, AConfigMapIsDecodedAsTheTypedObjectWouldBe) {
  auto configmaps = Builtin("configmaps");
  json::object obj = Parse(R"({"metadata":{"name":"c","namespace":"team"},"data":{"k":"v"},"extra":1})");
  AdmissionAttributes a = For(*configmaps, "team");
  a.field_validation = FieldValidation::kWarn;
  AdmissionReport report;
  ASSERT_TRUE(AdmitObject(a, obj, nullptr, report).ok());
  EXPECT_FALSE(obj.contains("extra"));
  EXPECT_EQ(report.warnings.size(), 1u);
  json::object bad = Parse(R"({"metadata":{"name":"c","namespace":"team"},"data":{"bad key!":"v"}})");
  EXPECT_EQ(AdmitObject(a, bad, nullptr, report).code(), StatusCode::kInvalid);
}

TEST(AdmitUpdateTest, TheMainResourceKeepsStatusAndServerOwnedMetadata) {
  auto widgets = Widgets();
  json::object old = Parse(R"({"apiVersion":"example.com/v1","kind":"Widget",
    "metadata":{"name":"a","namespace":"team","uid":"u1","creationTimestamp":"2026-01-01T00:00:00Z","generation":4},
    "spec":{"size":1},"status":{"ready":true}})");
  json::object incoming = Parse(R"({"metadata":{"name":"a","uid":"forged","creationTimestamp":"1999-01-01T00:00:00Z",
    "labels":{"x":"y"}},"spec":{"size":1},"status":{"ready":false}})");
  AdmissionReport report;
  auto out = AdmitUpdate(For(*widgets, "team"), old, incoming, report);
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  EXPECT_EQ(MetaString(*out, "uid"), "u1");
  EXPECT_EQ(MetaString(*out, "creationTimestamp"), "2026-01-01T00:00:00Z");
  EXPECT_EQ(MetaString(*out, "namespace"), "team");
  EXPECT_EQ(json::serialize(out->at("status")), R"({"ready":true})");
  EXPECT_EQ(GetInt(*GetObject(*out, "metadata"), "generation"), 4);  // labels only: no bump

  json::object resized = incoming;
  resized["spec"] = Parse(R"({"size":5})");
  auto bumped = AdmitUpdate(For(*widgets, "team"), old, resized, report);
  ASSERT_TRUE(bumped.has_value());
  EXPECT_EQ(GetInt(*GetObject(*bumped, "metadata"), "generation"), 5);
}

TEST(AdmitUpdateTest, StatusChangesOnlyStatus) {
  auto widgets = Widgets();
  json::object old = Parse(R"({"apiVersion":"example.com/v1","kind":"Widget",
    "metadata":{"name":"a","namespace":"team","uid":"u1","generation":2},"spec":{"size":1}})");
  json::object incoming = Parse(R"({"metadata":{"name":"a","labels":{"x":"y"}},"spec":{"size":9},
    "status":{"ready":true}})");
  AdmissionAttributes a = For(*widgets, "team");
  a.subresource = "status";
  AdmissionReport report;
  auto out = AdmitUpdate(a, old, incoming, report);
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  EXPECT_EQ(json::serialize(out->at("spec")), R"({"size":1})");
  EXPECT_EQ(json::serialize(out->at("status")), R"({"ready":true})");
  EXPECT_FALSE(GetObject(*out, "metadata")->contains("labels"));
  EXPECT_EQ(GetInt(*GetObject(*out, "metadata"), "generation"), 2);
}

TEST(AdmitUpdateTest, FinalizeChangesOnlyANamespacesSpecFinalizers) {
  auto namespaces = Builtin("namespaces");
  json::object old = Parse(R"({"metadata":{"name":"demo","uid":"u"},"spec":{"finalizers":["kubernetes"]},
    "status":{"phase":"Terminating"}})");
  json::object incoming = Parse(R"({"metadata":{"name":"demo","labels":{"a":"b"}},"spec":{"finalizers":[]},
    "status":{"phase":"Active"}})");
  AdmissionAttributes a = For(*namespaces);
  a.subresource = "finalize";
  AdmissionReport report;
  auto out = AdmitUpdate(a, old, incoming, report);
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  EXPECT_EQ(json::serialize(out->at("spec")), R"({"finalizers":[]})");
  EXPECT_EQ(json::serialize(out->at("status")), R"({"phase":"Terminating"})");
  EXPECT_FALSE(GetObject(*out, "metadata")->contains("labels"));
}

TEST(NamespaceLifecycleTest, CreatesOnlyInAnActiveNamespace) {
  auto widgets = Widgets();
  Status missing = AdmitNamespaceLifecycle(*widgets, "gone", "a", nullptr);
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.message(), "namespaces \"gone\" not found");
  json::object terminating = Parse(R"({"metadata":{"name":"old","deletionTimestamp":"2026-11-27T05:00:00Z"}})");
  Status forbidden = AdmitNamespaceLifecycle(*widgets, "old", "a", &terminating);
  EXPECT_EQ(forbidden.code(), StatusCode::kForbidden);
  EXPECT_EQ(forbidden.message(),
            "widgets.example.com \"a\" is forbidden: unable to create new content in namespace old because it is "
            "being terminated");
  json::object active = Parse(R"({"metadata":{"name":"team"}})");
  EXPECT_TRUE(AdmitNamespaceLifecycle(*widgets, "team", "a", &active).ok());
}

TEST(NamespaceLifecycleTest, TheSystemNamespacesAreImmortal) {
  auto namespaces = Builtin("namespaces");
  for (const char* name : {"default", "kube-system", "kube-public"}) {
    Status s = AdmitDelete(*namespaces, name);
    EXPECT_EQ(s.code(), StatusCode::kForbidden) << name;
    EXPECT_EQ(s.message(), "namespaces \"" + std::string(name) + "\" is forbidden: this namespace may not be deleted");
  }
  EXPECT_TRUE(AdmitDelete(*namespaces, "team").ok());
  EXPECT_TRUE(AdmitDelete(*Widgets(), "default").ok());  // only namespaces are
}

TEST(CrdStatusTest, AcceptsFreeNamesAndReportsAConflict) {
  RegistrySnapshot registry;
  json::object crd = Parse(R"({"metadata":{"name":"widgets.example.com"},
    "spec":{"group":"example.com","names":{"plural":"widgets","kind":"Widget"},
      "versions":[{"name":"v1","served":true,"storage":true}]}})");
  SetCrdStatus(crd, registry, kNow);
  const json::object& status = crd.at("status").as_object();
  EXPECT_EQ(json::serialize(status.at("storedVersions")), R"(["v1"])");
  EXPECT_EQ(GetStringOr(status.at("conditions").as_array()[0].as_object(), "status", ""), "True");
  EXPECT_EQ(json::serialize(status.at("acceptedNames")), R"({"plural":"widgets","kind":"Widget"})");

  // Another definition in the group already serves the kind.
  auto other = std::make_shared<ResourceInfo>(*Widgets());
  other->resource = "gizmos";
  other->crd_name = "gizmos.example.com";
  registry.resources.push_back(other);
  json::object clash = Parse(R"({"metadata":{"name":"widgets.example.com"},
    "spec":{"group":"example.com","names":{"plural":"widgets","kind":"Widget"},"versions":[]}})");
  SetCrdStatus(clash, registry, kNow);
  const json::object& names = clash.at("status").as_object().at("conditions").as_array()[0].as_object();
  EXPECT_EQ(GetStringOr(names, "type", ""), "NamesAccepted");
  EXPECT_EQ(GetStringOr(names, "status", ""), "False");
  EXPECT_EQ(GetStringOr(names, "message", ""), "\"Widget\" is already in use");
  EXPECT_EQ(GetStringOr(names, "lastTransitionTime", ""), "2026-11-27T05:23:31Z");
}

}  // namespace
}  // namespace setpoint::apiserver
