#include "setpoint/api/yaml.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace setpoint::api {
namespace {

using testing::J;

boost::json::value Y(std::string_view yaml) {
  auto got = YamlToJson(yaml);
  EXPECT_TRUE(got) << yaml << ": " << (got ? "" : got.error().message());
  return got ? *got : boost::json::value("<error>");
}

std::string YErr(std::string_view yaml, int max_depth = 100) {
  auto got = YamlToJson(yaml, max_depth);
  EXPECT_FALSE(got) << yaml;
  if (got) return "";
  EXPECT_EQ(got.error().code(), StatusCode::kBadRequest);
  return got.error().message();
}

TEST(YamlTest, TypicalManifest) {
  auto v = Y(R"(
apiVersion: stable.example.com/v1
kind: CronTab
metadata:
  name: my-cron
  labels: {app: web, "tier": backend}
spec:
  cronSpec: "* * * * */5"
  replicas: 3
  ratio: 0.5
  enabled: true
  image: nginx:1.25
  args:
    - --port=80
    - '8080'
  script: |
    echo hi
    exit 0
  folded: >
    a
    b
  nothing: ~
  empty:
)");
  EXPECT_EQ(v, J(R"({"apiVersion":"stable.example.com/v1","kind":"CronTab",
      "metadata":{"name":"my-cron","labels":{"app":"web","tier":"backend"}},
      "spec":{"cronSpec":"* * * * */5","replicas":3,"ratio":0.5,"enabled":true,"image":"nginx:1.25",
              "args":["--port=80","8080"],"script":"echo hi\nexit 0\n","folded":"a b\n","nothing":null,"empty":null}})"));
}

TEST(YamlTest, Yaml11Scalars) {
  EXPECT_EQ(Y("[yes, No, ON, off, y, N, True, FALSE]"), J("[true,false,true,false,true,false,true,false]"));
  EXPECT_EQ(Y("[null, Null, NULL, ~]"), J("[null,null,null,null]"));
  EXPECT_EQ(Y("[0x1F, 0o17, 017, 0b101, -0x10, +5, 1_000, 9223372036854775807, -9223372036854775808]"),
            J("[31,15,15,5,-16,5,1000,9223372036854775807,-9223372036854775808]"));
  EXPECT_EQ(Y("18446744073709551615"), boost::json::value(std::uint64_t{18446744073709551615ull}));
  EXPECT_EQ(Y("[1.5, -2.5e3, .5, 1e3, 1.0, 08]"), J("[1.5,-2500,0.5,1000,1,8]"));
  EXPECT_TRUE(Y("1.0").is_int64());
  EXPECT_EQ(Y(R"(["yes", 'no', "1", !!str 2, !!str true])"), J(R"(["yes","no","1","2","true"])"));
  EXPECT_EQ(Y("[2001-12-14, 1.2.3, 12:30, -, +, 0x, 1e]"), J(R"(["2001-12-14","1.2.3","12:30","-","+","0x","1e"])"));
  EXPECT_EQ(Y("[!!int '7', !!float '2', !!bool 'yes', !!null '~', !custom x]"), J(R"([7,2,true,null,"x"])"));
}

TEST(YamlTest, NonFiniteFloatsAreErrors) {
  EXPECT_NE(YErr("a: .inf").find("unsupported value"), std::string::npos);
  EXPECT_NE(YErr("a: -.Inf").find("unsupported value"), std::string::npos);
  EXPECT_NE(YErr("a: .nan").find("unsupported value: NaN"), std::string::npos);
}

TEST(YamlTest, BadTaggedScalars) {
  EXPECT_NE(YErr("a: !!int abc").find("cannot decode \"abc\" as !!int"), std::string::npos);
}

TEST(YamlTest, EmptyInputIsNull) {
  EXPECT_TRUE(Y("").is_null());
  EXPECT_TRUE(Y("# just a comment\n").is_null());
  EXPECT_TRUE(Y("---\n").is_null());
  EXPECT_EQ(Y("---\na: 1\n...\n"), J(R"({"a":1})"));
}

TEST(YamlTest, MultipleDocumentsAreAnError) {
  EXPECT_EQ(YErr("a: 1\n---\nb: 2\n"), "error converting YAML to JSON: yaml: expected a single document in the stream");
  EXPECT_FALSE(YamlToJson("a: 1\n---\n---\n[x]\n"));
  // A trailing separator (as many generators emit) adds only an empty document.
  EXPECT_EQ(Y("a: 1\n---\n"), J(R"({"a":1})"));
  EXPECT_EQ(Y("a: 1\n---\n# end\n"), J(R"({"a":1})"));
  // Found by a fuzzer: after this input yaml-cpp reports empty documents forever without
  // consuming anything; the trailing-document bound turns that into an error.
  const std::string endless(
      "\x2c\x1f\xad\x7b\x5b\x20\x3a\x31\x7b\x5d\x78\x0a\x61\x78\x2c\x2d"
      "\x7b\x8f\x3f\x27\x7c\xc2\x78\x7c\x20\x2d\x78\x78\x3f\x22\x2e\x7e"
      "\x23\x27\x23\x26\x2e\x7e\x27\x3a\x2a\x78\x5b\x22\x61\x7d\x2d\x8d"
      "\x2d\x5b\x78\x7b\x3e\x3b\x06\xb8\x26\x7c",
      58);
  auto got = YamlToJson(endless);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().message(), "error converting YAML to JSON: yaml: unexpected content after the document");
}

TEST(YamlTest, SyntaxErrorsHaveLineNumbers) {
  std::string e = YErr("a: 1\nb: [1, 2\nc: 3\n");
  EXPECT_EQ(e.rfind("error converting YAML to JSON: yaml: line ", 0), 0u) << e;
  std::string tab = YErr("a:\n\t- b\n");
  EXPECT_EQ(tab.rfind("error converting YAML to JSON: yaml: line", 0), 0u) << tab;
  EXPECT_FALSE(YamlToJson("key: \"unterminated"));
  EXPECT_FALSE(YamlToJson("a: b: c"));
}

TEST(YamlTest, KeysBecomeStrings) {
  EXPECT_EQ(Y("{1: a, true: b, yes: c, 1.5: d, \"q\": e}"), J(R"({"1":"a","true":"c","1.5":"d","q":"e"})"));
  EXPECT_NE(YErr("? [a, b]\n: c\n").find("unsupported map key"), std::string::npos);
  EXPECT_NE(YErr("? {a: b}\n: c\n").find("unsupported map key"), std::string::npos);
  EXPECT_NE(YErr("~: a\n").find("unsupported map key"), std::string::npos);
}

TEST(YamlTest, DepthLimit) {
  EXPECT_EQ(Y("a: {b: {c: [1]}}"), J(R"({"a":{"b":{"c":[1]}}})"));
  EXPECT_NE(YErr("a: {b: {c: [1]}}", 3).find("exceeded max depth of 3"), std::string::npos);
  EXPECT_TRUE(YamlToJson("a: {b: {c: [1]}}", 4));
  std::string deep(5000, '[');
  deep += std::string(5000, ']');
  EXPECT_FALSE(YamlToJson(deep));
}

TEST(YamlTest, AnchorsAliasesAndMergeKeys) {
  EXPECT_EQ(Y(R"(
base: &base {cpu: 1, mem: 2}
copy: *base
list: [&x 5, *x]
derived:
  <<: *base
  mem: 3
multi:
  <<: [{a: 1, b: 1}, {b: 2, c: 2}]
  c: 3
)"),
            J(R"({"base":{"cpu":1,"mem":2},"copy":{"cpu":1,"mem":2},"list":[5,5],
                  "derived":{"cpu":1,"mem":3},"multi":{"a":1,"b":1,"c":3}})"));
  EXPECT_NE(YErr("a:\n  <<: 5\n").find("map merge requires map or sequence of maps"), std::string::npos);
  EXPECT_EQ(Y("a: {\"<<\": 5}"), J(R"({"a":{"<<":5}})"));
}

TEST(YamlTest, BillionLaughsIsRejected) {
  std::string yaml = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'j'; ++c) {
    yaml += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) yaml += std::string(i ? ", *" : "*") + prev;
    yaml += "]\n";
    prev = c;
  }
  EXPECT_NE(YErr(yaml).find("excessive aliasing"), std::string::npos);
}

TEST(YamlTest, SelfReferentialAnchorIsAnError) { EXPECT_FALSE(YamlToJson("a: &x [1, *x]\n")); }

TEST(YamlTest, DuplicateKeysLastWinsAndAreReported) {
  std::vector<std::string> dups;
  auto got = YamlToJson("a: 1\nspec:\n  r: 1\n  r: 2\n  l: [{k: 1, k: 2}]\na: 3\n", 100, &dups);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, J(R"({"a":3,"spec":{"r":2,"l":[{"k":2}]}})"));
  EXPECT_EQ(dups, (std::vector<std::string>{"spec.r", "spec.l[0].k", "a"}));
}

TEST(YamlTest, JsonIsYaml) {
  EXPECT_EQ(Y(R"({"a": [1, 2.5, "x", null, true, {"b": {}}]})"), J(R"({"a":[1,2.5,"x",null,true,{"b":{}}]})"));
}

}  // namespace
}  // namespace setpoint::api
