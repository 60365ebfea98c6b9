#include "setpoint/api/field_selector.h"

#include <gtest/gtest.h>

#include <map>

namespace setpoint::api {
namespace {

using Op = FieldRequirement::Op;

auto Getter(std::map<std::string, std::string> fields) {
  return [fields = std::move(fields)](std::string_view f) -> std::optional<std::string> {
    auto it = fields.find(std::string(f));
    if (it == fields.end()) return std::nullopt;
    return it->second;
  };
}

TEST(FieldSelectorTest, EmptySelectsEverything) {
  for (std::string_view s : {"", ",", ",,"}) {
    auto sel = FieldSelector::Parse(s);
    ASSERT_TRUE(sel) << s;
    EXPECT_TRUE(sel->empty());
    EXPECT_TRUE(sel->matches(Getter({})));
  }
}

TEST(FieldSelectorTest, Operators) {
  auto s = FieldSelector::Parse("metadata.name=a,metadata.namespace==ns,status.phase!=Running");
  ASSERT_TRUE(s);
  ASSERT_EQ(s->requirements().size(), 3u);
  EXPECT_EQ(s->requirements()[0].field, "metadata.name");
  EXPECT_EQ(s->requirements()[0].op, Op::kEq);
  EXPECT_EQ(s->requirements()[2].op, Op::kNotEq);
  EXPECT_TRUE(s->matches(Getter({{"metadata.name", "a"}, {"metadata.namespace", "ns"}, {"status.phase", "Pending"}})));
  EXPECT_FALSE(s->matches(Getter({{"metadata.name", "a"}, {"metadata.namespace", "ns"}, {"status.phase", "Running"}})));
  EXPECT_FALSE(s->matches(Getter({{"metadata.name", "b"}, {"metadata.namespace", "ns"}})));
}

TEST(FieldSelectorTest, MissingFieldComparesAsEmpty) {
  auto eq_empty = FieldSelector::Parse("spec.nodeName=");
  ASSERT_TRUE(eq_empty);
  EXPECT_TRUE(eq_empty->matches(Getter({})));
  auto ne_empty = FieldSelector::Parse("spec.nodeName!=");
  ASSERT_TRUE(ne_empty);
  EXPECT_FALSE(ne_empty->matches(Getter({})));
  EXPECT_TRUE(ne_empty->matches(Getter({{"spec.nodeName", "n1"}})));
}

TEST(FieldSelectorTest, FirstOperatorSplitsAndDoubleEqualsWins) {
  auto s = FieldSelector::Parse("a==b");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->requirements()[0].value, "b");
  auto bang = FieldSelector::Parse("a=b!c");
  ASSERT_TRUE(bang);
  EXPECT_EQ(bang->requirements()[0].value, "b!c");
}

TEST(FieldSelectorTest, Escaping) {
  auto s = FieldSelector::Parse(R"(metadata.name=a\,b\=c\\d\!e,x=y)");
  ASSERT_TRUE(s) << s.error().message();
  ASSERT_EQ(s->requirements().size(), 2u);
  EXPECT_EQ(s->requirements()[0].value, R"(a,b=c\d!e)");
  EXPECT_EQ(s->exact("metadata.name"), R"(a,b=c\d!e)");
  EXPECT_EQ(s->to_string(), R"(metadata.name=a\,b\=c\\d!e,x=y)");
  EXPECT_EQ(EscapeFieldValue(R"(a,b=c\)"), R"(a\,b\=c\\)");
}

TEST(FieldSelectorTest, Errors) {
  auto no_op = FieldSelector::Parse("a=b,foo");
  ASSERT_FALSE(no_op);
  EXPECT_EQ(no_op.error().code(), StatusCode::kBadRequest);
  EXPECT_EQ(no_op.error().message(), "invalid selector: 'a=b,foo'; can't understand 'foo'");

  auto bad_escape = FieldSelector::Parse(R"(a=b\x)");
  ASSERT_FALSE(bad_escape);
  EXPECT_EQ(bad_escape.error().message(), R"(invalid field selector: invalid escape sequence: b\x)");

  auto trailing = FieldSelector::Parse(R"(a=b\)");
  ASSERT_FALSE(trailing);
  EXPECT_NE(trailing.error().message().find("invalid escape sequence"), std::string::npos);

  auto unescaped = FieldSelector::Parse("a=b=c");
  ASSERT_FALSE(unescaped);
  EXPECT_EQ(unescaped.error().message(), "invalid field selector: unescaped character in value: =");
}

TEST(FieldSelectorTest, ExactOnlyForEquality) {
  auto s = FieldSelector::Parse("a!=1,b=2");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->exact("a"), std::nullopt);
  EXPECT_EQ(s->exact("b"), "2");
  EXPECT_EQ(s->exact("c"), std::nullopt);
}

TEST(FieldSelectorTest, RequirementsAreSorted) {
  auto s = FieldSelector::Parse("z=1,a=2,m!=3");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->to_string(), "a=2,m!=3,z=1");
}

}  // namespace
}  // namespace setpoint::api
