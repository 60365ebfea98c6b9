// Bank reconciliation's kinds, served natively in group accounting.setpoint.dev/v1alpha1
// (docs/bank-reconciliation.md): FinancialAccount, AccountTransaction, JournalEntry,
// BankStatement, Reconciliation and ReconciliationMatch, all namespaced. Like setpoint.dev's kinds
// they are CRD documents compiled by the CRD code; accounting_admission.h holds their rules.
#pragma once

#include <vector>

#include <boost/json/object.hpp>

namespace setpoint::apiserver {

std::vector<boost::json::object> AccountingKindDefinitions();

}  // namespace setpoint::apiserver
