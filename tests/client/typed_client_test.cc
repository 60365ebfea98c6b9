// TypedClient<Widget> against the real server, with Widget served from a CRD.
#include "setpoint/client/typed_client.h"

#include <boost/json.hpp>

#include "server_fixture.h"

namespace example {

namespace types = setpoint::types;

struct WidgetSpec {
  std::int64_t size = 0;
  std::string color;
};
BOOST_DESCRIBE_STRUCT(WidgetSpec, (), (size, color))

struct WidgetStatus {
  bool ready = false;
  std::int64_t observedGeneration = 0;
};
BOOST_DESCRIBE_STRUCT(WidgetStatus, (), (ready, observedGeneration))

struct Widget : types::Object {
  static constexpr types::Kind kKind{"example.com", "v1", "Widget", "widgets"};
  WidgetSpec spec;
  WidgetStatus status;
};
BOOST_DESCRIBE_STRUCT(Widget, (types::Object), (spec, status))

// A cluster-scoped resource the server does not know.
struct Gadget : types::Object {
  static constexpr types::Kind kKind{"", "v1", "Gadget", "gadgets", false};
};
BOOST_DESCRIBE_STRUCT(Gadget, (types::Object), ())

}  // namespace example

namespace setpoint::client {
namespace {

namespace json = boost::json;
using example::Widget;
using namespace std::chrono_literals;

static_assert(types::Resource<Widget>);
static_assert(types::Resource<example::Gadget>);
static_assert(!types::Resource<int>);

const char* kWidgetCrd = R"({
  "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
  "metadata": {"name": "widgets.example.com"},
  "spec": {
    "group": "example.com", "scope": "Namespaced",
    "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
    "versions": [{
      "name": "v1", "served": true, "storage": true,
      "subresources": {"status": {}},
      "schema": {"openAPIV3Schema": {"type": "object", "properties": {
        "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true, "properties": {
          "size": {"type": "integer", "minimum": 1}, "color": {"type": "string"}}},
        "status": {"type": "object", "properties": {
          "ready": {"type": "boolean"}, "observedGeneration": {"type": "integer"}}}}}}
    }]
  }
})";

class TypedClientTest : public testing::ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    if (HasFatalFailure()) return;
    GroupVersionResource crds{"apiextensions.k8s.io", "v1", "customresourcedefinitions", false, ""};
    auto crd = dynamic_->create(crds, "", json::parse(kWidgetCrd).as_object());
    ASSERT_TRUE(crd.has_value()) << crd.error().to_string();
    ASSERT_TRUE(Eventually([&] { return Discover(*rest_, "wd").has_value(); })) << "widgets never became served";
  }

  Widget NewWidget(const std::string& name, std::int64_t size) {
    Widget w;
    w.metadata.name = name;
    w.metadata.labels = {{"app", "demo"}};
    w.spec.size = size;
    return w;
  }
};

TEST(TypedTraitsTest, GvrAndApiVersionComeFromTheType) {
  const auto& gvr = TypedClient<Widget>::gvr();
  EXPECT_EQ(gvr.api_version(), "example.com/v1");
  EXPECT_TRUE(gvr.namespaced);
  EXPECT_FALSE(types::GvrOf<example::Gadget>().namespaced);
  json::object o = types::Encode(Widget{});
  EXPECT_EQ(o.at("apiVersion").as_string(), "example.com/v1");
  EXPECT_EQ(o.at("kind").as_string(), "Widget");
  EXPECT_FALSE(o.at("metadata").as_object().contains("labels"));  // omitempty
  auto bad = types::DecodeAnswer<Widget>(json::object{{"spec", 42}});
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), StatusCode::kInternal);
}

TEST_F(TypedClientTest, AFieldTheTypeDoesNotModelSurvivesAnUpdate) {
  GroupVersionResource widgets_gvr = TypedClient<Widget>::gvr();
  json::object raw{{"apiVersion", "example.com/v1"},
                   {"kind", "Widget"},
                   {"metadata", {{"name", "kept"}, {"annotations", {{"a", "b"}}}}},
                   {"spec", {{"size", 2}, {"shape", "round"}}}};
  ASSERT_TRUE(dynamic_->create(widgets_gvr, "default", raw).has_value());
  TypedClient<Widget> widgets(*rest_);
  auto w = widgets.get("default", "kept");
  ASSERT_TRUE(w.has_value()) << w.error().to_string();
  w->spec.size = 3;
  ASSERT_TRUE(widgets.update(*w).has_value());
  auto back = dynamic_->get(widgets_gvr, "default", "kept");
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->at("spec").at("shape"), "round");  // preserved by the CRD's schema, and by the type
  EXPECT_EQ(back->at("spec").at("size"), 3);
}

TEST_F(TypedClientTest, CrudStatusPatchAndErrors) {
  TypedClient<Widget> widgets(*rest_);
  auto created = widgets.create(NewWidget("w1", 3));  // namespace from the config: default
  ASSERT_TRUE(created.has_value()) << created.error().to_string();
  EXPECT_EQ(created->metadata.namespace_, "default");
  EXPECT_EQ(created->metadata.labels.at("app"), "demo");
  EXPECT_EQ(created->metadata.generation, 1);
  EXPECT_FALSE(created->metadata.uid.empty());
  EXPECT_FALSE(created->metadata.creationTimestamp.empty());

  EXPECT_EQ(widgets.create(NewWidget("w1", 3)).error().code(), StatusCode::kAlreadyExists);

  auto invalid = widgets.create(NewWidget("w2", 0));
  ASSERT_FALSE(invalid.has_value());
  EXPECT_EQ(invalid.error().code(), StatusCode::kInvalid);
  ASSERT_FALSE(invalid.error().causes().empty());
  EXPECT_EQ(invalid.error().causes()[0].field, "spec.size");

  Widget w = *created;
  w.spec.color = "blue";
  auto updated = widgets.update(w);
  ASSERT_TRUE(updated.has_value()) << updated.error().to_string();
  EXPECT_EQ(updated->spec.color, "blue");
  EXPECT_EQ(updated->metadata.generation, 2);
  EXPECT_EQ(widgets.update(w).error().code(), StatusCode::kConflict);  // w's RV is now stale

  Widget s = *updated;
  s.status.ready = true;
  s.status.observedGeneration = s.metadata.generation;
  s.spec.size = 99;  // ignored by the status subresource
  auto with_status = widgets.update_status(s);
  ASSERT_TRUE(with_status.has_value()) << with_status.error().to_string();
  EXPECT_TRUE(with_status->status.ready);
  EXPECT_EQ(with_status->status.observedGeneration, 2);
  EXPECT_EQ(with_status->spec.size, 3);

  auto patched = widgets.patch("default", "w1", PatchType::kMerge, R"({"spec":{"size":5}})");
  ASSERT_TRUE(patched.has_value()) << patched.error().to_string();
  EXPECT_EQ(patched->spec.size, 5);
  EXPECT_TRUE(patched->status.ready);

  auto got = widgets.get("default", "w1");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->metadata.resourceVersion, patched->metadata.resourceVersion);

  ASSERT_TRUE(widgets.create(NewWidget("w3", 1)).has_value());
  auto list = widgets.list("default");
  ASSERT_TRUE(list.has_value());
  ASSERT_EQ(list->items.size(), 2u);
  EXPECT_FALSE(list->resource_version.empty());

  EXPECT_TRUE(widgets.remove("default", "w1").ok());
  EXPECT_EQ(widgets.get("default", "w1").error().code(), StatusCode::kNotFound);
  EXPECT_EQ(widgets.remove("default", "w1").code(), StatusCode::kNotFound);
}

TEST_F(TypedClientTest, TypedWatchDecodesEvents) {
  TypedClient<Widget> widgets(*rest_);
  auto list = widgets.list("default");
  ASSERT_TRUE(list.has_value());
  WatchOptions wo;
  wo.resource_version = list->resource_version;
  auto w = widgets.watch("default", wo);
  ASSERT_TRUE(w.has_value()) << w.error().to_string();
  ASSERT_TRUE(widgets.create(NewWidget("t", 2)).has_value());
  ASSERT_TRUE(widgets.patch("default", "t", PatchType::kMerge, R"({"spec":{"size":4}})").has_value());
  auto e1 = w->next(10s);
  ASSERT_TRUE(e1.has_value() && e1->has_value());
  EXPECT_EQ((*e1)->type, "ADDED");
  EXPECT_EQ((*e1)->object.spec.size, 2);
  auto e2 = w->next(10s);
  ASSERT_TRUE(e2.has_value() && e2->has_value());
  EXPECT_EQ((*e2)->type, "MODIFIED");
  EXPECT_EQ((*e2)->object.spec.size, 4);
  w->cancel();
  auto end = w->next(10s);
  ASSERT_TRUE(end.has_value());
  EXPECT_FALSE(end->has_value());
}

}  // namespace
}  // namespace setpoint::client
