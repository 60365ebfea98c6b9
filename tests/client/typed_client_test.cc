// TypedClient<Widget> against the real server, with Widget served from a CRD.
#include "setpoint/client/typed_client.h"

#include <boost/json.hpp>

#include "server_fixture.h"
#include "setpoint/common/json.h"

namespace example {

namespace json = boost::json;
using setpoint::client::ObjectMeta;

struct WidgetSpec {
  std::int64_t size = 0;
  std::string color;
};

struct WidgetStatus {
  bool ready = false;
  std::int64_t observed_generation = 0;
};

struct Widget {
  static constexpr std::string_view kGroup = "example.com";
  static constexpr std::string_view kVersion = "v1";
  static constexpr std::string_view kResource = "widgets";
  static constexpr std::string_view kKind = "Widget";

  ObjectMeta metadata;
  WidgetSpec spec;
  WidgetStatus status;
};

void tag_invoke(json::value_from_tag, json::value& v, const Widget& w) {
  json::object spec{{"size", w.spec.size}};
  if (!w.spec.color.empty()) spec["color"] = w.spec.color;
  v = json::object{{"metadata", json::value_from(w.metadata)},
                   {"spec", std::move(spec)},
                   {"status", {{"ready", w.status.ready}, {"observedGeneration", w.status.observed_generation}}}};
}

Widget tag_invoke(json::value_to_tag<Widget>, const json::value& v) {
  const json::object& o = v.as_object();  // throws on a non-object: the client maps that to Internal
  Widget w;
  if (const auto* m = o.if_contains("metadata")) w.metadata = json::value_to<ObjectMeta>(*m);
  if (const auto* s = setpoint::GetObject(o, "spec")) {
    w.spec.size = setpoint::GetInt(*s, "size").value_or(0);
    w.spec.color = std::string(setpoint::GetStringOr(*s, "color", ""));
  }
  if (const auto* s = setpoint::GetObject(o, "status")) {
    const json::value* ready = s->if_contains("ready");
    w.status.ready = ready && ready->is_bool() && ready->as_bool();
    w.status.observed_generation = setpoint::GetInt(*s, "observedGeneration").value_or(0);
  }
  return w;
}

// A resource the server does not know, to check that the traits specialisation route compiles.
struct Gadget {
  ObjectMeta metadata;
};
void tag_invoke(json::value_from_tag, json::value& v, const Gadget& g) {
  v = json::object{{"metadata", json::value_from(g.metadata)}};
}
Gadget tag_invoke(json::value_to_tag<Gadget>, const json::value&) { return {}; }

}  // namespace example

template <>
struct setpoint::client::ResourceTraits<example::Gadget> {
  static constexpr std::string_view group = "";
  static constexpr std::string_view version = "v1";
  static constexpr std::string_view resource = "gadgets";
  static constexpr std::string_view kind = "Gadget";
  static constexpr bool namespaced = false;
};

namespace setpoint::client {
namespace {

namespace json = boost::json;
using example::Widget;
using namespace std::chrono_literals;

static_assert(Resource<Widget>);
static_assert(Resource<example::Gadget>);
static_assert(!Resource<int>);

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
        "spec": {"type": "object", "properties": {
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
  auto gvr = GvrOf<Widget>();
  EXPECT_EQ(gvr.api_version(), "example.com/v1");
  EXPECT_TRUE(gvr.namespaced);
  EXPECT_FALSE(GvrOf<example::Gadget>().namespaced);
  json::object o = ToObject(Widget{});
  EXPECT_EQ(o.at("apiVersion").as_string(), "example.com/v1");
  EXPECT_EQ(o.at("kind").as_string(), "Widget");
  EXPECT_FALSE(o.at("metadata").as_object().contains("labels"));  // omitempty
  auto bad = FromObject<Widget>(json::value(42));
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), StatusCode::kInternal);
}

TEST_F(TypedClientTest, CrudStatusPatchAndErrors) {
  TypedClient<Widget> widgets(*rest_);
  auto created = widgets.create(NewWidget("w1", 3));  // namespace from the config: default
  ASSERT_TRUE(created.has_value()) << created.error().to_string();
  EXPECT_EQ(created->metadata.namespace_, "default");
  EXPECT_EQ(created->metadata.labels.at("app"), "demo");
  EXPECT_EQ(created->metadata.generation, 1);
  EXPECT_FALSE(created->metadata.uid.empty());
  EXPECT_FALSE(created->metadata.creation_timestamp.empty());

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
  s.status.observed_generation = s.metadata.generation;
  s.spec.size = 99;  // ignored by the status subresource
  auto with_status = widgets.update_status(s);
  ASSERT_TRUE(with_status.has_value()) << with_status.error().to_string();
  EXPECT_TRUE(with_status->status.ready);
  EXPECT_EQ(with_status->status.observed_generation, 2);
  EXPECT_EQ(with_status->spec.size, 3);

  auto patched = widgets.patch("default", "w1", PatchType::kMerge, R"({"spec":{"size":5}})");
  ASSERT_TRUE(patched.has_value()) << patched.error().to_string();
  EXPECT_EQ(patched->spec.size, 5);
  EXPECT_TRUE(patched->status.ready);

  auto got = widgets.get("default", "w1");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->metadata.resource_version, patched->metadata.resource_version);

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
