#include "api/json_util.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace setpoint::api::internal {
namespace {

using testing::J;

TEST(JsonUtilTest, JsonEqualComparesNumbersByValue) {
  EXPECT_TRUE(JsonEqual(J("1"), J("1.0")));
  EXPECT_TRUE(JsonEqual(J("18446744073709551615"), boost::json::value(18446744073709551615ull)));
  EXPECT_FALSE(JsonEqual(J("-1"), boost::json::value(18446744073709551615ull)));
  EXPECT_FALSE(JsonEqual(J("1"), J("1.5")));
  EXPECT_FALSE(JsonEqual(J("1"), J("\"1\"")));
  EXPECT_TRUE(JsonEqual(J(R"({"a":[1,{"b":2}],"c":null})"), J(R"({"c":null,"a":[1.0,{"b":2}]})")));
  EXPECT_FALSE(JsonEqual(J(R"({"a":1})"), J(R"({"a":1,"b":2})")));
  EXPECT_FALSE(JsonEqual(J("[1,2]"), J("[2,1]")));
  EXPECT_FALSE(JsonEqual(J("9007199254740993"), J("9007199254740992.0")));
}

TEST(JsonUtilTest, CanonicalKeyAgreesWithJsonEqual) {
  EXPECT_EQ(CanonicalKey(J(R"({"b":1,"a":[2.0]})")), CanonicalKey(J(R"({"a":[2],"b":1.0})")));
  EXPECT_NE(CanonicalKey(J("1")), CanonicalKey(J("\"1\"")));
  EXPECT_NE(CanonicalKey(J("[1,2]")), CanonicalKey(J("[12]")));
}

TEST(JsonUtilTest, GoQuote) {
  EXPECT_EQ(GoQuote("abc"), "\"abc\"");
  EXPECT_EQ(GoQuote("a\"b\\c\n\t"), R"("a\"b\\c\n\t")");
  EXPECT_EQ(GoQuote(std::string("\x01\x7f", 2)), R"("\x01\x7f")");
  EXPECT_EQ(GoQuote("héllo ✓"), "\"héllo ✓\"");
  EXPECT_EQ(GoQuote("\xff"), R"("\xff")");
}

TEST(JsonUtilTest, GoFloatMatchesPercentV) {
  EXPECT_EQ(GoFloat(5), "5");
  EXPECT_EQ(GoFloat(-2.5), "-2.5");
  EXPECT_EQ(GoFloat(0.1), "0.1");
  EXPECT_EQ(GoFloat(0.0001), "0.0001");
  EXPECT_EQ(GoFloat(0.00001), "1e-05");
  EXPECT_EQ(GoFloat(1e20), "100000000000000000000");
  EXPECT_EQ(GoFloat(1e21), "1e+21");
  EXPECT_EQ(GoFloat(123456789.125), "123456789.125");
  EXPECT_EQ(GoFloat(0), "0");
}

TEST(JsonUtilTest, GoJsonAndGoValue) {
  EXPECT_EQ(GoJson(J(R"({"b":[1,2.5,"x<y"],"a":null})")), R"({"a":null,"b":[1,2.5,"x\u003cy"]})");
  EXPECT_EQ(GoJson(J("1e-7")), "1e-7");
  EXPECT_EQ(GoValue(J("\"s\"")), "\"s\"");
  EXPECT_EQ(GoValue(J("10")), "10");
  EXPECT_EQ(GoValue(J("true")), "true");
  EXPECT_EQ(GoValue(J("[]")), "[]");
}

TEST(JsonUtilTest, Misc) {
  EXPECT_EQ(CountCodePoints("héé"), 3u);
  EXPECT_EQ(CountCodePoints(""), 0u);
  EXPECT_EQ(CountCodePoints("\xff\xfe"), 2u);
  EXPECT_TRUE(IsIntegral(J("3.0")));
  EXPECT_FALSE(IsIntegral(J("3.5")));
  EXPECT_FALSE(IsIntegral(J("\"3\"")));
  EXPECT_EQ(JsonTypeName(J("1")), "integer");
  EXPECT_EQ(JsonTypeName(J("1.5")), "number");
  EXPECT_EQ(Join({"a", "b"}, ", "), "a, b");
}

}  // namespace
}  // namespace setpoint::api::internal
