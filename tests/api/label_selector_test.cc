#include "setpoint/api/label_selector.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace setpoint::api {
namespace {

using testing::J;

bool Matches(std::string_view selector, std::string_view labels_json) {
  auto s = LabelSelector::Parse(selector);
  EXPECT_TRUE(s.has_value()) << selector << ": " << (s ? "" : s.error().message());
  if (!s) return false;
  auto labels = J(labels_json);
  return s->matches(labels.is_object() ? &labels.get_object() : nullptr);
}

std::string ParseError(std::string_view selector) {
  auto s = LabelSelector::Parse(selector);
  EXPECT_FALSE(s.has_value()) << selector;
  if (s) return "";
  EXPECT_EQ(s.error().code(), StatusCode::kBadRequest);
  return s.error().message();
}

TEST(LabelSelectorTest, EmptySelectsEverything) {
  for (std::string_view s : {"", "   ", "\t\n"}) {
    auto sel = LabelSelector::Parse(s);
    ASSERT_TRUE(sel) << s;
    EXPECT_TRUE(sel->empty());
    EXPECT_TRUE(sel->matches(nullptr));
    EXPECT_EQ(sel->to_string(), "");
  }
  EXPECT_TRUE(LabelSelector().matches(nullptr));
}

TEST(LabelSelectorTest, EqualityOperators) {
  EXPECT_TRUE(Matches("app=web", R"({"app":"web"})"));
  EXPECT_TRUE(Matches("app==web", R"({"app":"web","x":"y"})"));
  EXPECT_FALSE(Matches("app=web", R"({"app":"db"})"));
  EXPECT_FALSE(Matches("app=web", R"({})"));
  EXPECT_FALSE(Matches("app=web", "null"));
  EXPECT_TRUE(Matches("app!=web", R"({"app":"db"})"));
  EXPECT_FALSE(Matches("app!=web", R"({"app":"web"})"));
  // != matches objects lacking the key, as upstream.
  EXPECT_TRUE(Matches("app!=web", R"({})"));
  EXPECT_TRUE(Matches("app!=web", "null"));
}

TEST(LabelSelectorTest, EmptyValueMatchesEmptyLabel) {
  EXPECT_TRUE(Matches("app=", R"({"app":""})"));
  EXPECT_FALSE(Matches("app=", R"({})"));
  EXPECT_TRUE(Matches("app=,b", R"({"app":"","b":"1"})"));
}

TEST(LabelSelectorTest, SetOperators) {
  EXPECT_TRUE(Matches("env in (prod, qa)", R"({"env":"qa"})"));
  EXPECT_FALSE(Matches("env in (prod,qa)", R"({"env":"dev"})"));
  EXPECT_FALSE(Matches("env in (prod,qa)", R"({})"));
  EXPECT_TRUE(Matches("env notin (prod,qa)", R"({"env":"dev"})"));
  EXPECT_TRUE(Matches("env notin (prod,qa)", R"({})"));
  EXPECT_FALSE(Matches("env notin (prod,qa)", R"({"env":"prod"})"));
  // Empty set members stand for "".
  EXPECT_TRUE(Matches("env in ()", R"({"env":""})"));
  EXPECT_TRUE(Matches("env in (a,,b)", R"({"env":""})"));
  EXPECT_TRUE(Matches("env in (,a)", R"({"env":""})"));
  EXPECT_TRUE(Matches("env in (a,)", R"({"env":""})"));
  EXPECT_FALSE(Matches("env in (a,b)", R"({"env":""})"));
}

TEST(LabelSelectorTest, ExistenceOperators) {
  EXPECT_TRUE(Matches("app", R"({"app":"x"})"));
  EXPECT_FALSE(Matches("app", R"({"other":"x"})"));
  EXPECT_TRUE(Matches("!app", R"({"other":"x"})"));
  EXPECT_FALSE(Matches("!app", R"({"app":""})"));
  EXPECT_TRUE(Matches("! app", "null"));
}

TEST(LabelSelectorTest, GreaterAndLessThan) {
  EXPECT_TRUE(Matches("n>5", R"({"n":"6"})"));
  EXPECT_FALSE(Matches("n>5", R"({"n":"5"})"));
  EXPECT_TRUE(Matches("n<5", R"({"n":"-1"})"));
  EXPECT_FALSE(Matches("n<5", R"({"n":"abc"})"));
  EXPECT_FALSE(Matches("n<5", R"({})"));
  EXPECT_NE(ParseError("n>abc").find("for 'Gt', 'Lt' operators, the value must be an integer"), std::string::npos);
}

TEST(LabelSelectorTest, ConjunctionAndWhitespace) {
  EXPECT_TRUE(Matches(" a = 1 ,b in (2), !c , d ", R"({"a":"1","b":"2","d":"x"})"));
  EXPECT_FALSE(Matches("a=1,b=2", R"({"a":"1","b":"3"})"));
}

TEST(LabelSelectorTest, KeywordsAreIdentifiersInValuePositions) {
  EXPECT_TRUE(Matches("in=notin", R"({"in":"notin"})"));
  EXPECT_TRUE(Matches("x in (in,notin)", R"({"x":"notin"})"));
  EXPECT_TRUE(Matches("notin", R"({"notin":"1"})"));
}

TEST(LabelSelectorTest, QualifiedKeys) {
  EXPECT_TRUE(Matches("app.kubernetes.io/name=web", R"({"app.kubernetes.io/name":"web"})"));
  EXPECT_NE(ParseError("Bad.Prefix/name=x").find("prefix part a lowercase RFC 1123 subdomain"), std::string::npos);
}

TEST(LabelSelectorTest, ToStringIsCanonical) {
  auto s = LabelSelector::Parse("z=1, a in (c,b,b), !m, k, x!=2, y==3, n notin (q), g>1, h<2");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->to_string(), "a in (b,c),g>1,h<2,k,!m,n notin (q),x!=2,y==3,z=1");
  auto again = LabelSelector::Parse(s->to_string());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->to_string(), s->to_string());
}

TEST(LabelSelectorTest, ExactMatch) {
  auto s = LabelSelector::Parse("a=1,b in (2),c in (3,4),d!=5");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->exact("a"), "1");
  EXPECT_EQ(s->exact("b"), "2");
  EXPECT_EQ(s->exact("c"), std::nullopt);
  EXPECT_EQ(s->exact("d"), std::nullopt);
  EXPECT_EQ(s->exact("zz"), std::nullopt);
}

TEST(LabelSelectorTest, UpstreamErrorMessages) {
  EXPECT_EQ(ParseError("a,"), "found '', expected: identifier after ','");
  EXPECT_EQ(ParseError(",a"), "found ',', expected: !, identifier, or 'end of string'");
  EXPECT_EQ(ParseError("a b"), "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt");
  EXPECT_EQ(ParseError("!"), "unable to parse requirement: found '', expected: identifier");
  EXPECT_EQ(ParseError("a in b"), "unable to parse requirement: found 'b' expected: '('");
  EXPECT_EQ(ParseError("a in (b"), "unable to parse requirement: found '', expected: ',' or ')'");
  EXPECT_EQ(ParseError("a in (b c)"), "unable to parse requirement: found 'c', expected: ',' or ')'");
  EXPECT_EQ(ParseError("a in (=)"), "unable to parse requirement: found '=', expected: ',', ')' or identifier");
  EXPECT_EQ(ParseError("a (b)"), "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt");
  EXPECT_EQ(ParseError("a=(b)"), "unable to parse requirement: found '(', expected: identifier");
  EXPECT_EQ(ParseError("!a=b"), "found '=', expected: ',' or 'end of string'");
  EXPECT_EQ(ParseError("a===b"), "unable to parse requirement: found '=', expected: identifier");
}

TEST(LabelSelectorTest, InvalidKeysAndValues) {
  std::string key_err = ParseError("-a=b");
  EXPECT_EQ(key_err.rfind("unable to parse requirement: Invalid value: \"-a\": name part must consist of", 0), 0u)
      << key_err;
  std::string value_err = ParseError("a=b c");
  EXPECT_EQ(value_err, "found 'c', expected: ',' or 'end of string'");
  std::string bad_value = ParseError("a=-b");
  EXPECT_EQ(
      bad_value.rfind("unable to parse requirement: values[0][a]: Invalid value: \"-b\": a valid label must be", 0), 0u)
      << bad_value;
  std::string long_value = ParseError("a=" + std::string(64, 'x'));
  EXPECT_NE(long_value.find("must be no more than 63 characters"), std::string::npos);
}

TEST(LabelSelectorTest, FromJsonMatchLabelsAndExpressions) {
  auto s = LabelSelector::FromJson(J(R"({
    "matchLabels": {"app": "web"},
    "matchExpressions": [
      {"key": "tier", "operator": "In", "values": ["fe", "be"]},
      {"key": "env", "operator": "NotIn", "values": ["dev"]},
      {"key": "team", "operator": "Exists"},
      {"key": "legacy", "operator": "DoesNotExist", "values": []}
    ]})"));
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->to_string(), "app=web,env notin (dev),!legacy,team,tier in (be,fe)");
  auto yes = J(R"({"app":"web","tier":"fe","team":"a"})");
  auto no = J(R"({"app":"web","tier":"fe","team":"a","legacy":"1"})");
  EXPECT_TRUE(s->matches(&yes.get_object()));
  EXPECT_FALSE(s->matches(&no.get_object()));
}

TEST(LabelSelectorTest, FromJsonEmptyAndNull) {
  auto all = LabelSelector::FromJson(J("{}"));
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->empty());
  EXPECT_TRUE(all->matches(nullptr));
  auto none = LabelSelector::FromJson(J("null"));
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->empty());
  EXPECT_FALSE(none->matches(nullptr));
  auto labels = J(R"({"a":"b"})");
  EXPECT_FALSE(none->matches(&labels.get_object()));
}

TEST(LabelSelectorTest, FromJsonErrorsAreInvalid) {
  auto bad_op = LabelSelector::FromJson(J(R"({"matchExpressions":[{"key":"a","operator":"Gt","values":["1"]}]})"));
  ASSERT_FALSE(bad_op);
  EXPECT_EQ(bad_op.error().code(), StatusCode::kInvalid);
  EXPECT_EQ(bad_op.error().message(), "\"Gt\" is not a valid label selector operator");

  auto empty_in = LabelSelector::FromJson(J(R"({"matchExpressions":[{"key":"a","operator":"In"}]})"));
  ASSERT_FALSE(empty_in);
  EXPECT_EQ(empty_in.error().message(),
            "values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty");

  auto exists_values =
      LabelSelector::FromJson(J(R"({"matchExpressions":[{"key":"a","operator":"Exists","values":["x"]}]})"));
  ASSERT_FALSE(exists_values);
  EXPECT_NE(exists_values.error().message().find("values set must be empty for exists and does not exist"),
            std::string::npos);

  auto bad_key = LabelSelector::FromJson(J(R"({"matchLabels":{"a b":"c"}})"));
  ASSERT_FALSE(bad_key);
  EXPECT_EQ(bad_key.error().message().rfind("key: Invalid value: \"a b\": name part must consist", 0), 0u);

  EXPECT_FALSE(LabelSelector::FromJson(J(R"({"matchLabels":{"a":1}})")));
  EXPECT_FALSE(LabelSelector::FromJson(J(R"({"matchLabels":[]})")));
  EXPECT_FALSE(LabelSelector::FromJson(J(R"({"matchExpressions":{}})")));
  EXPECT_FALSE(LabelSelector::FromJson(J(R"({"matchExpressions":[{"operator":"Exists"}]})")));
  EXPECT_FALSE(LabelSelector::FromJson(J(R"("a=b")")));
}

TEST(LabelSelectorTest, NonStringLabelValuesArePresentButUnequal) {
  auto s = LabelSelector::Parse("a=1");
  ASSERT_TRUE(s);
  auto labels = J(R"({"a":1})");
  EXPECT_FALSE(s->matches(&labels.get_object()));
  auto exists = LabelSelector::Parse("a");
  ASSERT_TRUE(exists);
  EXPECT_TRUE(exists->matches(&labels.get_object()));
}

}  // namespace
}  // namespace setpoint::api
