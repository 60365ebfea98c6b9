#include "setpoint/common/json.h"

#include <limits>

#include <gtest/gtest.h>

#include "setpoint/common/log_limiter.h"

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

TEST(JsonTest, RejectsNumbersNoDoubleHoldsWithTheirPath) {
  // Boost.JSON reads these as infinities, which serialize as the non-JSON token `Infinity`.
  const std::pair<const char*, const char*> cases[] = {
      {"1e400", "the top level"},
      {"-1e400", "the top level"},
      {R"({"spec":{"x":1e400}})", "spec.x"},
      {R"({"a":[1,2,{"b":[0,-9e999]}]})", "a[2].b[1]"},
      {R"([{"k":1}, 1E309])", "[1]"},
  };
  for (const auto& [text, where] : cases) {
    auto v = ParseJson(text);
    ASSERT_FALSE(v.has_value()) << text;
    EXPECT_EQ(v.error().code(), StatusCode::kBadRequest) << text;
    EXPECT_NE(v.error().message().find(std::string("at ") + where + " is out of the range"), std::string::npos)
        << text << ": " << v.error().message();
  }
  // A long run of digits is a number too large for any double as well.
  EXPECT_FALSE(ParseJson("1" + std::string(400, '0')).has_value());
}

TEST(JsonTest, AcceptsEveryFiniteNumber) {
  for (const char* ok : {"1.7976931348623157e308", "-1.7976931348623157e308", "1e-400", "18446744073709551616",
                         "9223372036854775808", "-9223372036854775808", "0.1"}) {
    auto v = ParseJson(ok);
    ASSERT_TRUE(v.has_value()) << ok;
    // What was accepted serializes back as JSON that parses again.
    EXPECT_TRUE(ParseJson(ToJson(*v)).has_value()) << ok << " -> " << ToJson(*v);
  }
}

TEST(JsonTest, FindNonFiniteNumberWalksDeepDocumentsWithoutRecursion) {
  boost::json::value v = boost::json::array();
  boost::json::value* at = &v;
  for (int i = 0; i < 5000; ++i) {
    at->get_array().push_back(boost::json::array());
    at = &at->get_array().back();
  }
  EXPECT_FALSE(FindNonFiniteNumber(v).has_value());
  at->get_array().push_back(std::numeric_limits<double>::infinity());
  auto where = FindNonFiniteNumber(v);
  ASSERT_TRUE(where.has_value());
  EXPECT_EQ(where->size(), 5001u * 3u);  // "[0]" per level, then the element
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

TEST(LogLimiterTest, LetsOneLinePerKeyPerIntervalAndCountsTheRest) {
  using namespace std::chrono_literals;
  LogLimiter limiter(10s);
  const auto t0 = std::chrono::steady_clock::time_point{} + 1h;
  EXPECT_EQ(limiter.admit("accept", t0), std::optional<std::uint64_t>(0));
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(limiter.admit("accept", t0 + 1ms * i).has_value());
  // Another key has its own budget.
  EXPECT_EQ(limiter.admit("store", t0 + 1s), std::optional<std::uint64_t>(0));
  // After the interval the next line goes through, carrying the count held back.
  EXPECT_EQ(limiter.admit("accept", t0 + 10s), std::optional<std::uint64_t>(1000));
  EXPECT_FALSE(limiter.admit("accept", t0 + 11s).has_value());
  EXPECT_EQ(limiter.admit("accept", t0 + 25s), std::optional<std::uint64_t>(1));
  EXPECT_EQ(LogLimiter::Suffix(0), "");
  EXPECT_EQ(LogLimiter::Suffix(1), " (1 similar line suppressed)");
  EXPECT_EQ(LogLimiter::Suffix(41), " (41 similar lines suppressed)");
}

}  // namespace
}  // namespace setpoint
