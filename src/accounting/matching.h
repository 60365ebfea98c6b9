// Matching a bank statement against the ledger: for each statement line, the transactions that
// most plausibly are the same money (docs/bank-reconciliation.md, "How matches are proposed").
// Pure: what the reconciliation controller proposes and the benchmark times.
//
// In this order, each transaction and each line in at most one proposal:
//   Reference  same amount and a shared reference, any date            confidence 1
//   Amount     same amount within the date window, nearest first       0.9 − 0.4 × days ÷ (window + 1)
//   Split      2..max_split transactions in the window summing exactly 0.7, less 0.05 per extra one
//              (among the split_candidates nearest; the fewest transactions that do)
//   Near       a shared reference, a different amount                  0.4 (the difference shown)
// What is left is reported unmatched, in input order.
//
// Thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "setpoint/common/decimal.h"

namespace setpoint::accounting {

// Days since 1970-01-01 of a "YYYY-MM-DD" date or of an RFC 3339 time's date part; nullopt for
// anything else.
std::optional<std::int64_t> DayOf(std::string_view date);

struct StatementItem {
  std::string id;
  std::int64_t day = 0;
  Decimal amount;                       // signed: a credit to the account is positive
  std::vector<std::string> references;  // reference, end-to-end id (empty ones ignored)
};

struct LedgerItem {
  std::string name;
  std::int64_t day = 0;
  Decimal amount;  // signed: a withdrawal is negative
  std::string reference;
};

enum class MatchRule { kReference, kAmount, kSplit, kNear };
std::string_view MatchRuleName(MatchRule r);  // "Reference", "Amount", "Split", "Near"

struct Proposal {
  MatchRule rule = MatchRule::kAmount;
  std::vector<std::string> lines, transactions;
  double confidence = 0;
  std::string reason;
  Decimal line_amount, transaction_amount, difference;  // difference = line − transactions
};

struct MatchOptions {
  int window_days = 3;
  int max_split = 4;           // at most this many transactions to one line (2..4)
  int split_candidates = 128;  // the nearest transactions a split is looked for among
};

struct MatchResult {
  std::vector<Proposal> proposals;
  std::vector<std::string> unmatched_lines, unmatched_transactions;
};

MatchResult ProposeMatches(const std::vector<StatementItem>& lines, const std::vector<LedgerItem>& transactions,
                           const MatchOptions& options = {});

}  // namespace setpoint::accounting
