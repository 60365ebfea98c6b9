// Bank reconciliation (docs/bank-reconciliation.md): OFBiz's financial-account reconciliation as
// a reconcile loop. The bank statement is the desired state, the ledger the actual one.
//
// Reconciliation controller, for each Reconciliation R that is not closed, in this order:
//   1. Accepted ReconciliationMatches of R: their transactions are assigned to R (the API checks
//      OFBiz's rules; a refusal fails the match with OFBiz's error) and cleared.
//   2. At the statement date (spec.statementDate, else the statement's period end; OFBiz's
//      scheduled autoFinAccountReconciliation) and when spec.close is set, every transaction
//      assigned to R that is not cleared is cleared.
//   3. Proposals: accounting::ProposeMatches over the statement lines no accepted match covers
//      and the CREATED transactions of R's account that are unassigned or assigned to R. New
//      proposals are created (accepted already when spec.autoAccept is Exact and the rule is
//      Reference); proposals nobody accepted and that are no longer proposed are deleted.
//   4. Status from the ledger as it now is: reconciledBalance = Σ cleared transactions of R (a
//      withdrawal negative), closing = opening + reconciled, difference = ending − closing, the
//      counts, the unmatched lines and transactions, conditions Balanced (difference zero and
//      every line matched) and Reconciled. With spec.close and Balanced, R is closed: phase
//      Reconciled, reconciledDate. A pass that wrote anything requeues, and the next computes
//      the status from the caches that saw those writes.
// Clearing a transaction (reconcileFinAccountTrans): a DEPOSIT (WITHDRAWAL) with a payment whose
// JournalEntries exist gets a new entry "<txn>-clearing" that credits (debits) the payment's debit
// (credit) lines and debits (credits) the account's glAccount by their sum, the payment's lines
// marked AES_RECONCILED; otherwise (an ADJUSTMENT, or no payment entries) the transaction's own
// entries are posted and their lines marked AES_RECONCILED. Entries carry spec.reconciliation
// (OFBiz's GlReconciliationEntry). Then the transaction becomes APPROVED, status.clearedBy R.
//
// Account controller: FinancialAccount status.actualBalance (every transaction not CANCELED) and
// availableBalance (APPROVED ones), and a Warning event AmountRounded for a transaction the API
// rounded (once per transaction and controller process).
//
// Both run one worker: a reconciliation's writes are in the cache before the next pass reads.
#pragma once

#include <mutex>
#include <set>

#include "setpoint/common/clock.h"
#include "setpoint/runtime/manager.h"
#include "setpoint/types/accounting_v1alpha1.h"

namespace setpoint::controllers {

class BankReconciler {
 public:
  explicit BankReconciler(runtime::Manager& manager, ClockPtr clock = nullptr);
  runtime::ReconcileResult reconcile(const runtime::Context& ctx, const runtime::Request& req);
  runtime::ReconcileResult reconcile_account(const runtime::Context& ctx, const runtime::Request& req);

  // The Reconciliations of namespace `ns` whose spec.<field> is `value` (account, statement):
  // those a transaction, account or statement change concerns.
  std::vector<runtime::Request> reconciliations_where(std::string_view ns, std::string_view field,
                                                      std::string_view value) const;

 private:
  runtime::Manager& manager_;
  const ClockPtr clock_;
  runtime::SharedInformer reconciliations_;
  // Held so that their indexes (by account; by transaction and payment) live with the caches.
  runtime::SharedInformer transactions_, entries_;
  std::mutex mu_;
  std::set<std::string> rounding_reported_;  // GUARDED_BY(mu_): transaction uids
};

// Builds the "bankreconciliation" controllers (reconciliations, then accounts) on the manager.
Result<std::vector<runtime::ControllerPtr>> BuildBankReconciliationControllers(runtime::Manager& manager,
                                                                               BankReconciler& reconciler);

}  // namespace setpoint::controllers
