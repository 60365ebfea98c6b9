// The typed codec: described structs to JSON and back, the omitempty rules, paths in decode
// errors, unknown fields kept across a read-modify-write, and the shared meta types.
#include "setpoint/types/codec.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "setpoint/types/core_v1.h"
#include "setpoint/types/meta.h"
#include "setpoint/types/setpoint_v1alpha1.h"

namespace {

namespace json = boost::json;
using namespace setpoint;
using setpointv1alpha1::ProcessSet;

struct Inner {
  std::string name;
  std::int32_t count = 0;
  friend bool operator==(const Inner&, const Inner&) = default;
};
BOOST_DESCRIBE_STRUCT(Inner, (), (name, count))

struct Outer {
  std::string label;
  bool on = false;
  std::optional<std::string> maybe;
  std::vector<Inner> items;
  std::map<std::string, std::string> tags;
  std::optional<Inner> extra;
  std::string default_;
  friend bool operator==(const Outer&, const Outer&) = default;
};
BOOST_DESCRIBE_STRUCT(Outer, (), (label, on, maybe, items, tags, extra, default_))

TEST(CodecTest, EncodesWithOmitEmptyAndWireNames) {
  Outer o;
  o.items.push_back({"a", 0});
  o.maybe = "";
  o.default_ = "d";
  EXPECT_EQ(types::ToJson(o), json::parse(R"({"on":false,"maybe":"","items":[{"count":0,"name":"a"}],"default":"d"})"));
}

TEST(CodecTest, RoundTrips) {
  Outer o{"l", true, "m", {{"x", 2}, {"y", 3}}, {{"k", "v"}}, Inner{"e", 1}, ""};
  auto back = types::FromJson<Outer>(types::ToJson(o));
  ASSERT_TRUE(back.has_value()) << back.error().to_string();
  EXPECT_EQ(*back, o);
}

TEST(CodecTest, AbsentAndNullKeepDefaults) {
  auto o = types::FromJson<Inner>(json::parse(R"({"name":null})"));
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->name, "");
  EXPECT_EQ(o->count, 0);
}

TEST(CodecTest, ErrorsNameThePath) {
  auto o = types::FromJson<Outer>(json::parse(R"({"items":[{"name":"a"},{"count":"three"}]})"));
  ASSERT_FALSE(o.has_value());
  EXPECT_EQ(o.error().code(), StatusCode::kInvalid);
  EXPECT_EQ(o.error().message(), "items[1].count: expected an integer, got string");
  auto big = types::FromJson<Inner>(json::parse(R"({"count":4294967296})"));
  ASSERT_FALSE(big.has_value());
  EXPECT_EQ(big.error().message(), "count: expected a smaller integer, got integer");
  auto integral_double = types::FromJson<Inner>(json::parse(R"({"count":3.0})"));
  ASSERT_TRUE(integral_double.has_value());
  EXPECT_EQ(integral_double->count, 3);
  EXPECT_FALSE(types::FromJson<Inner>(json::parse(R"({"count":3.5})")).has_value());
}

TEST(CodecTest, FieldsTheTypeDoesNotModelSurviveAReadModifyWrite) {
  json::object served = json::parse(R"({
    "apiVersion": "setpoint.dev/v1alpha1", "kind": "ProcessSet",
    "metadata": {"name": "web", "namespace": "default", "uid": "u1", "resourceVersion": "7",
                 "managedFields": [{"manager": "kubectl"}]},
    "spec": {"replicas": 2, "futureField": {"a": 1},
             "selector": {"matchLabels": {"app": "web"}},
             "template": {"spec": {"command": ["web"], "ports": [{"name": "http", "newer": true}]}}},
    "status": {"replicas": 2}})")
                            .as_object();
  auto set = types::Decode<ProcessSet>(served);
  ASSERT_TRUE(set.has_value()) << set.error().to_string();
  EXPECT_EQ(set->spec.replicas, 2);
  EXPECT_EQ(set->spec.template_.spec.ports.at(0).address, "127.0.0.1");  // the schema's default
  set->spec.replicas = 3;
  set->metadata.labels["tier"] = "front";
  json::object written = types::Encode(*set);
  EXPECT_EQ(written.at("spec").at("replicas"), 3);
  EXPECT_EQ(written.at("spec").at("futureField"), json::parse(R"({"a":1})"));
  EXPECT_EQ(written.at("metadata").at("managedFields").as_array().size(), 1u);
  EXPECT_EQ(written.at("metadata").at("labels").at("tier"), "front");
  EXPECT_EQ(written.at("spec").at("template").at("spec").at("ports").at(0).at("newer"), true);
  EXPECT_EQ(written.at("apiVersion"), "setpoint.dev/v1alpha1");
  // A field the type models and the code cleared goes.
  set->metadata.labels.clear();
  EXPECT_FALSE(types::Encode(*set).at("metadata").as_object().contains("labels"));
}

TEST(CodecTest, AMistypedServedFieldIsReported) {
  auto set = types::Decode<ProcessSet>(json::parse(R"({"spec":{"replicas":"two"}})").as_object());
  ASSERT_FALSE(set.has_value());
  EXPECT_EQ(set.error().message(), "ProcessSet: spec.replicas: expected an integer, got string");
}

// metav1.Condition leaves observedGeneration out at 0, as upstream does: kubectl wait reads a 0
// there as a condition behind the object's generation.
TEST(CodecTest, OmitZeroLeavesAZeroOut) {
  types::Condition c{"Ready", "True", 0, "", "Up", ""};
  EXPECT_FALSE(types::ToJson(c).as_object().contains("observedGeneration"));
  c.observedGeneration = 3;
  EXPECT_EQ(types::ToJson(c).as_object().at("observedGeneration"), 3);
  auto back = types::FromJson<types::Condition>(types::ToJson(c));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->observedGeneration, 3);
  EXPECT_EQ(*back, c);
  // Written back at 0 over JSON that had a number, the number goes.
  json::value slot = json::parse(R"({"type":"Ready","status":"True","observedGeneration":2,"reason":"Up"})");
  types::Condition zero = *back;
  zero.observedGeneration = 0;
  ASSERT_TRUE(types::EncodeOnto(zero, slot));
  EXPECT_FALSE(slot.as_object().contains("observedGeneration"));
}

// A read-modify-write writes back what it read: an empty string the server stored stays (it may
// mean something its absence does not), and a null number stays null rather than becoming 0.
TEST(CodecTest, EmptyAndNullFieldsAreWrittenBackAsRead) {
  json::value slot = json::parse(R"({"name":"","count":null,"extra":1})");
  auto inner = types::FromJson<Inner>(slot);
  ASSERT_TRUE(inner.has_value());
  ASSERT_TRUE(types::EncodeOnto(*inner, slot));
  EXPECT_EQ(slot, json::parse(R"({"name":"","count":null,"extra":1})"));
  inner->count = 2;  // what changed is written; what did not stays as it was
  ASSERT_TRUE(types::EncodeOnto(*inner, slot));
  EXPECT_EQ(slot, json::parse(R"({"name":"","count":2,"extra":1})"));
}

TEST(MetaTest, MetaOfReadsAnyObjectLeniently) {
  auto meta = types::MetaOf(json::parse(R"({"metadata":{"name":"n","namespace":"ns","finalizers":["a"],
      "ownerReferences":[{"apiVersion":"v1","kind":"K","name":"o","uid":"u","controller":true}]}})")
                                .as_object());
  EXPECT_EQ(meta.name, "n");
  EXPECT_EQ(meta.namespace_, "ns");
  EXPECT_TRUE(meta.has_finalizer("a"));
  ASSERT_NE(meta.controller_ref(), nullptr);
  EXPECT_EQ(meta.controller_ref()->uid, "u");
  EXPECT_TRUE(types::MetaOf(json::object()).name.empty());
}

TEST(MetaTest, SetConditionMovesTheTransitionTimeOnlyWithTheStatus) {
  std::vector<types::Condition> cs;
  const auto t0 = *ParseRfc3339("2026-01-01T00:00:00Z");
  const auto t1 = *ParseRfc3339("2026-01-01T00:01:00Z");
  EXPECT_TRUE(types::SetCondition(cs, {"Ready", "False", 1, "", "Starting", ""}, t0));
  EXPECT_TRUE(types::SetCondition(cs, {"Ready", "False", 2, "", "Waiting", "m"}, t1));
  EXPECT_EQ(cs[0].lastTransitionTime, "2026-01-01T00:00:00Z");
  EXPECT_FALSE(types::SetCondition(cs, {"Ready", "False", 2, "", "Waiting", "m"}, t1));
  EXPECT_TRUE(types::SetCondition(cs, {"Ready", "True", 2, "", "Done", ""}, t1));
  EXPECT_EQ(cs[0].lastTransitionTime, "2026-01-01T00:01:00Z");
  EXPECT_TRUE(types::IsConditionTrue(cs, "Ready"));
  EXPECT_TRUE(types::RemoveCondition(cs, "Ready"));
  EXPECT_TRUE(cs.empty());
}

TEST(MetaTest, ControllerReferences) {
  setpointv1alpha1::ProcessSet owner;
  owner.metadata = {.name = "o", .namespace_ = "ns", .uid = "u1"};
  corev1::ConfigMap child;
  ASSERT_TRUE(types::SetControllerReference(owner, child).ok());
  EXPECT_EQ(child.metadata.namespace_, "ns");  // placed with its owner
  ASSERT_EQ(child.metadata.ownerReferences.size(), 1u);
  EXPECT_EQ(child.metadata.ownerReferences[0],
            (types::OwnerReference{"setpoint.dev/v1alpha1", "ProcessSet", "o", "u1", true, true}));
  ASSERT_TRUE(types::SetControllerReference(owner, child).ok());
  EXPECT_EQ(child.metadata.ownerReferences.size(), 1u);
  setpointv1alpha1::ProcessSet other;
  other.metadata = {.name = "p", .namespace_ = "ns", .uid = "u2"};
  Status s = types::SetControllerReference(other, child);
  EXPECT_EQ(s.code(), StatusCode::kConflict);
  child.metadata.namespace_ = "elsewhere";
  child.metadata.ownerReferences.clear();
  EXPECT_EQ(types::SetControllerReference(owner, child).code(), StatusCode::kInvalid);
  setpointv1alpha1::Agent agent;  // cluster-scoped: no namespaced owner
  EXPECT_EQ(types::SetControllerReference(owner, agent).code(), StatusCode::kInvalid);
}

TEST(MetaTest, IntOrStringQuantityDuration) {
  auto port = types::FromJson<types::IntOrString>(json::value("http"));
  ASSERT_TRUE(port.has_value());
  EXPECT_FALSE(port->is_int());
  EXPECT_EQ(types::ToJson(types::IntOrString(8080)), json::value(8080));
  EXPECT_EQ(types::IntOrString("25%").scaled(10, true), 3);
  EXPECT_EQ(types::IntOrString("25%").scaled(10, false), 2);
  EXPECT_EQ(types::Quantity("100m").milli_value(), 100);
  EXPECT_EQ(types::Quantity("64Mi").milli_value(), 64LL * 1024 * 1024 * 1000);
  EXPECT_EQ(types::Quantity("1.5").milli_value(), 1500);
  EXPECT_EQ(types::Quantity("2e3").milli_value(), 2000000);
  EXPECT_EQ(types::Quantity("-1k").milli_value(), -1000000);
  EXPECT_FALSE(types::Quantity("1Zi").milli_value().has_value());
  EXPECT_FALSE(types::Quantity("99E").milli_value().has_value());  // overflows
  auto d = types::FromJson<types::Duration>(json::value("1h30m0.5s"));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->value(), std::chrono::milliseconds(5400500));
  EXPECT_EQ(types::ToJson(*d), json::value("1h30m0.5s"));
  EXPECT_EQ(types::ToJson(types::Duration(std::chrono::milliseconds(250))), json::value("250ms"));
  EXPECT_FALSE(types::FromJson<types::Duration>(json::value("5 parsecs")).has_value());
}

}  // namespace
