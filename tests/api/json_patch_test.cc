#include <gtest/gtest.h>

#include "setpoint/api/patch.h"
#include "test_util.h"

namespace setpoint::api {
namespace {

using testing::J;

// ---- RFC 7386 ----

TEST(MergePatchTest, Rfc7386AppendixA) {
  struct Case {
    const char* target;
    const char* patch;
    const char* want;
  };
  const Case cases[] = {
      {R"({"a":"b"})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"b"})", R"({"b":"c"})", R"({"a":"b","b":"c"})"},
      {R"({"a":"b"})", R"({"a":null})", R"({})"},
      {R"({"a":"b","b":"c"})", R"({"a":null})", R"({"b":"c"})"},
      {R"({"a":["b"]})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"c"})", R"({"a":["b"]})", R"({"a":["b"]})"},
      {R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})", R"({"a":{"b":"d"}})"},
      {R"({"a":[{"b":"c"}]})", R"({"a":[1]})", R"({"a":[1]})"},
      {R"(["a","b"])", R"(["c","d"])", R"(["c","d"])"},
      {R"({"a":"b"})", R"(["c"])", R"(["c"])"},
      {R"({"a":"foo"})", "null", "null"},
      {R"({"a":"foo"})", R"("bar")", R"("bar")"},
      {R"({"e":null})", R"({"a":1})", R"({"e":null,"a":1})"},
      {R"([1,2])", R"({"a":"b","c":null})", R"({"a":"b"})"},
      {R"({})", R"({"a":{"bb":{"ccc":null}}})", R"({"a":{"bb":{}}})"},
  };
  for (const auto& c : cases) {
    auto got = ApplyMergePatch(J(c.target), J(c.patch));
    ASSERT_TRUE(got) << c.patch;
    EXPECT_EQ(*got, J(c.want)) << c.target << " + " << c.patch;
  }
}

TEST(MergePatchTest, DoesNotModifyInputs) {
  auto target = J(R"({"a":{"b":1}})");
  auto patch = J(R"({"a":{"b":null}})");
  auto got = ApplyMergePatch(target, patch);
  ASSERT_TRUE(got);
  EXPECT_EQ(target, J(R"({"a":{"b":1}})"));
  EXPECT_EQ(*got, J(R"({"a":{}})"));
}

// ---- RFC 6902 ----

boost::json::value Apply(const char* target, const char* patch) {
  auto got = ApplyJsonPatch(J(target), J(patch));
  EXPECT_TRUE(got) << patch << ": " << (got ? "" : got.error().message());
  return got ? *got : boost::json::value();
}

Status ApplyError(const char* target, const char* patch) {
  auto got = ApplyJsonPatch(J(target), J(patch));
  EXPECT_FALSE(got) << patch;
  return got ? Status::Ok() : got.error();
}

TEST(JsonPatchTest, Add) {
  EXPECT_EQ(Apply(R"({"a":1})", R"([{"op":"add","path":"/b","value":2}])"), J(R"({"a":1,"b":2})"));
  EXPECT_EQ(Apply(R"({"a":1})", R"([{"op":"add","path":"/a","value":3}])"), J(R"({"a":3})"));
  EXPECT_EQ(Apply(R"({"l":[1,3]})", R"([{"op":"add","path":"/l/1","value":2}])"), J(R"({"l":[1,2,3]})"));
  EXPECT_EQ(Apply(R"({"l":[1]})", R"([{"op":"add","path":"/l/1","value":2}])"), J(R"({"l":[1,2]})"));
  EXPECT_EQ(Apply(R"({"l":[1]})", R"([{"op":"add","path":"/l/-","value":2}])"), J(R"({"l":[1,2]})"));
  EXPECT_EQ(Apply(R"({"a":1})", R"([{"op":"add","path":"","value":[1]}])"), J("[1]"));
  EXPECT_EQ(Apply(R"({})", R"([{"op":"add","path":"/n","value":null}])"), J(R"({"n":null})"));
}

TEST(JsonPatchTest, PointerEscapes) {
  EXPECT_EQ(Apply(R"({"a/b":1,"m~n":2})",
                  R"([{"op":"replace","path":"/a~1b","value":10},{"op":"replace","path":"/m~0n","value":20}])"),
            J(R"({"a/b":10,"m~n":20})"));
  EXPECT_EQ(Apply(R"({})", R"([{"op":"add","path":"/","value":1}])"), J(R"({"":1})"));
  EXPECT_EQ(Apply(R"({"metadata":{"annotations":{"example.com/x":"1"}}})",
                  R"([{"op":"remove","path":"/metadata/annotations/example.com~1x"}])"),
            J(R"({"metadata":{"annotations":{}}})"));
}

TEST(JsonPatchTest, RemoveReplaceMoveCopyTest) {
  EXPECT_EQ(Apply(R"({"a":1,"b":2})", R"([{"op":"remove","path":"/a"}])"), J(R"({"b":2})"));
  EXPECT_EQ(Apply(R"({"l":[1,2,3]})", R"([{"op":"remove","path":"/l/1"}])"), J(R"({"l":[1,3]})"));
  EXPECT_EQ(Apply(R"({"a":{"b":1}})", R"([{"op":"replace","path":"/a/b","value":{"c":2}}])"),
            J(R"({"a":{"b":{"c":2}}})"));
  EXPECT_EQ(Apply(R"({"a":1})", R"([{"op":"replace","path":"","value":"x"}])"), J(R"("x")"));
  EXPECT_EQ(Apply(R"({"a":{"x":1},"b":{}})", R"([{"op":"move","from":"/a/x","path":"/b/y"}])"),
            J(R"({"a":{},"b":{"y":1}})"));
  EXPECT_EQ(Apply(R"({"l":[1,2,3]})", R"([{"op":"move","from":"/l/0","path":"/l/-"}])"), J(R"({"l":[2,3,1]})"));
  EXPECT_EQ(Apply(R"({"a":1})", R"([{"op":"move","from":"/a","path":"/a"}])"), J(R"({"a":1})"));
  EXPECT_EQ(Apply(R"({"a":{"x":[1]}})", R"([{"op":"copy","from":"/a","path":"/b"}])"),
            J(R"({"a":{"x":[1]},"b":{"x":[1]}})"));
  EXPECT_EQ(Apply(R"({"a":1,"b":[1,{"c":2}]})",
                  R"([{"op":"test","path":"/a","value":1.0},{"op":"test","path":"/b","value":[1,{"c":2}]}])"),
            J(R"({"a":1,"b":[1,{"c":2}]})"));
}

TEST(JsonPatchTest, SequentialOperationsSeeEarlierResults) {
  EXPECT_EQ(Apply(R"({})", R"([{"op":"add","path":"/a","value":{}},{"op":"add","path":"/a/b","value":1},
                               {"op":"test","path":"/a/b","value":1}])"),
            J(R"({"a":{"b":1}})"));
}

TEST(JsonPatchTest, ApplicationFailuresAreInvalidAndAtomic) {
  auto target = J(R"({"a":1,"l":[1]})");
  auto failing = J(R"([{"op":"add","path":"/b","value":2},{"op":"remove","path":"/missing"}])");
  auto got = ApplyJsonPatch(target, failing);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code(), StatusCode::kInvalid);
  EXPECT_EQ(got.error().message(), "remove operation does not apply: doc is missing path: \"/missing\"");
  EXPECT_EQ(target, J(R"({"a":1,"l":[1]})"));

  EXPECT_EQ(ApplyError(R"({"a":1})", R"([{"op":"test","path":"/a","value":2}])").message(),
            "testing value /a failed: test failed");
  EXPECT_EQ(ApplyError(R"({"a":1})", R"([{"op":"test","path":"/a","value":"1"}])").code(), StatusCode::kInvalid);
  EXPECT_EQ(ApplyError(R"({"a":1})", R"([{"op":"replace","path":"/b","value":2}])").message(),
            "replace operation does not apply: doc is missing path: \"/b\"");
  EXPECT_EQ(ApplyError(R"({"a":1})", R"([{"op":"add","path":"/x/y","value":2}])").message(),
            "add operation does not apply: doc is missing path: \"/x/y\"");
  EXPECT_NE(ApplyError(R"({"l":[1]})", R"([{"op":"add","path":"/l/5","value":2}])").message().find("array index"),
            std::string::npos);
  EXPECT_EQ(ApplyError(R"({"l":[1]})", R"([{"op":"remove","path":"/l/-"}])").code(), StatusCode::kInvalid);
  EXPECT_EQ(ApplyError(R"({"l":[1]})", R"([{"op":"remove","path":"/l/01"}])").code(), StatusCode::kInvalid);
  EXPECT_EQ(ApplyError(R"({"l":[1]})", R"([{"op":"replace","path":"/l/1","value":0}])").code(), StatusCode::kInvalid);
  EXPECT_EQ(ApplyError(R"({"a":"s"})", R"([{"op":"add","path":"/a/b","value":0}])").code(), StatusCode::kInvalid);
  EXPECT_EQ(ApplyError(R"({"a":{}})", R"([{"op":"move","from":"/a","path":"/a/b"}])").message(),
            "move operation does not apply: cannot move \"/a\" into its own child \"/a/b\"");
  EXPECT_EQ(ApplyError(R"({})", R"([{"op":"copy","from":"/nope","path":"/b"}])").code(), StatusCode::kInvalid);
  EXPECT_EQ(ApplyError(R"({})", R"([{"op":"remove","path":""}])").code(), StatusCode::kInvalid);
}

TEST(JsonPatchTest, MalformedPatchesAreBadRequest) {
  for (const char* patch : {
           R"({"op":"add","path":"/a","value":1})",
           R"([1])",
           R"([{"path":"/a"}])",
           R"([{"op":"frobnicate","path":"/a"}])",
           R"([{"op":"add","value":1}])",
           R"([{"op":"add","path":"a","value":1}])",
           R"([{"op":"add","path":"/a~2","value":1}])",
           R"([{"op":"add","path":"/a~","value":1}])",
           R"([{"op":"add","path":"/a"}])",
           R"([{"op":"move","path":"/a"}])",
           R"([{"op":"copy","path":"/a","from":5}])",
           R"([{"op":1,"path":"/a"}])",
       }) {
    auto got = ApplyJsonPatch(J(R"({"a":1})"), J(patch));
    ASSERT_FALSE(got) << patch;
    EXPECT_EQ(got.error().code(), StatusCode::kBadRequest) << patch << ": " << got.error().message();
  }
  // A malformed later operation fails the patch before anything is applied.
  auto got = ApplyJsonPatch(J(R"({})"), J(R"([{"op":"remove","path":"/missing"},{"op":"bogus","path":"/a"}])"));
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code(), StatusCode::kBadRequest);
}

TEST(JsonPatchTest, EmptyPatchIsIdentity) { EXPECT_EQ(Apply(R"({"a":[1]})", "[]"), J(R"({"a":[1]})")); }

TEST(JsonPatchTest, TooManyOperations) {
  boost::json::array ops;
  for (std::size_t i = 0; i <= kMaxJsonPatchOperations; ++i) {
    ops.push_back(boost::json::object{{"op", "test"}, {"path", ""}, {"value", nullptr}});
  }
  auto got = ApplyJsonPatch(J("null"), ops);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code(), StatusCode::kRequestEntityTooLarge);
  EXPECT_EQ(got.error().message(), "The allowed maximum operations in a JSON patch is 10000, got 10001");
}

TEST(JsonPatchTest, CopyAmplificationIsBounded) {
  // Each copy doubles the document: 40 doublings would need 2^40 nodes.
  boost::json::array ops;
  ops.push_back(boost::json::object{{"op", "add"}, {"path", "/a"}, {"value", boost::json::array{1, 2, 3, 4}}});
  for (int i = 0; i < 40; ++i) {
    ops.push_back(boost::json::object{{"op", "copy"}, {"from", "/a"}, {"path", "/a/-"}});
  }
  auto got = ApplyJsonPatch(J("{}"), ops);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code(), StatusCode::kInvalid);
  EXPECT_NE(got.error().message().find("copy operation does not apply"), std::string::npos);
}

}  // namespace
}  // namespace setpoint::api
