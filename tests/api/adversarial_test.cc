// Every parser must return a value or an error for arbitrary input, never crash, hang or
// throw. Inputs come from a seeded generator so failures reproduce.
#include <gtest/gtest.h>

#include <random>

#include "setpoint/api/field_selector.h"
#include "setpoint/api/label_selector.h"
#include "setpoint/api/patch.h"
#include "setpoint/api/schema.h"
#include "setpoint/api/validation.h"
#include "setpoint/api/yaml.h"
#include "test_util.h"

namespace setpoint::api {
namespace {

using testing::J;

class Generator {
 public:
  explicit Generator(std::uint32_t seed) : rng_(seed) {}

  // Random bytes biased towards the characters the grammars care about.
  std::string Text(std::size_t max_len, std::string_view alphabet) {
    std::size_t len = Uniform(max_len);
    std::string s;
    for (std::size_t i = 0; i < len; ++i) {
      s += Uniform(4) == 0 ? static_cast<char>(Uniform(256)) : alphabet[Uniform(alphabet.size() - 1)];
    }
    return s;
  }

  boost::json::value Value(int depth) {
    switch (Uniform(depth <= 0 ? 5 : 7)) {
      case 0:
        return nullptr;
      case 1:
        return Uniform(2) == 0;
      case 2:
        return static_cast<std::int64_t>(Uniform(20)) - 10;
      case 3:
        return static_cast<double>(Uniform(100)) / 8;
      case 4:
        return boost::json::string(Text(4, "abc$/~-01"));
      case 5: {
        boost::json::array a;
        for (std::size_t i = Uniform(4); i > 0; --i) a.push_back(Value(depth - 1));
        return a;
      }
      default: {
        boost::json::object o;
        for (std::size_t i = Uniform(4); i > 0; --i) o[Text(3, "abc$/")] = Value(depth - 1);
        return o;
      }
    }
  }

  std::size_t Uniform(std::size_t n) { return n == 0 ? 0 : std::uniform_int_distribution<std::size_t>(0, n)(rng_); }

 private:
  std::mt19937 rng_;
};

TEST(AdversarialTest, LabelSelectorParse) {
  Generator g(1);
  for (int i = 0; i < 20000; ++i) {
    std::string s = g.Text(40, "ab=!(),<> \tin notin-._/x0");
    auto r = LabelSelector::Parse(s);
    if (r) {
      // Whatever parses must round-trip through its canonical form.
      auto again = LabelSelector::Parse(r->to_string());
      ASSERT_TRUE(again) << s << " -> " << r->to_string();
      EXPECT_EQ(again->to_string(), r->to_string());
      (void)r->matches(nullptr);
    } else {
      EXPECT_EQ(r.error().code(), StatusCode::kBadRequest);
    }
  }
}

TEST(AdversarialTest, FieldSelectorParse) {
  Generator g(2);
  for (int i = 0; i < 20000; ++i) {
    std::string s = g.Text(40, "ab=!,\\.x");
    auto r = FieldSelector::Parse(s);
    if (r) {
      auto again = FieldSelector::Parse(r->to_string());
      ASSERT_TRUE(again) << s << " -> " << r->to_string();
      EXPECT_EQ(again->to_string(), r->to_string());
    } else {
      EXPECT_EQ(r.error().code(), StatusCode::kBadRequest);
    }
  }
}

TEST(AdversarialTest, LabelSelectorFromJson) {
  Generator g(3);
  for (int i = 0; i < 5000; ++i) (void)LabelSelector::FromJson(g.Value(4));
}

TEST(AdversarialTest, Yaml) {
  Generator g(4);
  for (int i = 0; i < 20000; ++i) {
    std::string s = g.Text(60, "a: -[]{},&*!|>'\"\n #?~<.0x1");
    auto r = YamlToJson(s, 20);
    if (!r) {
      EXPECT_EQ(r.error().code(), StatusCode::kBadRequest);
    }
  }
}

TEST(AdversarialTest, Patches) {
  Generator g(5);
  auto schema = DefaultStrategicMergeSchema();
  schema.merge_keys["a"] = "";
  schema.merge_keys["b"] = "a";
  for (int i = 0; i < 20000; ++i) {
    auto target = g.Value(3);
    auto patch = g.Value(4);
    (void)ApplyMergePatch(target, patch);
    (void)ApplyStrategicMergePatch(target, patch, schema);
    (void)ApplyJsonPatch(target, patch);
    // Well-formed operations on random paths exercise application failures.
    boost::json::array ops;
    for (std::size_t k = g.Uniform(3); k > 0; --k) {
      static const char* kOps[] = {"add", "remove", "replace", "move", "copy", "test"};
      boost::json::object op{{"op", kOps[g.Uniform(5)]}, {"path", g.Text(6, "/ab0-~1")}, {"from", g.Text(6, "/ab0-")}};
      op["value"] = g.Value(2);
      ops.push_back(std::move(op));
    }
    (void)ApplyJsonPatch(target, ops);
  }
}

TEST(AdversarialTest, SchemaCompileAndApply) {
  Generator g(6);
  auto fixed = Schema::Compile(J(R"({"type":"object","properties":{"a":{"type":"array","items":{"type":"object",
      "properties":{"a":{"type":"string","pattern":"^a+$","default":"a"}}}},"b":{"x-kubernetes-int-or-string":true},
      "c":{"type":"object","additionalProperties":{"type":"integer","minimum":0}}}})"));
  ASSERT_TRUE(fixed);
  for (int i = 0; i < 5000; ++i) {
    auto schema = g.Value(4);
    if (schema.is_object() && g.Uniform(1) == 0) schema.as_object()["type"] = "object";
    (void)Schema::Compile(schema);
    auto obj = g.Value(4);
    std::vector<StatusCause> causes;
    std::vector<std::string> unknown;
    (*fixed)->prune(obj, &unknown);
    (*fixed)->apply_defaults(obj);
    (*fixed)->validate(obj, causes);
    if (obj.is_object()) ValidateObjectMeta(obj.get_object(), g.Uniform(1) == 0, NameRule::kDNS1123Subdomain, causes);
  }
}

}  // namespace
}  // namespace setpoint::api
