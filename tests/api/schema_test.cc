#include "setpoint/api/schema.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace setpoint::api {
namespace {

using testing::J;

SchemaPtr MustCompile(const char* schema) {
  auto s = Schema::Compile(J(schema));
  EXPECT_TRUE(s) << (s ? "" : s.error().message());
  return s ? *s : nullptr;
}

std::vector<StatusCause> Check(const SchemaPtr& schema, const char* object) {
  std::vector<StatusCause> causes;
  schema->validate(J(object), causes);
  return causes;
}

// Wraps a property schema as spec.<name> of a CRD root.
std::string Spec(const char* name, const char* prop) {
  return std::string(R"({"type":"object","properties":{"spec":{"type":"object","properties":{")") + name + R"(":)" +
         prop + "}}}}";
}

StatusCause One(const char* prop, const char* value) {
  auto schema = MustCompile(Spec("f", prop).c_str());
  std::string object = std::string(R"({"spec":{"f":)") + value + "}}";
  auto causes = Check(schema, object.c_str());
  EXPECT_EQ(causes.size(), 1u) << prop << " / " << value;
  return causes.empty() ? StatusCause{} : causes[0];
}

void Ok(const char* prop, const char* value) {
  auto schema = MustCompile(Spec("f", prop).c_str());
  std::string object = std::string(R"({"spec":{"f":)") + value + "}}";
  auto causes = Check(schema, object.c_str());
  EXPECT_TRUE(causes.empty()) << prop << " / " << value << ": " << (causes.empty() ? "" : causes[0].message);
}

TEST(SchemaValidateTest, UpstreamMessageFormats) {
  auto max = One(R"({"type":"integer","maximum":5})", "10");
  EXPECT_EQ(max.field, "spec.f");
  EXPECT_EQ(max.reason, "FieldValueInvalid");
  EXPECT_EQ(max.message, "Invalid value: 10: spec.f in body should be less than or equal to 5");

  auto type = One(R"({"type":"integer"})", R"("x")");
  EXPECT_EQ(type.reason, "FieldValueTypeInvalid");
  EXPECT_EQ(type.message, "Invalid value: \"string\": spec.f in body must be of type integer: \"string\"");

  auto en = One(R"({"type":"string","enum":["a","b"]})", R"("x")");
  EXPECT_EQ(en.reason, "FieldValueNotSupported");
  EXPECT_EQ(en.message, "Unsupported value: \"x\": supported values: \"a\", \"b\"");

  auto en_num = One(R"({"type":"integer","enum":[1,2]})", "3");
  EXPECT_EQ(en_num.message, "Unsupported value: 3: supported values: \"1\", \"2\"");

  auto schema =
      MustCompile(Spec("f", R"({"type":"object","required":["a"],"properties":{"a":{"type":"string"}}})").c_str());
  auto req = Check(schema, R"({"spec":{"f":{}}})");
  ASSERT_EQ(req.size(), 1u);
  EXPECT_EQ(req[0].field, "spec.f.a");
  EXPECT_EQ(req[0].reason, "FieldValueRequired");
  EXPECT_EQ(req[0].message, "Required value");
}

TEST(SchemaValidateTest, Numbers) {
  Ok(R"({"type":"integer","minimum":1,"maximum":3})", "3");
  Ok(R"({"type":"integer"})", "2.0");  // an integral float is a JSON integer, as upstream
  EXPECT_EQ(One(R"({"type":"integer"})", "2.5").message,
            "Invalid value: \"number\": spec.f in body must be of type integer: \"number\"");
  Ok(R"({"type":"number"})", "7");
  // An integer must fit in int64: beyond it a number is a float (Go decodes it as float64).
  Ok(R"({"type":"integer"})", "9223372036854775807");
  Ok(R"({"type":"integer"})", "-9223372036854775808");
  for (const char* too_big : {"9223372036854775808", "18446744073709551615", "18446744073709551616", "1e19"})
    EXPECT_EQ(One(R"({"type":"integer"})", too_big).message,
              "Invalid value: \"number\": spec.f in body must be of type integer: \"number\"")
        << too_big;
  Ok(R"({"type":"number"})", "18446744073709551615");
  EXPECT_EQ(One(R"({"type":"integer","maximum":3,"exclusiveMaximum":true})", "3").message,
            "Invalid value: 3: spec.f in body should be less than 3");
  EXPECT_EQ(One(R"({"type":"number","minimum":1.5})", "0.25").message,
            "Invalid value: 0.25: spec.f in body should be greater than or equal to 1.5");
  EXPECT_EQ(One(R"({"type":"integer","minimum":0,"exclusiveMinimum":true})", "0").message,
            "Invalid value: 0: spec.f in body should be greater than 0");
  EXPECT_EQ(One(R"({"type":"integer","multipleOf":3})", "10").message,
            "Invalid value: 10: spec.f in body should be a multiple of 3");
  Ok(R"({"type":"integer","multipleOf":3})", "-9");
  Ok(R"({"type":"number","multipleOf":0.5})", "2.5");
  EXPECT_EQ(One(R"({"type":"number","maximum":1e21})", "1e22").message,
            "Invalid value: 1e+22: spec.f in body should be less than or equal to 1e+21");
}

TEST(SchemaValidateTest, Strings) {
  Ok(R"({"type":"string","minLength":2,"maxLength":3})", R"("héé")");  // code points, not bytes
  auto too_long = One(R"({"type":"string","maxLength":3})", R"("abcd")");
  EXPECT_EQ(too_long.reason, "FieldValueTooLong");
  EXPECT_EQ(too_long.message, "Too long: may not be more than 3 bytes");
  EXPECT_EQ(One(R"({"type":"string","minLength":3})", R"("ab")").message,
            "Invalid value: \"ab\": spec.f in body should be at least 3 chars long");
  EXPECT_EQ(One(R"({"type":"string","pattern":"^[a-z]+$"})", R"("aB")").message,
            "Invalid value: \"aB\": spec.f in body should match '^[a-z]+$'");
  Ok(R"({"type":"string","pattern":"b"})", R"("abc")");  // unanchored search
  Ok(R"({"type":"string","pattern":"^a|z$"})", R"("xyz")");
  EXPECT_EQ(One(R"({"type":"string","pattern":"^a$"})", R"("a\nb")").reason, "FieldValueInvalid");
}

TEST(SchemaValidateTest, PatternMatchingIsLinear) {
  auto schema = MustCompile(Spec("f", R"({"type":"string","pattern":"[a-z]+x"})").c_str());
  boost::json::value obj = J(R"({"spec":{}})");
  obj.at("spec").as_object()["f"] = std::string(200000, 'a');
  std::vector<StatusCause> causes;
  schema->validate(obj, causes);
  EXPECT_EQ(causes.size(), 1u);
}

TEST(SchemaValidateTest, Formats) {
  Ok(R"({"type":"string","format":"date-time"})", R"("2024-02-29T10:00:00Z")");
  Ok(R"({"type":"string","format":"date-time"})", R"("2024-02-29T10:00:00.123+05:30")");
  EXPECT_EQ(
      One(R"({"type":"string","format":"date-time"})", R"("2023-02-29T10:00:00Z")").message,
      "Invalid value: \"2023-02-29T10:00:00Z\": spec.f in body must be of type date-time: \"2023-02-29T10:00:00Z\"");
  Ok(R"({"type":"string","format":"date"})", R"("2000-02-29")");
  One(R"({"type":"string","format":"date"})", R"("1900-02-29")");
  Ok(R"({"type":"string","format":"byte"})", R"("aGVsbG8=")");
  One(R"({"type":"string","format":"byte"})", R"("aGVsbG8")");
  Ok(R"({"type":"string","format":"uuid"})", R"("123e4567-e89b-12d3-a456-426614174000")");
  Ok(R"({"type":"string","format":"uuid"})", R"("123E4567E89B12D3A456426614174000")");
  One(R"({"type":"string","format":"uuid"})", R"("123e4567-e89b-12d3-a456")");
  Ok(R"({"type":"string","format":"email"})", R"("a.b@example.com")");
  One(R"({"type":"string","format":"email"})", R"("not an email")");
  Ok(R"({"type":"string","format":"hostname"})", R"("my-host.example.com")");
  One(R"({"type":"string","format":"hostname"})", R"("-bad-.com")");
  Ok(R"({"type":"string","format":"ipv4"})", R"("10.0.0.1")");
  One(R"({"type":"string","format":"ipv4"})", R"("10.0.0.256")");
  Ok(R"({"type":"string","format":"ipv6"})", R"("::1")");
  Ok(R"({"type":"string","format":"cidr"})", R"("10.0.0.0/8")");
  One(R"({"type":"string","format":"cidr"})", R"("10.0.0.0/33")");
  Ok(R"({"type":"string","format":"mac"})", R"("01:23:45:67:89:ab")");
  Ok(R"({"type":"string","format":"no-such-format"})", R"("anything")");
  Ok(R"({"type":"integer","format":"int32"})", "5");
}

TEST(SchemaValidateTest, ArraysAndLists) {
  auto many = One(R"({"type":"array","items":{"type":"string"},"maxItems":2})", R"(["a","b","c"])");
  EXPECT_EQ(many.reason, "FieldValueTooMany");
  EXPECT_EQ(many.message, "Too many: 3: must have at most 2 items");
  EXPECT_EQ(One(R"({"type":"array","items":{"type":"string"},"minItems":2})", R"(["a"])").message,
            "Invalid value: 1: spec.f in body should have at least 2 items");
  EXPECT_EQ(One(R"({"type":"array","items":{"type":"integer"},"uniqueItems":true})", "[1, 2, 1.0]").message,
            "Invalid value: \"\": spec.f in body shouldn't contain duplicates");
  auto item = One(R"({"type":"array","items":{"type":"object","properties":{"n":{"type":"integer"}}}})",
                  R"([{"n":1},{"n":"x"}])");
  EXPECT_EQ(item.field, "spec.f[1].n");
  auto set = One(R"({"type":"array","items":{"type":"string"},"x-kubernetes-list-type":"set"})", R"(["a","b","a"])");
  EXPECT_EQ(set.reason, "FieldValueDuplicate");
  EXPECT_EQ(set.field, "spec.f[2]");
  EXPECT_EQ(set.message, "Duplicate value: \"a\"");
  auto map = One(R"({"type":"array","x-kubernetes-list-type":"map","x-kubernetes-list-map-keys":["name"],
                     "items":{"type":"object","properties":{"name":{"type":"string"},"v":{"type":"integer"}}}})",
                 R"([{"name":"a","v":1},{"name":"a","v":2}])");
  EXPECT_EQ(map.field, "spec.f[1]");
  EXPECT_EQ(map.message, "Duplicate value: {\"name\":\"a\"}");
}

TEST(SchemaValidateTest, ObjectsAndMaps) {
  EXPECT_EQ(One(R"({"type":"object","additionalProperties":{"type":"integer"}})", R"({"a":1,"b":"x"})").field,
            "spec.f.b");
  auto many =
      One(R"({"type":"object","maxProperties":1,"x-kubernetes-preserve-unknown-fields":true})", R"({"a":1,"b":2})");
  EXPECT_EQ(many.message, "Too many: 2: must have at most 1 item");
  EXPECT_EQ(
      One(R"({"type":"object","minProperties":2,"x-kubernetes-preserve-unknown-fields":true})", R"({"a":1})").message,
      "Invalid value: 1: spec.f in body should have at least 2 properties");
}

TEST(SchemaValidateTest, NullsAndNullable) {
  Ok(R"({"type":"string","nullable":true})", "null");
  auto null = One(R"({"type":"string"})", "null");
  EXPECT_EQ(null.message, "Invalid value: \"null\": spec.f in body must be of type string: \"null\"");
  Ok(R"({"x-kubernetes-preserve-unknown-fields":true})", "null");
}

TEST(SchemaValidateTest, IntOrString) {
  const char* ios = R"({"x-kubernetes-int-or-string":true})";
  Ok(ios, "80");
  Ok(ios, R"("http")");
  EXPECT_EQ(One(ios, "true").message,
            "Invalid value: \"boolean\": spec.f in body must be of type integer,string: \"boolean\"");
  Ok(R"({"x-kubernetes-int-or-string":true,"anyOf":[{"type":"integer"},{"type":"string","pattern":"^\\d+%$"}]})",
     R"("50%")");
}

TEST(SchemaValidateTest, Junctors) {
  const char* any = R"({"type":"string","anyOf":[{"enum":["a"]},{"pattern":"^b"}]})";
  Ok(any, R"("a")");
  Ok(any, R"("bx")");
  auto schema = MustCompile(Spec("f", any).c_str());
  auto causes = Check(schema, R"({"spec":{"f":"c"}})");
  ASSERT_GE(causes.size(), 2u);
  EXPECT_EQ(causes[0].message, "Invalid value: \"\": spec.f in body must validate at least one schema (anyOf)");

  const char* one = R"({"type":"integer","oneOf":[{"minimum":0},{"maximum":10}]})";
  Ok(one, "-5");
  auto both = One(one, "5");
  EXPECT_EQ(
      both.message,
      "Invalid value: \"\": spec.f in body must validate one and only one schema (oneOf). Found 2 valid alternatives");

  const char* all = R"({"type":"integer","allOf":[{"minimum":0},{"maximum":10}]})";
  Ok(all, "5");
  EXPECT_EQ(One(all, "11").message, "Invalid value: 11: spec.f in body should be less than or equal to 10");

  const char* no = R"({"type":"string","not":{"enum":["forbidden"]}})";
  Ok(no, R"("fine")");
  EXPECT_EQ(One(no, R"("forbidden")").message,
            "Invalid value: \"\": spec.f in body must not validate the schema (not)");
}

TEST(SchemaValidateTest, RootFieldsAndMetadata) {
  auto schema = MustCompile(R"({"type":"object","properties":{
      "metadata":{"type":"object","properties":{"name":{"type":"string","maxLength":5}}},
      "spec":{"type":"object"}}})");
  EXPECT_TRUE(
      Check(schema, R"({"apiVersion":"x/v1","kind":"K","metadata":{"name":"abc","labels":{"a":"b"}},"spec":{}})")
          .empty());
  auto long_name = Check(schema, R"({"metadata":{"name":"abcdef"}})");
  ASSERT_EQ(long_name.size(), 1u);
  EXPECT_EQ(long_name[0].field, "metadata.name");
  auto bad_meta = Check(schema, R"({"metadata":"x"})");
  ASSERT_EQ(bad_meta.size(), 1u);
  EXPECT_EQ(bad_meta[0].field, "metadata");
  auto plain = MustCompile(R"({"type":"object"})");
  auto bad_meta2 = Check(plain, R"({"metadata":[]})");
  ASSERT_EQ(bad_meta2.size(), 1u);
  EXPECT_EQ(bad_meta2[0].message, "Invalid value: \"array\": metadata in body must be of type object: \"array\"");
}

// ---- prune ----

TEST(SchemaPruneTest, DropsUnknownFieldsAndReportsPaths) {
  auto schema = MustCompile(R"({"type":"object","properties":{"spec":{"type":"object","properties":{
      "a":{"type":"string"},
      "list":{"type":"array","items":{"type":"object","properties":{"n":{"type":"integer"}}}},
      "map":{"type":"object","additionalProperties":{"type":"object","properties":{"v":{"type":"string"}}}},
      "free":{"type":"object","x-kubernetes-preserve-unknown-fields":true,"properties":{
          "typed":{"type":"object","properties":{"k":{"type":"string"}}}}},
      "any":{"type":"object","additionalProperties":true}}}}})");
  auto obj = J(R"({"apiVersion":"v","kind":"K","metadata":{"name":"x","whatever":1},"extra":1,
      "spec":{"a":"x","b":2,"list":[{"n":1,"z":1},{"y":2}],"map":{"k1":{"v":"1","w":2}},
              "free":{"anything":{"deep":1},"typed":{"k":"v","junk":1}},"any":{"q":{"r":1}}}})");
  std::vector<std::string> unknown;
  schema->prune(obj, &unknown);
  EXPECT_EQ(obj, J(R"({"apiVersion":"v","kind":"K","metadata":{"name":"x","whatever":1},
      "spec":{"a":"x","list":[{"n":1},{}],"map":{"k1":{"v":"1"}},
              "free":{"anything":{"deep":1},"typed":{"k":"v"}},"any":{"q":{"r":1}}}})"));
  std::sort(unknown.begin(), unknown.end());
  EXPECT_EQ(unknown, (std::vector<std::string>{"extra", "spec.b", "spec.free.typed.junk", "spec.list[0].z",
                                               "spec.list[1].y", "spec.map.k1.w"}));
}

TEST(SchemaPruneTest, EmbeddedResourceKeepsTypeMeta) {
  auto schema = MustCompile(R"({"type":"object","properties":{"spec":{"type":"object","properties":{
      "template":{"type":"object","x-kubernetes-embedded-resource":true,"properties":{"spec":{"type":"object"}}}}}}})");
  auto obj = J(R"({"spec":{"template":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{},"junk":1}}})");
  std::vector<std::string> unknown;
  schema->prune(obj, &unknown);
  EXPECT_EQ(obj, J(R"({"spec":{"template":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{}}}})"));
  EXPECT_EQ(unknown, std::vector<std::string>{"spec.template.junk"});
}

TEST(SchemaPruneTest, ObjectValueUnderScalarSchemaIsEmptied) {
  auto schema = MustCompile(R"({"type":"object","properties":{"s":{"type":"string"}}})");
  auto obj = J(R"({"s":{"a":1}})");
  schema->prune(obj, nullptr);
  EXPECT_EQ(obj, J(R"({"s":{}})"));
}

// ---- defaults ----

TEST(SchemaDefaultTest, FillsAbsentFieldsRecursively) {
  auto schema = MustCompile(R"({"type":"object","properties":{"spec":{"type":"object","default":{},"properties":{
      "replicas":{"type":"integer","default":1},
      "strategy":{"type":"object","default":{},"properties":{"type":{"type":"string","default":"Rolling"}}},
      "ports":{"type":"array","items":{"type":"object","properties":{"protocol":{"type":"string","default":"TCP"}}}},
      "env":{"type":"object","additionalProperties":{"type":"object","properties":{"v":{"type":"string","default":"d"}}}}
  }}}})");
  auto obj = J(R"({"spec":{"replicas":3,"ports":[{},{"protocol":"UDP"}],"env":{"A":{}}}})");
  schema->apply_defaults(obj);
  EXPECT_EQ(obj, J(R"({"spec":{"replicas":3,"strategy":{"type":"Rolling"},
      "ports":[{"protocol":"TCP"},{"protocol":"UDP"}],"env":{"A":{"v":"d"}}}})"));
  auto empty = J(R"({})");
  schema->apply_defaults(empty);
  EXPECT_EQ(empty, J(R"({"spec":{"replicas":1,"strategy":{"type":"Rolling"}}})"));
}

TEST(SchemaDefaultTest, NullHandling) {
  auto schema = MustCompile(R"({"type":"object","properties":{
      "withDefault":{"type":"string","default":"d"},
      "noDefault":{"type":"string"},
      "nullable":{"type":"string","nullable":true,"default":"d"},
      "map":{"type":"object","additionalProperties":{"type":"string"}},
      "list":{"type":"array","items":{"type":"string","default":"x"}}}})");
  auto obj = J(R"({"withDefault":null,"noDefault":null,"nullable":null,"map":{"a":null,"b":"c"},"list":[null,"y"]})");
  schema->apply_defaults(obj);
  EXPECT_EQ(obj, J(R"({"withDefault":"d","nullable":null,"map":{"b":"c"},"list":["x","y"]})"));
  std::vector<StatusCause> causes;
  schema->validate(obj, causes);
  EXPECT_TRUE(causes.empty());
}

TEST(SchemaDefaultTest, LeavesMetadataAlone) {
  auto schema = MustCompile(R"({"type":"object","properties":{"spec":{"type":"object"}}})");
  auto obj = J(R"({"metadata":{"name":null},"spec":null})");
  schema->apply_defaults(obj);
  EXPECT_EQ(obj, J(R"({"metadata":{"name":null}})"));
}

}  // namespace
}  // namespace setpoint::api
