// OFBiz's reconciliation arithmetic (seed-systems §6.3): the scenarios, and properties over
// random ledgers.
#include "accounting/books.h"

#include <random>

#include <gtest/gtest.h>

namespace setpoint::accounting {
namespace {

Decimal D(std::string_view s) { return *Decimal::Parse(s); }

// S6-16: opening 1000, reconciled 70: closing 1070; against an ending balance of 1100, 30 short.
TEST(BooksTest, S6_16_ClosingBalanceAndDifference) {
  auto closing = ClosingBalance(D("1000.00"), D("70.00"));
  ASSERT_TRUE(closing);
  EXPECT_EQ(closing->str(), "1070.00");
  EXPECT_EQ(Difference(D("1100.00"), *closing)->str(), "30.00");
}

// S6-17: rows DEP 100 and WD 30 selected, opening 1000, reconciled 0.
TEST(BooksTest, S6_17_RunningTotalsOverTheSelectedRows) {
  auto t = RunningTotal(D("1000"), D("0"), {D("100"), D("-30")});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->running_total, D("70"));
  EXPECT_EQ(t->number_of_transactions, 2);
  EXPECT_EQ(t->ending_balance, D("1070"));
}

// S6-18: DEP 100 and WD 30 assigned, reconciledBalance 70: upstream's total counts them twice.
TEST(BooksTest, S6_18_TheTransactionTotalDoubleCountsAsUpstreamDoes) {
  EXPECT_EQ(*TransactionTotalByReconciliation({D("100"), D("-30")}, D("70")), D("140"));
  EXPECT_EQ(*TransactionTotalByReconciliation({D("100"), D("-30")}, D("0")), D("70"));
}

TEST(BooksTest, OverflowIsAnErrorNotAWrap) {
  EXPECT_FALSE(ClosingBalance(D("9223372036854775807"), D("1")));
  EXPECT_FALSE(RunningTotal(D("0"), D("0"), {D("9223372036854775807"), D("1")}));
}

// Over random ledgers: closing = opening + Σ reconciled, difference = ending − closing, and the
// running total's ending balance agrees with both, exactly, at every scale.
TEST(BooksTest, TheBalancesAddUpOverRandomLedgers) {
  std::mt19937_64 rng(19);
  std::uniform_int_distribution<std::int64_t> units(-50'000'00, 50'000'00);
  std::uniform_int_distribution<int> count(0, 300), scale(0, 3);
  for (int round = 0; round < 300; ++round) {
    const int s = scale(rng);
    const Decimal opening = Decimal::FromUnits(units(rng), s);
    std::vector<Decimal> amounts;
    std::int64_t reconciled_units = 0;
    for (int i = count(rng); i > 0; --i) {
      const std::int64_t u = units(rng);
      amounts.push_back(Decimal::FromUnits(u, s));
      reconciled_units += u;
    }
    const Decimal reconciled = Decimal::FromUnits(reconciled_units, s);
    auto closing = ClosingBalance(opening, reconciled);
    ASSERT_TRUE(closing);
    EXPECT_EQ(closing->units(), opening.units() + reconciled_units);
    const Decimal ending = Decimal::FromUnits(units(rng), s);
    auto diff = Difference(ending, *closing);
    ASSERT_TRUE(diff);
    EXPECT_EQ(*Decimal::Add(*closing, *diff), ending);
    auto running = RunningTotal(opening, Decimal(), amounts);
    ASSERT_TRUE(running);
    EXPECT_EQ(running->ending_balance, *closing);
    EXPECT_EQ(running->number_of_transactions, static_cast<std::int64_t>(amounts.size()));
  }
}

}  // namespace
}  // namespace setpoint::accounting
