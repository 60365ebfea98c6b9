// Typed kinds of group accounting.setpoint.dev/v1alpha1, bank reconciliation as OFBiz models it
// (docs/bank-reconciliation.md is the user's guide and the mapping from OFBiz's entities).
// Amounts are Decimal (exact, written as decimal strings); defaults are the served schema's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "setpoint/common/decimal.h"
#include "setpoint/types/meta.h"

namespace setpoint::accountingv1alpha1 {

using types::Condition;

// ---------------------------------------------------------------------------------------------
// FinancialAccount: OFBiz's FinAccount.

struct FinancialAccountSpec {
  std::string type = "BANK_ACCOUNT", displayName, currency;
  std::optional<std::int32_t> decimals;  // absent: the currency's minor unit
  std::string rounding = "HalfUp", glAccount, organization, owner;
  std::string state = "Active";  // Active | ManuallyFrozen | Cancelled
  friend bool operator==(const FinancialAccountSpec&, const FinancialAccountSpec&) = default;
};
BOOST_DESCRIBE_STRUCT(FinancialAccountSpec, (),
                      (type, displayName, currency, decimals, rounding, glAccount, organization, owner, state))

struct FinancialAccountStatus {
  std::optional<Decimal> actualBalance, availableBalance;
  std::int64_t transactions = 0, observedGeneration = 0;
  friend bool operator==(const FinancialAccountStatus&, const FinancialAccountStatus&) = default;
};
BOOST_DESCRIBE_STRUCT(FinancialAccountStatus, (), (actualBalance, availableBalance, transactions, observedGeneration))

struct FinancialAccount : types::Object {
  static constexpr types::Kind kKind{"accounting.setpoint.dev", "v1alpha1", "FinancialAccount", "financialaccounts"};
  FinancialAccountSpec spec;
  FinancialAccountStatus status;
};
BOOST_DESCRIBE_STRUCT(FinancialAccount, (types::Object), (spec, status))

// ---------------------------------------------------------------------------------------------
// AccountTransaction: OFBiz's FinAccountTrans.

struct Payment {
  std::string id, status = "PMNT_NOT_PAID";
  friend bool operator==(const Payment&, const Payment&) = default;
};
BOOST_DESCRIBE_STRUCT(Payment, (), (id, status))

struct AccountTransactionSpec {
  std::string account, type;  // DEPOSIT | WITHDRAWAL | ADJUSTMENT
  Decimal amount;
  std::string transactionDate, entryDate, reference, counterparty, performedBy, comments;
  std::optional<Payment> payment;
  std::string reconciliation;  // the Reconciliation it is assigned to
  std::string state;           // CREATED | APPROVED | CANCELED (the server defaults it)
  friend bool operator==(const AccountTransactionSpec&, const AccountTransactionSpec&) = default;
};
BOOST_DESCRIBE_STRUCT(AccountTransactionSpec, (),
                      (account, type, amount, transactionDate, entryDate, reference, counterparty, performedBy,
                       comments, payment, reconciliation, state))

struct AccountTransactionStatus {
  std::string clearedBy, clearedAt;
  std::vector<std::string> clearingEntries;
  friend bool operator==(const AccountTransactionStatus&, const AccountTransactionStatus&) = default;
};
BOOST_DESCRIBE_STRUCT(AccountTransactionStatus, (), (clearedBy, clearedAt, clearingEntries))

struct AccountTransaction : types::Object {
  static constexpr types::Kind kKind{"accounting.setpoint.dev", "v1alpha1", "AccountTransaction",
                                     "accounttransactions"};
  AccountTransactionSpec spec;
  AccountTransactionStatus status;

  // The amount with the sign it has on the account: a withdrawal's is negative.
  Decimal signed_amount() const { return spec.type == "WITHDRAWAL" ? spec.amount.negated() : spec.amount; }
};
BOOST_DESCRIBE_STRUCT(AccountTransaction, (types::Object), (spec, status))

// ---------------------------------------------------------------------------------------------
// JournalEntry: OFBiz's AcctgTrans and its AcctgTransEntry lines.

struct JournalLine {
  std::string glAccount, debitCredit;  // D | C
  Decimal amount;
  std::string reconcileStatus = "AES_NOT_RECONCILED";  // | AES_PARTLY_RECON | AES_RECONCILED
  friend bool operator==(const JournalLine&, const JournalLine&) = default;
};
BOOST_DESCRIBE_STRUCT(JournalLine, (), (glAccount, debitCredit, amount, reconcileStatus))

struct JournalEntrySpec {
  std::string date, description, transaction, payment;
  bool posted = true;
  std::string reconciliation;  // GlReconciliationEntry: the reconciliation its lines were reconciled by
  std::vector<JournalLine> lines;
  friend bool operator==(const JournalEntrySpec&, const JournalEntrySpec&) = default;
};
BOOST_DESCRIBE_STRUCT(JournalEntrySpec, (), (date, description, transaction, payment, posted, reconciliation, lines))

struct JournalEntry : types::Object {
  static constexpr types::Kind kKind{"accounting.setpoint.dev", "v1alpha1", "JournalEntry", "journalentries"};
  JournalEntrySpec spec;
};
BOOST_DESCRIBE_STRUCT(JournalEntry, (types::Object), (spec))

// ---------------------------------------------------------------------------------------------
// BankStatement: what the bank says cleared.

struct StatementPeriod {
  std::string from, to;  // dates, YYYY-MM-DD
  friend bool operator==(const StatementPeriod&, const StatementPeriod&) = default;
};
BOOST_DESCRIBE_STRUCT(StatementPeriod, (), (from, to))

struct StatementLine {
  std::string id, bookingDate, valueDate;
  Decimal amount;  // signed: a credit to the account is positive
  std::string reference, endToEndId, counterparty, text;
  friend bool operator==(const StatementLine&, const StatementLine&) = default;
};
BOOST_DESCRIBE_STRUCT(StatementLine, (),
                      (id, bookingDate, valueDate, amount, reference, endToEndId, counterparty, text))

struct BankStatementSpec {
  std::string account, statementId, currency;
  StatementPeriod period;
  Decimal openingBalance, closingBalance;
  std::vector<StatementLine> lines;
  friend bool operator==(const BankStatementSpec&, const BankStatementSpec&) = default;
};
BOOST_DESCRIBE_STRUCT(BankStatementSpec, (),
                      (account, statementId, currency, period, openingBalance, closingBalance, lines))

struct BankStatement : types::Object {
  static constexpr types::Kind kKind{"accounting.setpoint.dev", "v1alpha1", "BankStatement", "bankstatements"};
  BankStatementSpec spec;
};
BOOST_DESCRIBE_STRUCT(BankStatement, (types::Object), (spec))

// ---------------------------------------------------------------------------------------------
// Reconciliation: OFBiz's GlReconciliation.

struct ReconciliationSpec {
  std::string account, displayName, description, organization, statement;
  std::optional<Decimal> openingBalance, statementEndingBalance;  // absent: the statement's
  std::string statementDate;                                      // absent: the statement's period end
  std::string autoAccept = "None";                                // None | Exact
  std::int32_t dateWindowDays = 3;
  bool close = false;
  bool cancel = false;  // cancelBankReconciliation: unassign what has not cleared, propose nothing
  friend bool operator==(const ReconciliationSpec&, const ReconciliationSpec&) = default;
};
BOOST_DESCRIBE_STRUCT(ReconciliationSpec, (),
                      (account, displayName, description, organization, statement, openingBalance,
                       statementEndingBalance, statementDate, autoAccept, dateWindowDays, close, cancel))

struct Unmatched {
  std::vector<std::string> lines, transactions;
  friend bool operator==(const Unmatched&, const Unmatched&) = default;
};
BOOST_DESCRIBE_STRUCT(Unmatched, (), (lines, transactions))

struct ReconciliationStatus {
  std::string phase, glAccount;  // Created | Reconciled
  std::optional<Decimal> openingBalance, statementEndingBalance, reconciledBalance, closingBalance, difference,
      transactionTotal;
  std::string reconciledDate;
  std::int64_t assignedTransactions = 0, clearedTransactions = 0, matchedLines = 0, unmatchedLines = 0,
               unmatchedTransactions = 0, proposedMatches = 0;
  Unmatched unmatched;  // the first 100 of each
  std::int64_t observedGeneration = 0;
  std::vector<Condition> conditions;
  friend bool operator==(const ReconciliationStatus&, const ReconciliationStatus&) = default;
};
BOOST_DESCRIBE_STRUCT(ReconciliationStatus, (),
                      (phase, glAccount, openingBalance, statementEndingBalance, reconciledBalance, closingBalance,
                       difference, transactionTotal, reconciledDate, assignedTransactions, clearedTransactions,
                       matchedLines, unmatchedLines, unmatchedTransactions, proposedMatches, unmatched,
                       observedGeneration, conditions))

struct Reconciliation : types::Object {
  static constexpr types::Kind kKind{"accounting.setpoint.dev", "v1alpha1", "Reconciliation", "reconciliations"};
  ReconciliationSpec spec;
  ReconciliationStatus status;
};
BOOST_DESCRIBE_STRUCT(Reconciliation, (types::Object), (spec, status))

// ---------------------------------------------------------------------------------------------
// ReconciliationMatch: one proposed pairing of statement lines with transactions.

struct ReconciliationMatchSpec {
  std::string reconciliation;
  std::vector<std::string> lines, transactions;
  bool accepted = false;
  friend bool operator==(const ReconciliationMatchSpec&, const ReconciliationMatchSpec&) = default;
};
BOOST_DESCRIBE_STRUCT(ReconciliationMatchSpec, (), (reconciliation, lines, transactions, accepted))

struct ReconciliationMatchStatus {
  std::string phase, rule;  // Proposed | Accepted | Cleared | Failed; Reference | Amount | Split | Near | Manual
  std::optional<double> confidence;
  std::string reason;
  std::optional<Decimal> lineAmount, transactionAmount, difference;
  std::string message;
  std::int64_t observedGeneration = 0;
  friend bool operator==(const ReconciliationMatchStatus&, const ReconciliationMatchStatus&) = default;
};
BOOST_DESCRIBE_STRUCT(ReconciliationMatchStatus, (),
                      (phase, rule, confidence, reason, lineAmount, transactionAmount, difference, message,
                       observedGeneration))

struct ReconciliationMatch : types::Object {
  static constexpr types::Kind kKind{"accounting.setpoint.dev", "v1alpha1", "ReconciliationMatch",
                                     "reconciliationmatches"};
  ReconciliationMatchSpec spec;
  ReconciliationMatchStatus status;
};
BOOST_DESCRIBE_STRUCT(ReconciliationMatch, (types::Object), (spec, status))

}  // namespace setpoint::accountingv1alpha1
