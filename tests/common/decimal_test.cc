#include "setpoint/common/decimal.h"

#include <random>

#include <gtest/gtest.h>

namespace setpoint {
namespace {

Decimal D(std::string_view s) {
  auto d = Decimal::Parse(s);
  EXPECT_TRUE(d) << s;
  return d ? *d : Decimal();
}

TEST(DecimalTest, ParsesAndWritesTheTextItWasGiven) {
  for (std::string_view s : {"0", "1234.56", "-0.5", "10.005", "0.000000001", "-12.340", "9223372036854775807"})
    EXPECT_EQ(D(s).str(), s);
  EXPECT_EQ(D("+7.5").str(), "7.5");
  EXPECT_EQ(D("10.00"), D("10"));
  EXPECT_LT(D("-0.01"), D("0"));
  EXPECT_GT(D("1.5"), D("1.49"));
}

TEST(DecimalTest, RefusesWhatIsNotADecimal) {
  for (std::string_view s :
       {"", "-", ".5", "5.", "1.2.3", "1e3", "1,5", " 1", "0x10", "1.0000000001", "9223372036854775808", "NaN"}) {
    auto d = Decimal::Parse(s);
    EXPECT_FALSE(d) << s;
    if (!d) {
      EXPECT_EQ(d.error().code(), StatusCode::kBadRequest);
    }
  }
}

// S6-02: 10.005 with the default settings (2 decimals, HalfUp) is stored as 10.01.
TEST(DecimalTest, S6_02_HalfUpToTwoDecimals) {
  EXPECT_EQ(D("10.005").rounded(2, Rounding::kHalfUp)->str(), "10.01");
  EXPECT_EQ(D("-10.005").rounded(2, Rounding::kHalfUp)->str(), "-10.01");
  EXPECT_EQ(D("10.004").rounded(2, Rounding::kHalfUp)->str(), "10.00");
  EXPECT_EQ(D("10.5").rounded(2, Rounding::kHalfUp)->str(), "10.5");  // fewer digits: kept
}

TEST(DecimalTest, RoundsAsJavasRoundingModes) {
  // Java's RoundingMode table, rounding to an integer.
  struct Row {
    std::string_view in;
    std::string_view up, down, ceiling, floor, half_up, half_down, half_even;
  };
  const Row rows[] = {
      {"5.5", "6", "5", "6", "5", "6", "5", "6"},         {"2.5", "3", "2", "3", "2", "3", "2", "2"},
      {"1.6", "2", "1", "2", "1", "2", "2", "2"},         {"1.1", "2", "1", "2", "1", "1", "1", "1"},
      {"1.0", "1", "1", "1", "1", "1", "1", "1"},         {"-1.0", "-1", "-1", "-1", "-1", "-1", "-1", "-1"},
      {"-1.1", "-2", "-1", "-1", "-2", "-1", "-1", "-1"}, {"-1.6", "-2", "-1", "-1", "-2", "-2", "-2", "-2"},
      {"-2.5", "-3", "-2", "-2", "-3", "-3", "-2", "-2"}, {"-5.5", "-6", "-5", "-5", "-6", "-6", "-5", "-6"},
  };
  for (const auto& r : rows) {
    const Decimal d = D(r.in);
    EXPECT_EQ(d.rounded(0, Rounding::kUp)->str(), r.up) << r.in;
    EXPECT_EQ(d.rounded(0, Rounding::kDown)->str(), r.down) << r.in;
    EXPECT_EQ(d.rounded(0, Rounding::kCeiling)->str(), r.ceiling) << r.in;
    EXPECT_EQ(d.rounded(0, Rounding::kFloor)->str(), r.floor) << r.in;
    EXPECT_EQ(d.rounded(0, Rounding::kHalfUp)->str(), r.half_up) << r.in;
    EXPECT_EQ(d.rounded(0, Rounding::kHalfDown)->str(), r.half_down) << r.in;
    EXPECT_EQ(d.rounded(0, Rounding::kHalfEven)->str(), r.half_even) << r.in;
  }
}

TEST(DecimalTest, ArithmeticIsCheckedNotWrapped) {
  EXPECT_EQ(Decimal::Add(D("0.1"), D("0.2"))->str(), "0.3");
  EXPECT_EQ(Decimal::Sub(D("1000"), D("0.01"))->str(), "999.99");
  EXPECT_FALSE(Decimal::Add(D("9223372036854775807"), D("1")));
  EXPECT_FALSE(Decimal::Add(D("922337203685477581"), D("0.1")));  // the rescale overflows
  EXPECT_FALSE(D("9223372036854775807").rescaled(1));
  DecimalSum sum;
  sum.add(D("9223372036854775807"));
  sum.add(D("1"));
  sum.sub(D("5"));
  EXPECT_FALSE(sum.result());  // the first overflow sticks
  // Values too large to share a scale still compare.
  EXPECT_LT(D("0.000000001"), D("9223372036854775807"));
  EXPECT_GT(D("922337203685477580.7"), D("922337203.685477580"));
}

TEST(DecimalTest, RoundingModesHaveOFBizsNames) {
  EXPECT_EQ(*ParseRounding("HalfUp"), Rounding::kHalfUp);
  EXPECT_EQ(*ParseRounding("HALF_EVEN"), Rounding::kHalfEven);
  EXPECT_FALSE(ParseRounding("Nearest"));
  for (auto r : {Rounding::kHalfUp, Rounding::kHalfDown, Rounding::kHalfEven, Rounding::kUp, Rounding::kDown,
                 Rounding::kCeiling, Rounding::kFloor})
    EXPECT_EQ(*ParseRounding(RoundingName(r)), r);
}

TEST(DecimalTest, CurrenciesKnowTheirMinorUnit) {
  EXPECT_EQ(CurrencyMinorDigits("EUR"), 2);
  EXPECT_EQ(CurrencyMinorDigits("JPY"), 0);
  EXPECT_EQ(CurrencyMinorDigits("BHD"), 3);
  EXPECT_EQ(CurrencyMinorDigits("CLF"), 4);
  EXPECT_EQ(CurrencyMinorDigits("XXX"), 2);
}

// Property: over random amounts, a sum computed through the text form equals the sum of units,
// and a - b + b == a.
TEST(DecimalTest, SumsOfRandomAmountsAreExact) {
  std::mt19937_64 rng(20261204);
  std::uniform_int_distribution<std::int64_t> cents(-10'000'000'00, 10'000'000'00);
  for (int round = 0; round < 200; ++round) {
    DecimalSum sum;
    std::int64_t expect = 0;
    for (int i = 0; i < 50; ++i) {
      const std::int64_t c = cents(rng);
      expect += c;
      sum.add(D(Decimal::FromUnits(c, 2).str()));
    }
    ASSERT_TRUE(sum.result());
    EXPECT_EQ(*sum.result(), Decimal::FromUnits(expect, 2));
    const Decimal a = Decimal::FromUnits(cents(rng), 2), b = Decimal::FromUnits(cents(rng), 3);
    EXPECT_EQ(*Decimal::Add(*Decimal::Sub(a, b), b), a);
  }
}

}  // namespace
}  // namespace setpoint
