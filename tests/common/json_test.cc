#include "setpoint/common/json.h"

#include <gtest/gtest.h>

#include "setpoint/common/base64.h"
#include "setpoint/common/uuid.h"

namespace setpoint {
namespace {

TEST(JsonTest, ParsesValidDocuments) {
  auto v = ParseJson(R"({"a":{"b":[1,2]},"s":"x"})");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(GetStringOr(v->get_object(), "s", ""), "x");
  ASSERT_NE(GetObject(v->get_object(), "a"), nullptr);
}

TEST(JsonTest, RejectsSyntaxErrorsAsBadRequest) {
  for (const char* bad : {"", "{", "{\"a\":}", "[1,2", "{} trailing", "\xff\xfe"}) {
    auto v = ParseJson(bad);
    ASSERT_FALSE(v.has_value()) << bad;
    EXPECT_EQ(v.error().code(), StatusCode::kBadRequest);
    EXPECT_EQ(v.error().http_code(), 400);
  }
}

TEST(JsonTest, EnforcesDepthLimit) {
  std::string deep(101, '[');
  deep += std::string(101, ']');
  auto v = ParseJson(deep);
  ASSERT_FALSE(v.has_value());
  EXPECT_NE(v.error().message().find("nested deeper"), std::string::npos);
  std::string ok(99, '[');
  ok += std::string(99, ']');
  EXPECT_TRUE(ParseJson(ok).has_value());
}

TEST(JsonTest, AccessorsNeverThrowOnWrongTypes) {
  auto v = ParseJson(R"({"a":1,"b":"s","c":[1],"d":{}})");
  const auto& o = v->get_object();
  EXPECT_EQ(GetObject(o, "a"), nullptr);
  EXPECT_EQ(GetArray(o, "b"), nullptr);
  EXPECT_FALSE(GetString(o, "a").has_value());
  EXPECT_EQ(GetInt(o, "a"), 1);
  EXPECT_FALSE(GetInt(o, "b").has_value());
  EXPECT_FALSE(GetInt(o, "missing").has_value());
}

TEST(Base64Test, RoundTrips) {
  for (std::string s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("x\0y", 3)}) {
    auto d = Base64Decode(Base64Encode(s));
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(*d, s);
  }
  EXPECT_FALSE(Base64Decode("!!!").has_value());
}

TEST(UuidTest, GeneratesVersion4Uuids) {
  std::string a = NewUuid(), b = NewUuid();
  EXPECT_NE(a, b);
  ASSERT_EQ(a.size(), 36u);
  EXPECT_EQ(a[14], '4');
  EXPECT_TRUE(a[19] == '8' || a[19] == '9' || a[19] == 'a' || a[19] == 'b');
  std::string s = RandomNameSuffix();
  EXPECT_EQ(s.size(), 5u);
  EXPECT_EQ(s.find_first_of("aeiou01"), std::string::npos);
}

TEST(StatusTest, MapsToKubernetesReasonsAndCodes) {
  EXPECT_EQ(Status::NotFound("x").http_code(), 404);
  EXPECT_EQ(Status::NotFound("x").reason(), "NotFound");
  EXPECT_EQ(Status::Expired("x").http_code(), 410);
  EXPECT_EQ(Status::Expired("x").reason(), "Expired");
  EXPECT_EQ(Status::Invalid("x").http_code(), 422);
  EXPECT_EQ(Status::Internal("x").reason(), "InternalError");
  EXPECT_EQ(Status::Unavailable("x").reason(), "ServiceUnavailable");
  EXPECT_TRUE(Status::Ok().ok());
}

}  // namespace
}  // namespace setpoint

namespace setpoint {
namespace {

TEST(DuplicateKeyTest, FindsDuplicatesWithTheirPath) {
  EXPECT_FALSE(FindDuplicateKey(R"({"a":1,"b":{"a":2},"c":[{"a":1},{"a":2}]})").has_value());
  EXPECT_EQ(FindDuplicateKey(R"({"a":1,"a":2})"), "a");
  EXPECT_EQ(FindDuplicateKey(R"({"spec":{"size":1, "color":"x", "size":2}})"), "spec.size");
  EXPECT_EQ(FindDuplicateKey(R"({"s":{"l":[{"k":1,"k":2}]}})"), "s.l.k");
  // Keys inside string values and escaped quotes do not confuse it.
  EXPECT_FALSE(FindDuplicateKey(R"({"a":"\"a\":1","b":"a"})").has_value());
}

}  // namespace
}  // namespace setpoint

namespace setpoint {
namespace {

std::string Member(std::string_view text, std::string_view key) {
  auto r = FindTopLevelMember(text, key);
  return r ? std::string(text.substr(r->first, r->second)) : std::string("<none>");
}

TEST(TopLevelMemberTest, FindsTheValueOfEachTopLevelMember) {
  const std::string text =
      R"({"kind":"Load","n":-1.5e3,"t":true,"z":null,"metadata":{"name":"a","labels":{"x":"}"},"f":[1,{"metadata":2}]},"spec":[]})";
  EXPECT_EQ(Member(text, "kind"), R"("Load")");
  EXPECT_EQ(Member(text, "n"), "-1.5e3");
  EXPECT_EQ(Member(text, "t"), "true");
  EXPECT_EQ(Member(text, "z"), "null");
  EXPECT_EQ(Member(text, "metadata"), R"({"name":"a","labels":{"x":"}"},"f":[1,{"metadata":2}]})");
  EXPECT_EQ(Member(text, "spec"), "[]");
  // Nested members are not top-level ones.
  EXPECT_EQ(Member(text, "name"), "<none>");
  EXPECT_EQ(Member(text, "labels"), "<none>");
}

TEST(TopLevelMemberTest, ToleratesWhitespaceAndEscapes) {
  const std::string text = "{ \"a\\\"b\" : \"q\\\"}\" ,\n \"metadata\" :\t{ \"k\" : [ ] } }";
  EXPECT_EQ(Member(text, "metadata"), R"({ "k" : [ ] })");
  EXPECT_EQ(Member(text, "a\\\"b"), R"("q\"}")");
}

TEST(TopLevelMemberTest, AnswersNoneForNonObjectsAndTruncatedText) {
  EXPECT_EQ(Member("[1,2]", "a"), "<none>");
  EXPECT_EQ(Member("{}", "a"), "<none>");
  EXPECT_EQ(Member("\"metadata\"", "metadata"), "<none>");
  EXPECT_EQ(Member(R"({"a":{"b":)", "c"), "<none>");  // never reads past the end
  EXPECT_EQ(Member("", "a"), "<none>");
}

}  // namespace
}  // namespace setpoint
