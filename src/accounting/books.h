// The arithmetic of OFBiz's reconciliation services (seed-systems §6.3), exactly as upstream
// computes it, over Decimal amounts with the sign they have on the account (a withdrawal's is
// negative). Pure; errors are overflows (BadRequest).
#pragma once

#include <cstdint>
#include <vector>

#include "setpoint/common/decimal.h"

namespace setpoint::accounting {

// getReconciliationClosingBalance: opening + reconciled.
Result<Decimal> ClosingBalance(const Decimal& opening, const Decimal& reconciled);

// The difference the reconciliation screen shows: statement ending balance − closing balance.
Result<Decimal> Difference(const Decimal& statement_ending, const Decimal& closing);

// getFinAccountTransRunningTotalAndBalances over the rows a person selected.
struct RunningTotals {
  Decimal running_total;
  std::int64_t number_of_transactions = 0;
  Decimal ending_balance;  // opening + reconciled + running total
};
Result<RunningTotals> RunningTotal(const Decimal& opening, const Decimal& reconciled,
                                   const std::vector<Decimal>& selected);

// getTransactionTotalByGlReconcileId: Σ of every transaction assigned to the reconciliation, plus
// its reconciledBalance. Once the transactions are reconciled they are counted twice (S6-18);
// OFBiz does so, and so does this.
Result<Decimal> TransactionTotalByReconciliation(const std::vector<Decimal>& assigned, const Decimal& reconciled);

}  // namespace setpoint::accounting
