#include <gtest/gtest.h>

#include "api/schema_node.h"
#include "setpoint/api/schema.h"
#include "test_util.h"

namespace setpoint::api {
namespace {

using testing::J;

std::vector<StatusCause> CompileErrors(const char* schema, std::string_view base = "openAPIV3Schema") {
  auto s = Schema::Compile(J(schema), base);
  EXPECT_FALSE(s) << schema;
  if (s) return {};
  EXPECT_EQ(s.error().code(), StatusCode::kInvalid);
  return s.error().causes();
}

bool HasCause(const std::vector<StatusCause>& causes, std::string_view field, std::string_view message_part) {
  for (const auto& c : causes) {
    if (c.field == field && c.message.find(message_part) != std::string::npos) return true;
  }
  return false;
}

std::string Dump(const std::vector<StatusCause>& causes) {
  std::string s;
  for (const auto& c : causes) s += c.field + ": " + c.message + "\n";
  return s;
}

TEST(SchemaCompileTest, AcceptsTypicalCrdSchema) {
  auto s = Schema::Compile(J(R"({
    "type": "object",
    "properties": {
      "spec": {
        "type": "object",
        "required": ["cronSpec"],
        "properties": {
          "cronSpec": {"type": "string", "pattern": "^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$"},
          "image": {"type": "string"},
          "replicas": {"type": "integer", "minimum": 1, "maximum": 10, "default": 1},
          "port": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]},
          "labels": {"type": "object", "additionalProperties": {"type": "string"}},
          "raw": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
          "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                       "x-kubernetes-preserve-unknown-fields": true},
          "items": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}},
                    "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
          "rules": {"type": "array", "items": {"type": "string"},
                    "x-kubernetes-validations": [{"rule": "self.size() > 0"}]}
        }
      },
      "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
      "metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 20}}}
    }})"));
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ((*s)->json().at("type"), "object");
}

TEST(SchemaCompileTest, TypeIsRequired) {
  auto causes = CompileErrors(R"({"type":"object","properties":{"spec":{"properties":{"a":{"type":"string"}}}}})");
  EXPECT_TRUE(HasCause(causes, "openAPIV3Schema.properties[spec].type",
                       "Required value: must not be empty for specified object fields"))
      << Dump(causes);
  auto root = CompileErrors(R"({"properties":{}})", "spec.versions[0].schema.openAPIV3Schema");
  EXPECT_TRUE(HasCause(root, "spec.versions[0].schema.openAPIV3Schema.type", "must not be empty at the root"))
      << Dump(root);
  auto preserve_root = CompileErrors(R"({"x-kubernetes-preserve-unknown-fields":true})");
  EXPECT_TRUE(HasCause(preserve_root, "openAPIV3Schema.type", "must not be empty at the root")) << Dump(preserve_root);
  EXPECT_TRUE(
      Schema::Compile(J(R"({"type":"object","properties":{"p":{"x-kubernetes-preserve-unknown-fields":true}}})")));
  auto items = CompileErrors(R"({"type":"object","properties":{"l":{"type":"array","items":{}}}})");
  EXPECT_TRUE(
      HasCause(items, "openAPIV3Schema.properties[l].items.type", "must not be empty for specified array items"))
      << Dump(items);
}

TEST(SchemaCompileTest, RootMustBeObject) {
  auto causes = CompileErrors(R"({"type":"string"})");
  EXPECT_TRUE(HasCause(causes, "openAPIV3Schema.type", "Invalid value: \"string\": must be object at the root"))
      << Dump(causes);
}

TEST(SchemaCompileTest, UnknownType) {
  auto causes = CompileErrors(R"({"type":"object","properties":{"a":{"type":"str"}}})");
  ASSERT_EQ(causes.size(), 1u) << Dump(causes);
  EXPECT_EQ(causes[0].reason, "FieldValueNotSupported");
  EXPECT_EQ(
      causes[0].message,
      "Unsupported value: \"str\": supported values: \"array\", \"boolean\", \"integer\", \"number\", \"object\", "
      "\"string\"");
}

TEST(SchemaCompileTest, ArraysNeedItems) {
  auto causes = CompileErrors(R"({"type":"object","properties":{"l":{"type":"array"}}})");
  EXPECT_TRUE(HasCause(causes, "openAPIV3Schema.properties[l].items", "Required value: must be specified"))
      << Dump(causes);
  auto tuple = CompileErrors(R"({"type":"object","properties":{"l":{"type":"array","items":[{"type":"string"}]}}})");
  EXPECT_TRUE(HasCause(tuple, "openAPIV3Schema.properties[l].items", "not an array")) << Dump(tuple);
}

TEST(SchemaCompileTest, PropertiesAndAdditionalPropertiesExclusive) {
  auto causes = CompileErrors(
      R"({"type":"object","properties":{"m":{"type":"object","properties":{"a":{"type":"string"}},
          "additionalProperties":{"type":"string"}}}})");
  EXPECT_TRUE(HasCause(causes, "openAPIV3Schema.properties[m].additionalProperties", "mutual exclusive"))
      << Dump(causes);
}

TEST(SchemaCompileTest, JunctorsMayNotAddTypesOrDefaults) {
  auto causes = CompileErrors(
      R"({"type":"object","properties":{"a":{"type":"string","anyOf":[{"type":"integer"},{"default":"x"}]}}})");
  EXPECT_TRUE(HasCause(causes, "openAPIV3Schema.properties[a].anyOf[0].type", "must be empty to be structural"))
      << Dump(causes);
  EXPECT_TRUE(HasCause(causes, "openAPIV3Schema.properties[a].anyOf[1].default", "must be undefined to be structural"))
      << Dump(causes);
  auto nested = CompileErrors(R"({"type":"object","properties":{"a":{"type":"object",
      "allOf":[{"properties":{"b":{"type":"string","nullable":true}}}]}}})");
  EXPECT_TRUE(HasCause(nested, "openAPIV3Schema.properties[a].allOf[0].properties[b].type", "must be empty"))
      << Dump(nested);
  EXPECT_TRUE(HasCause(nested, "openAPIV3Schema.properties[a].allOf[0].properties[b].nullable", "must be false"))
      << Dump(nested);
}

TEST(SchemaCompileTest, InvalidPatterns) {
  auto causes = CompileErrors(R"({"type":"object","properties":{"a":{"type":"string","pattern":"(unclosed"}}})");
  ASSERT_EQ(causes.size(), 1u) << Dump(causes);
  EXPECT_EQ(causes[0].field, "openAPIV3Schema.properties[a].pattern");
  EXPECT_EQ(causes[0].message.rfind("Invalid value: \"(unclosed\": must be a valid regular expression, but isn't", 0),
            0u);
  // Wrapping for linear-time matching must not make an unbalanced pattern valid.
  EXPECT_EQ(CompileErrors(R"({"type":"object","properties":{"a":{"type":"string","pattern":"a)(b"}}})").size(), 1u);
  // Backreferences cannot run in linear time (Go's RE2 refuses them too).
  EXPECT_EQ(CompileErrors(R"({"type":"object","properties":{"a":{"type":"string","pattern":"(a)\\1"}}})").size(), 1u);
  std::string deep = R"({"type":"object","properties":{"a":{"type":"string","pattern":")" + std::string(200, '(') +
                     std::string(200, ')') + R"("}}})";
  EXPECT_EQ(CompileErrors(deep.c_str()).size(), 1u);
  EXPECT_EQ(
      CompileErrors(R"j({"type":"object","properties":{"a":{"type":"string","pattern":"((a{100}){100})"}}})j").size(),
      1u);
}

TEST(SchemaCompileTest, PatternCostEstimate) {
  EXPECT_LT(internal::PatternCost("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"), 50);
  EXPECT_GE(internal::PatternCost("(a{100}){100}"), 10000);
  EXPECT_GE(internal::PatternCost("a{3,}"), 3);
  EXPECT_LT(internal::PatternCost(std::string(60, '(') + std::string(60, ')')), 0);
}

TEST(SchemaCompileTest, DefaultsMustValidateAndBePruned) {
  auto causes = CompileErrors(R"({"type":"object","properties":{"n":{"type":"integer","maximum":5,"default":10}}})");
  ASSERT_EQ(causes.size(), 1u) << Dump(causes);
  EXPECT_EQ(causes[0].field, "openAPIV3Schema.properties[n].default");
  EXPECT_EQ(causes[0].message, "Invalid value: 10: n in body should be less than or equal to 5");
  auto typed = CompileErrors(R"({"type":"object","properties":{"n":{"type":"integer","default":"x"}}})");
  ASSERT_EQ(typed.size(), 1u);
  EXPECT_EQ(typed[0].reason, "FieldValueTypeInvalid");
  auto unknown = CompileErrors(
      R"({"type":"object","properties":{"o":{"type":"object","properties":{"a":{"type":"string"}},"default":{"b":1}}}})");
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_NE(unknown[0].message.find("must not have unknown fields: o.b"), std::string::npos) << unknown[0].message;
  // A default is itself defaulted before validation: the required field comes from a nested default.
  auto ok = Schema::Compile(J(R"({"type":"object","properties":{"o":{"type":"object","required":["a"],
      "properties":{"a":{"type":"string","default":"x"}},"default":{}}}})"));
  EXPECT_TRUE(ok) << ok.error().message();
}

TEST(SchemaCompileTest, RootMetadataRestrictions) {
  auto causes = CompileErrors(
      R"({"type":"object","properties":{"metadata":{"type":"object","properties":{"labels":{"type":"object"}}}}})");
  EXPECT_TRUE(HasCause(causes, "openAPIV3Schema.properties[metadata].properties[labels]",
                       "must not specify anything other than name and generateName"))
      << Dump(causes);
}

TEST(SchemaCompileTest, UnsupportedKeywordsAndBadValues) {
  auto causes = CompileErrors(R"({"type":"object","$ref":"#/x","properties":{
      "a":{"type":"string","minLength":-1,"maxLength":"3","enum":"x","required":"a"},
      "b":{"type":"number","minimum":"0","multipleOf":0},
      "c":{"type":"object","x-kubernetes-preserve-unknown-fields":false},
      "d":{"type":"string","x-kubernetes-embedded-resource":true},
      "e":{"type":"array","items":{"type":"string"},"x-kubernetes-list-type":"map"},
      "f":{"type":"array","items":{"type":"string"},"x-kubernetes-list-type":"bag"},
      "g":5}})");
  for (const char* field :
       {"openAPIV3Schema.$ref", "openAPIV3Schema.properties[a].minLength", "openAPIV3Schema.properties[a].maxLength",
        "openAPIV3Schema.properties[a].enum", "openAPIV3Schema.properties[a].required",
        "openAPIV3Schema.properties[b].minimum", "openAPIV3Schema.properties[b].multipleOf",
        "openAPIV3Schema.properties[c].x-kubernetes-preserve-unknown-fields", "openAPIV3Schema.properties[d].type",
        "openAPIV3Schema.properties[d].properties", "openAPIV3Schema.properties[e].x-kubernetes-list-map-keys",
        "openAPIV3Schema.properties[f].x-kubernetes-list-type", "openAPIV3Schema.properties[g]"}) {
    EXPECT_TRUE(HasCause(causes, field, "")) << field << "\n" << Dump(causes);
  }
}

TEST(SchemaCompileTest, NonObjectSchema) {
  auto causes = CompileErrors("[]");
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(causes[0].field, "openAPIV3Schema");
}

TEST(SchemaCompileTest, StatusMessageListsCauses) {
  auto s = Schema::Compile(J(R"({"type":"object","properties":{"a":{}}})"));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(),
            "invalid openAPIV3Schema: openAPIV3Schema.properties[a].type: Required value: must not be empty for "
            "specified object fields");
}

TEST(SchemaCompileTest, DeepSchemaIsRejectedNotCrashing) {
  std::string schema = R"({"type":"object")";
  std::string tail = "}";
  for (int i = 0; i < 300; ++i) {
    schema += R"(,"properties":{"a":{"type":"object")";
    tail += "}}";
  }
  schema += tail;
  boost::json::parse_options opts;
  opts.max_depth = 10000;
  auto s = Schema::Compile(boost::json::parse(schema, {}, opts));
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("nested too deeply"), std::string::npos);
}

}  // namespace
}  // namespace setpoint::api
