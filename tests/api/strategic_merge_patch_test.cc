#include <gtest/gtest.h>

#include "setpoint/api/patch.h"
#include "test_util.h"

namespace setpoint::api {
namespace {

using testing::J;

boost::json::value Smp(const char* target, const char* patch) {
  auto got = ApplyStrategicMergePatch(J(target), J(patch), DefaultStrategicMergeSchema());
  EXPECT_TRUE(got) << patch << ": " << (got ? "" : got.error().message());
  return got ? *got : boost::json::value();
}

Status SmpError(const char* target, const char* patch) {
  auto got = ApplyStrategicMergePatch(J(target), J(patch), DefaultStrategicMergeSchema());
  EXPECT_FALSE(got) << patch;
  return got ? Status::Ok() : got.error();
}

TEST(StrategicMergePatchTest, MapsMergeAndNullDeletes) {
  EXPECT_EQ(Smp(R"({"metadata":{"labels":{"a":"1","b":"2"}},"spec":{"x":1}})",
                R"({"metadata":{"labels":{"a":null,"c":"3"}},"spec":{"y":2}})"),
            J(R"({"metadata":{"labels":{"b":"2","c":"3"}},"spec":{"x":1,"y":2}})"));
  EXPECT_EQ(Smp(R"({"spec":"scalar"})", R"({"spec":{"a":{"b":null,"c":1}}})"), J(R"({"spec":{"a":{"c":1}}})"));
}

TEST(StrategicMergePatchTest, ListsAreReplacedByDefault) {
  EXPECT_EQ(Smp(R"({"spec":{"finalizers":["kubernetes","x"]}})", R"({"spec":{"finalizers":["y"]}})"),
            J(R"({"spec":{"finalizers":["y"]}})"));
}

TEST(StrategicMergePatchTest, PrimitiveMergeListIsOrderedUnion) {
  EXPECT_EQ(Smp(R"({"metadata":{"finalizers":["a","b"]}})", R"({"metadata":{"finalizers":["b","c","c"]}})"),
            J(R"({"metadata":{"finalizers":["a","b","c"]}})"));
  EXPECT_EQ(Smp(R"({"metadata":{}})", R"({"metadata":{"finalizers":["x"]}})"),
            J(R"({"metadata":{"finalizers":["x"]}})"));
}

TEST(StrategicMergePatchTest, DeleteFromPrimitiveList) {
  EXPECT_EQ(Smp(R"({"metadata":{"finalizers":["a","b","c"]}})",
                R"({"metadata":{"$deleteFromPrimitiveList/finalizers":["b","zz"]}})"),
            J(R"({"metadata":{"finalizers":["a","c"]}})"));
  // Deletion happens before the patch's own list is merged in.
  EXPECT_EQ(Smp(R"({"metadata":{"finalizers":["a","b"]}})",
                R"({"metadata":{"$deleteFromPrimitiveList/finalizers":["a"],"finalizers":["c"]}})"),
            J(R"({"metadata":{"finalizers":["b","c"]}})"));
  EXPECT_EQ(SmpError("{}", R"({"metadata":{"$deleteFromPrimitiveList/finalizers":"a"}})").code(),
            StatusCode::kBadRequest);
}

TEST(StrategicMergePatchTest, KeyedListMergesByKey) {
  const char* target = R"({"metadata":{"ownerReferences":[
      {"uid":"1","name":"a","kind":"K"},
      {"uid":"2","name":"b","kind":"K"}]}})";
  EXPECT_EQ(Smp(target, R"({"metadata":{"ownerReferences":[
                {"uid":"2","controller":true},
                {"uid":"3","name":"c","kind":"K"}]}})"),
            J(R"({"metadata":{"ownerReferences":[
                {"uid":"1","name":"a","kind":"K"},
                {"uid":"2","name":"b","kind":"K","controller":true},
                {"uid":"3","name":"c","kind":"K"}]}})"));
  EXPECT_EQ(Smp(target, R"({"metadata":{"ownerReferences":[{"uid":"1","$patch":"delete"}]}})"),
            J(R"({"metadata":{"ownerReferences":[{"uid":"2","name":"b","kind":"K"}]}})"));
  EXPECT_EQ(Smp(target, R"({"metadata":{"ownerReferences":[{"uid":"2","name":null}]}})"),
            J(R"({"metadata":{"ownerReferences":[{"uid":"1","name":"a","kind":"K"},{"uid":"2","kind":"K"}]}})"));
}

TEST(StrategicMergePatchTest, ReplaceDirectiveInList) {
  EXPECT_EQ(Smp(R"({"metadata":{"ownerReferences":[{"uid":"1"},{"uid":"2"}]}})",
                R"({"metadata":{"ownerReferences":[{"$patch":"replace"},{"uid":"9"}]}})"),
            J(R"({"metadata":{"ownerReferences":[{"uid":"9"}]}})"));
  EXPECT_EQ(Smp(R"({"metadata":{"finalizers":["a"]}})", R"({"metadata":{"finalizers":[{"$patch":"replace"},"b"]}})"),
            J(R"({"metadata":{"finalizers":["b"]}})"));
}

TEST(StrategicMergePatchTest, MapDirectives) {
  EXPECT_EQ(Smp(R"({"spec":{"a":1,"b":{"c":2}}})", R"({"spec":{"$patch":"replace","z":1,"n":null}})"),
            J(R"({"spec":{"z":1}})"));
  EXPECT_EQ(Smp(R"({"spec":{"a":1},"x":1})", R"({"spec":{"$patch":"delete"}})"), J(R"({"spec":{},"x":1})"));
  EXPECT_EQ(Smp(R"({"spec":{"a":1}})", R"({"spec":{"$patch":"merge","b":2}})"), J(R"({"spec":{"a":1,"b":2}})"));
  EXPECT_EQ(Smp(R"({"a":1,"b":2})", R"({"$patch":"replace","c":3})"), J(R"({"c":3})"));
}

TEST(StrategicMergePatchTest, RetainKeys) {
  EXPECT_EQ(Smp(R"({"spec":{"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1}}}})",
                R"({"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate"}}})"),
            J(R"({"spec":{"strategy":{"type":"Recreate"}}})"));
  Status s = SmpError(R"({"spec":{}})", R"({"spec":{"$retainKeys":["a"],"b":1}})");
  EXPECT_EQ(s.code(), StatusCode::kBadRequest);
  EXPECT_NE(s.message().find("invalid patch format of retainKeys"), std::string::npos);
  EXPECT_EQ(SmpError(R"({})", R"({"$retainKeys":"a"})").code(), StatusCode::kBadRequest);
}

TEST(StrategicMergePatchTest, SetElementOrder) {
  EXPECT_EQ(Smp(R"({"metadata":{"finalizers":["a","b","c"]}})",
                R"({"metadata":{"$setElementOrder/finalizers":["c","a"],"finalizers":["d"]}})"),
            J(R"({"metadata":{"finalizers":["c","a","b","d"]}})"));
  EXPECT_EQ(Smp(R"({"metadata":{"ownerReferences":[{"uid":"1"},{"uid":"2"}]}})",
                R"({"metadata":{"$setElementOrder/ownerReferences":[{"uid":"2"},{"uid":"1"}]}})"),
            J(R"({"metadata":{"ownerReferences":[{"uid":"2"},{"uid":"1"}]}})"));
  // A hint for a replaced list, or a list that is not there, is accepted and ignored.
  EXPECT_EQ(Smp(R"({"spec":{"l":[1,2]}})", R"({"spec":{"$setElementOrder/l":[2,1]}})"), J(R"({"spec":{"l":[1,2]}})"));
  EXPECT_EQ(SmpError(R"({})", R"({"$setElementOrder/x":{}})").code(), StatusCode::kBadRequest);
}

TEST(StrategicMergePatchTest, Errors) {
  EXPECT_EQ(SmpError("{}", "[1]").code(), StatusCode::kBadRequest);
  EXPECT_EQ(SmpError("{}", R"({"$patch":"explode"})").code(), StatusCode::kBadRequest);
  EXPECT_EQ(SmpError("{}", R"({"a":{"$patch":1}})").code(), StatusCode::kBadRequest);
  Status no_key = SmpError(R"({})", R"({"metadata":{"ownerReferences":[{"name":"x"}]}})");
  EXPECT_EQ(no_key.code(), StatusCode::kBadRequest);
  EXPECT_NE(no_key.message().find("does not contain declared merge key: uid"), std::string::npos);
  EXPECT_EQ(SmpError(R"({})", R"({"metadata":{"ownerReferences":["x"]}})").code(), StatusCode::kBadRequest);
  EXPECT_EQ(SmpError(R"({})", R"({"metadata":{"finalizers":[{"$patch":"delete"}]}})").code(), StatusCode::kBadRequest);
  EXPECT_EQ(SmpError(R"({})", R"({"metadata":{"finalizers":[{"$patch":"nope"}]}})").code(), StatusCode::kBadRequest);
}

TEST(StrategicMergePatchTest, CustomSchemaNestedKeyedLists) {
  StrategicMergeSchema schema;
  schema.merge_keys["spec.containers"] = "name";
  schema.merge_keys["spec.containers.ports"] = "containerPort";
  auto got = ApplyStrategicMergePatch(
      J(R"({"spec":{"containers":[{"name":"a","image":"x","ports":[{"containerPort":80}]}]}})"),
      J(R"({"spec":{"containers":[{"name":"a","ports":[{"containerPort":443}]},{"name":"b","image":"y"}]}})"), schema);
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(*got, J(R"({"spec":{"containers":[
      {"name":"a","image":"x","ports":[{"containerPort":80},{"containerPort":443}]},
      {"name":"b","image":"y"}]}})"));
}

TEST(StrategicMergePatchTest, NonObjectTargetBecomesObject) { EXPECT_EQ(Smp("null", R"({"a":1})"), J(R"({"a":1})")); }

}  // namespace
}  // namespace setpoint::api
