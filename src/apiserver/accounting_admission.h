// The rules of bank reconciliation's kinds (accounting_kinds.h) at the API, as OFBiz's services
// enforce them (docs/bank-reconciliation.md, "The rules"): a write that breaks one is refused with
// 422 Invalid whose message starts with OFBiz's error name, and nothing is stored.
//
//   AccountTransaction  create: the account is not frozen or cancelled; dates default to now; the
//                       state defaults to APPROVED (CREATED with a payment); the amount is rounded
//                       to the account's decimals by its rounding (a warning, and the amount as
//                       entered kept in an annotation). Assignment (spec.reconciliation set): the
//                       reconciliation is Created and of the same account, the transaction is
//                       CREATED, its payment SENT, RECEIVED or CONFIRMED. Removal: only while
//                       CREATED. A transaction a reconciliation cleared is read-only.
//   Reconciliation      the account exists; once Reconciled (closed) its spec and balances are
//                       read-only.
//   JournalEntry        debits equal credits, amounts are not negative.
//   BankStatement       line ids are unique; a warning when opening + lines ≠ closing.
//   ReconciliationMatch read-only once cleared or once its reconciliation is closed.
//   Deleting an AccountTransaction or JournalEntry of a closed reconciliation is refused.
//
// Reentrant; the lookups go through AdmissionAttributes::lookup (the server's cache).
#pragma once

#include <boost/json/object.hpp>

#include "apiserver/admission.h"

namespace setpoint::apiserver {

Status AdmitAccountTransaction(const AdmissionAttributes& a, boost::json::object& obj, const boost::json::object* old,
                               AdmissionReport& report);
Status AdmitReconciliation(const AdmissionAttributes& a, boost::json::object& obj, const boost::json::object* old,
                           AdmissionReport& report);
Status AdmitJournalEntry(const AdmissionAttributes& a, boost::json::object& obj, const boost::json::object* old,
                         AdmissionReport& report);
Status AdmitBankStatement(const AdmissionAttributes& a, boost::json::object& obj, const boost::json::object* old,
                          AdmissionReport& report);
Status AdmitReconciliationMatch(const AdmissionAttributes& a, boost::json::object& obj, const boost::json::object* old,
                                AdmissionReport& report);

// Deletes: a transaction or journal entry of a closed reconciliation stays.
Status AdmitAccountingDelete(const AdmissionAttributes& a, const boost::json::object& obj);

// The annotation that keeps an amount as it was entered when rounding changed it.
inline constexpr std::string_view kAmountEnteredAnnotation = "accounting.setpoint.dev/amount-entered";

}  // namespace setpoint::apiserver
