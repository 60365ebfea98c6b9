#include "accounting/books.h"

namespace setpoint::accounting {

Result<Decimal> ClosingBalance(const Decimal& opening, const Decimal& reconciled) {
  return Decimal::Add(opening, reconciled);
}

Result<Decimal> Difference(const Decimal& statement_ending, const Decimal& closing) {
  return Decimal::Sub(statement_ending, closing);
}

Result<RunningTotals> RunningTotal(const Decimal& opening, const Decimal& reconciled,
                                   const std::vector<Decimal>& selected) {
  DecimalSum running;
  for (const auto& a : selected) running.add(a);
  auto total = running.result();
  if (!total) return Err(total.error());
  DecimalSum ending;
  ending.add(opening);
  ending.add(reconciled);
  ending.add(*total);
  auto end = ending.result();
  if (!end) return Err(end.error());
  return RunningTotals{*total, static_cast<std::int64_t>(selected.size()), *end};
}

Result<Decimal> TransactionTotalByReconciliation(const std::vector<Decimal>& assigned, const Decimal& reconciled) {
  DecimalSum sum;
  for (const auto& a : assigned) sum.add(a);
  sum.add(reconciled);
  return sum.result();
}

}  // namespace setpoint::accounting
