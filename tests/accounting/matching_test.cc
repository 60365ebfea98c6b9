// Proposing matches between a statement and the ledger: each rule, their order, and that no line
// or transaction is proposed twice.
#include "accounting/matching.h"

#include <random>
#include <set>

#include <gtest/gtest.h>

namespace setpoint::accounting {
namespace {

Decimal D(std::string_view s) { return *Decimal::Parse(s); }
std::int64_t Day(std::string_view s) { return *DayOf(s); }

StatementItem Line(std::string id, std::string_view date, std::string_view amount, std::string ref = "") {
  return {std::move(id), Day(date), D(amount), {std::move(ref)}};
}
LedgerItem Txn(std::string name, std::string_view date, std::string_view amount, std::string ref = "") {
  return {std::move(name), Day(date), D(amount), std::move(ref)};
}

TEST(DayOfTest, ReadsDatesAndTimes) {
  EXPECT_EQ(*DayOf("1970-01-01"), 0);
  EXPECT_EQ(*DayOf("2026-12-04"), *DayOf("2026-12-03T23:59:59Z") + 1);
  EXPECT_EQ(*DayOf("2024-03-01") - *DayOf("2024-02-28"), 2);  // a leap year
  EXPECT_FALSE(DayOf("2026-13-01"));
  EXPECT_FALSE(DayOf("04.12.2026"));
  EXPECT_FALSE(DayOf("2026-12-04X"));
}

TEST(MatchingTest, EachRuleInItsOrder) {
  std::vector<StatementItem> lines = {
      Line("L1", "2026-11-02", "100.00", "INV-1"),  // reference and amount, dates far apart
      Line("L2", "2026-11-06", "-45.10"),           // amount: t-same is nearer, but L3 has it at 0 days
      Line("L3", "2026-11-05", "-45.1"),            // amount, same day
      Line("L4", "2026-11-10", "300.00"),           // three transactions sum to it
      Line("L5", "2026-11-12", "19.99", "INV-9"),   // same reference, a cent off
      Line("L6", "2026-11-20", "-2.50", "FEE"),     // a fee only the bank knows
  };
  std::vector<LedgerItem> txns = {
      Txn("t-ref", "2026-10-20", "100", "inv-1"),
      Txn("t-far", "2026-11-08", "-45.10"),
      Txn("t-same", "2026-11-05", "-45.10"),
      Txn("t-a", "2026-11-09", "100.00"),
      Txn("t-b", "2026-11-10", "150.00"),
      Txn("t-c", "2026-11-12", "50.00"),
      Txn("t-near", "2026-11-12", "20.00", "INV-9"),
      Txn("t-missing", "2026-11-25", "75.00"),
  };
  auto r = ProposeMatches(lines, txns);
  ASSERT_EQ(r.proposals.size(), 5u);
  EXPECT_EQ(r.proposals[0].rule, MatchRule::kReference);
  EXPECT_EQ(r.proposals[0].transactions, std::vector<std::string>{"t-ref"});
  EXPECT_EQ(r.proposals[0].confidence, 1.0);
  EXPECT_EQ(r.proposals[1].lines, std::vector<std::string>{"L2"});
  EXPECT_EQ(r.proposals[1].transactions, std::vector<std::string>{"t-far"});
  EXPECT_EQ(r.proposals[1].reason, "same amount, 2 days apart");
  EXPECT_EQ(r.proposals[1].confidence, 0.7);
  EXPECT_EQ(r.proposals[2].transactions, std::vector<std::string>{"t-same"});
  EXPECT_EQ(r.proposals[2].confidence, 0.9);
  EXPECT_EQ(r.proposals[3].rule, MatchRule::kSplit);
  EXPECT_EQ(r.proposals[3].transactions, (std::vector<std::string>{"t-a", "t-b", "t-c"}));
  EXPECT_EQ(r.proposals[3].reason, "3 transactions within 2 days sum to the amount");
  EXPECT_TRUE(r.proposals[3].difference.is_zero());
  EXPECT_EQ(r.proposals[4].rule, MatchRule::kNear);
  EXPECT_EQ(r.proposals[4].difference, D("-0.01"));
  EXPECT_EQ(r.proposals[4].reason, "same reference \"INV-9\", amounts differ by 0.01");
  EXPECT_EQ(r.unmatched_lines, std::vector<std::string>{"L6"});
  EXPECT_EQ(r.unmatched_transactions, std::vector<std::string>{"t-missing"});
}

TEST(MatchingTest, TheWindowBoundsAmountAndSplitMatches) {
  std::vector<StatementItem> lines = {Line("L1", "2026-11-10", "80.00"), Line("L2", "2026-11-10", "30.00")};
  std::vector<LedgerItem> txns = {Txn("four-days", "2026-11-14", "80.00"), Txn("x", "2026-11-06", "10.00"),
                                  Txn("y", "2026-11-10", "20.00")};
  auto narrow = ProposeMatches(lines, txns, {.window_days = 3});
  EXPECT_TRUE(narrow.proposals.empty());
  EXPECT_EQ(narrow.unmatched_transactions.size(), 3u);
  auto wide = ProposeMatches(lines, txns, {.window_days = 4});
  ASSERT_EQ(wide.proposals.size(), 2u);
  EXPECT_EQ(wide.proposals[0].transactions, std::vector<std::string>{"four-days"});
  EXPECT_EQ(wide.proposals[1].transactions, (std::vector<std::string>{"x", "y"}));
}

TEST(MatchingTest, AtMostMaxSplitTransactionsToALine) {
  std::vector<StatementItem> lines = {Line("L", "2026-11-10", "5.00")};
  std::vector<LedgerItem> txns;
  for (int i = 0; i < 4; ++i) txns.push_back(Txn("t" + std::to_string(i), "2026-11-10", "1.25"));
  EXPECT_TRUE(ProposeMatches(lines, txns, {.max_split = 3}).proposals.empty());  // four are needed
  auto r = ProposeMatches(lines, txns);
  ASSERT_EQ(r.proposals.size(), 1u);
  EXPECT_EQ(r.proposals[0].transactions.size(), 4u);
  EXPECT_EQ(r.proposals[0].reason, "4 transactions within 0 days sum to the amount");
}

// Over a random statement and ledger: every line and transaction is in exactly one proposal or
// reported unmatched, and every proposal but a Near one balances to the cent.
// Among many candidates in the window (a busy day), the few that sum to the line are found.
TEST(MatchingTest, ASplitIsFoundAmongManyCandidates) {
  std::vector<StatementItem> lines = {Line("L", "2026-11-10", "1000.00")};
  std::vector<LedgerItem> txns;
  for (int i = 0; i < 100; ++i) txns.push_back(Txn("noise" + std::to_string(i), "2026-11-10", "0.07"));
  txns.push_back(Txn("a", "2026-11-11", "333.33"));
  txns.push_back(Txn("b", "2026-11-12", "333.33"));
  txns.push_back(Txn("c", "2026-11-09", "333.34"));
  auto r = ProposeMatches(lines, txns);
  ASSERT_EQ(r.proposals.size(), 1u);
  EXPECT_EQ(r.proposals[0].transactions, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(MatchingTest, ProposalsPartitionTheirInputs) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int> cents(-2000, 2000), day(0, 40), pick(0, 9);
  for (int round = 0; round < 50; ++round) {
    std::vector<StatementItem> lines;
    std::vector<LedgerItem> txns;
    for (int i = 0; i < 120; ++i) {
      const Decimal amount = Decimal::FromUnits(cents(rng), 2);
      const int d = day(rng);
      const std::string ref = pick(rng) < 3 ? "R" + std::to_string(i) : "";
      lines.push_back({"L" + std::to_string(i), d, amount, {ref}});
      if (pick(rng) < 8) txns.push_back({"t" + std::to_string(i), d + pick(rng) % 5, amount, ref});
      if (pick(rng) < 2) txns.push_back({"n" + std::to_string(i), day(rng), Decimal::FromUnits(cents(rng), 2), ""});
    }
    auto r = ProposeMatches(lines, txns);
    std::multiset<std::string> seen_lines(r.unmatched_lines.begin(), r.unmatched_lines.end());
    std::multiset<std::string> seen_txns(r.unmatched_transactions.begin(), r.unmatched_transactions.end());
    for (const auto& p : r.proposals) {
      seen_lines.insert(p.lines.begin(), p.lines.end());
      seen_txns.insert(p.transactions.begin(), p.transactions.end());
      if (p.rule != MatchRule::kNear) {
        EXPECT_TRUE(p.difference.is_zero()) << p.reason;
      }
      EXPECT_EQ(*Decimal::Add(p.transaction_amount, p.difference), p.line_amount);
      EXPECT_GE(p.confidence, 0.0);
      EXPECT_LE(p.confidence, 1.0);
    }
    ASSERT_EQ(seen_lines.size(), lines.size());
    for (const auto& l : lines) EXPECT_EQ(seen_lines.count(l.id), 1u) << l.id;
    ASSERT_EQ(seen_txns.size(), txns.size());
    for (const auto& t : txns) EXPECT_EQ(seen_txns.count(t.name), 1u) << t.name;
  }
}

}  // namespace
}  // namespace setpoint::accounting
