// Owner references (S1-18: AlreadyOwned) and finalizers (S1-10 building blocks).
#include "setpoint/runtime/object_helpers.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace setpoint::runtime {
namespace {

namespace json = boost::json;

json::object Obj(std::string_view text) { return json::parse(text).as_object(); }

json::object Owner(std::string_view name, std::string_view uid, std::string_view ns = "default") {
  json::object o = Obj(R"({"apiVersion":"cache.example.com/v1alpha1","kind":"Memcached","metadata":{}})");
  json::object& meta = o["metadata"].as_object();
  meta["name"] = name;
  meta["uid"] = uid;
  if (!ns.empty()) meta["namespace"] = ns;
  return o;
}

json::object Deployment() {
  return Obj(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","namespace":"default"}})");
}

const json::array& Refs(const json::object& o) { return o.at("metadata").at("ownerReferences").as_array(); }

TEST(OwnerReferenceTest, SetControllerReference) {
  json::object d = Deployment();
  ASSERT_TRUE(set_controller_reference(Owner("a", "uid-a"), d).ok());
  ASSERT_EQ(Refs(d).size(), 1u);
  const json::object& ref = Refs(d)[0].as_object();
  EXPECT_EQ(ref.at("apiVersion"), "cache.example.com/v1alpha1");
  EXPECT_EQ(ref.at("kind"), "Memcached");
  EXPECT_EQ(ref.at("name"), "a");
  EXPECT_EQ(ref.at("uid"), "uid-a");
  EXPECT_EQ(ref.at("controller"), true);
  EXPECT_EQ(ref.at("blockOwnerDeletion"), true);
  EXPECT_EQ(get_controller_of(d), &ref);
  EXPECT_TRUE(is_owned_by(d, "uid-a"));
  EXPECT_FALSE(is_owned_by(d, "uid-b"));
  // Same owner again (another version, new uid after re-creation): replaced, not duplicated.
  json::object again = Owner("a", "uid-a2");
  again["apiVersion"] = "cache.example.com/v1";
  ASSERT_TRUE(set_controller_reference(again, d).ok());
  ASSERT_EQ(Refs(d).size(), 1u);
  EXPECT_EQ(Refs(d)[0].at("uid"), "uid-a2");
}

// S1-18: a second controller cannot take over.
TEST(OwnerReferenceTest, S1_18_AlreadyOwnedByAnotherController) {
  json::object d = Deployment();
  ASSERT_TRUE(set_controller_reference(Owner("a", "uid-a"), d).ok());
  const json::object before = d;
  Status s = set_controller_reference(Owner("b", "uid-b"), d);
  EXPECT_EQ(s.code(), StatusCode::kConflict);
  EXPECT_EQ(s.message(), "Object default/d is already owned by another Memcached controller a");
  ASSERT_EQ(s.causes().size(), 1u);
  EXPECT_EQ(s.causes()[0].reason, kAlreadyOwnedReason);
  EXPECT_EQ(d, before);
  // A plain (non-controller) owner reference to b is still allowed.
  ASSERT_TRUE(set_owner_reference(Owner("b", "uid-b"), d).ok());
  ASSERT_EQ(Refs(d).size(), 2u);
  EXPECT_FALSE(Refs(d)[1].as_object().contains("controller"));
  EXPECT_TRUE(is_owned_by(d, "uid-b"));
  EXPECT_EQ(get_controller_of(d)->at("name"), "a");
  EXPECT_TRUE(remove_owner_reference(Owner("b", "uid-b"), d));
  EXPECT_FALSE(remove_owner_reference(Owner("b", "uid-b"), d));
  EXPECT_EQ(Refs(d).size(), 1u);
}

TEST(OwnerReferenceTest, NamespaceRules) {
  json::object d = Deployment();
  EXPECT_EQ(set_controller_reference(Owner("a", "u", "other"), d).code(), StatusCode::kInvalid);
  json::object cluster_scoped = Obj(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"n"}})");
  EXPECT_EQ(set_owner_reference(Owner("a", "u", "default"), cluster_scoped).code(), StatusCode::kInvalid);
  // A cluster-scoped owner may own a namespaced object.
  EXPECT_TRUE(set_controller_reference(Owner("a", "u", ""), d).ok());
  // An owner without a uid cannot be referenced.
  EXPECT_EQ(set_owner_reference(Owner("b", ""), d).code(), StatusCode::kInvalid);
  EXPECT_FALSE(d.at("metadata").as_object().contains("finalizers"));
}

TEST(FinalizerTest, AddRemoveAreIdempotent) {
  json::object o = Deployment();
  EXPECT_FALSE(has_finalizer(o, "cache.example.com/finalizer"));
  EXPECT_FALSE(remove_finalizer(o, "cache.example.com/finalizer"));
  EXPECT_TRUE(add_finalizer(o, "cache.example.com/finalizer"));
  EXPECT_FALSE(add_finalizer(o, "cache.example.com/finalizer"));
  EXPECT_TRUE(add_finalizer(o, "other/f"));
  EXPECT_TRUE(has_finalizer(o, "cache.example.com/finalizer"));
  EXPECT_EQ(o.at("metadata").at("finalizers").as_array().size(), 2u);
  EXPECT_TRUE(remove_finalizer(o, "cache.example.com/finalizer"));
  EXPECT_FALSE(remove_finalizer(o, "cache.example.com/finalizer"));
  EXPECT_FALSE(has_finalizer(o, "cache.example.com/finalizer"));
  EXPECT_TRUE(has_finalizer(o, "other/f"));
}

TEST(FinalizerTest, DeletionRequested) {
  json::object o = Deployment();
  EXPECT_FALSE(deletion_requested(o));
  o["metadata"].as_object()["deletionTimestamp"] = nullptr;
  EXPECT_FALSE(deletion_requested(o));
  o["metadata"].as_object()["deletionTimestamp"] = "2026-11-27T05:00:00Z";
  EXPECT_TRUE(deletion_requested(o));
  EXPECT_FALSE(deletion_requested(json::object()));
}

}  // namespace
}  // namespace setpoint::runtime
