#include "apiserver/accounting_admission.h"

#include <set>

#include <boost/json.hpp>

#include "apiserver/api_context.h"
#include "setpoint/common/decimal.h"
#include "setpoint/common/json.h"

namespace setpoint::apiserver {

namespace json = boost::json;

namespace {

constexpr std::string_view kGroup = "accounting.setpoint.dev";

std::string_view Str(const json::object* o, std::string_view key) { return o ? GetStringOr(*o, key, "") : ""; }
const json::object* Spec(const json::object& o) { return GetObject(o, "spec"); }
const json::object* StatusOf(const json::object& o) { return GetObject(o, "status"); }
std::string NameOf(const json::object& o) { return std::string(Str(GetObject(o, "metadata"), "name")); }

// 422 for `obj` with one cause on `field`: "<OFBiz error name>: <why>".
Status Refuse(const AdmissionAttributes& a, const json::object& obj, std::string field, std::string_view error,
              std::string why) {
  std::string message(error);
  if (!why.empty()) message += ": " + why;
  return InvalidStatus(*a.resource, NameOf(obj), {{"FieldValueForbidden", std::move(message), std::move(field)}});
}

bool Closed(const json::object& reconciliation) { return Str(StatusOf(reconciliation), "phase") == "Reconciled"; }

bool SameMember(const json::object* x, const json::object* y, std::string_view key) {
  const json::value* a = x ? x->if_contains(key) : nullptr;
  const json::value* b = y ? y->if_contains(key) : nullptr;
  if (!a || !b) return !a && !b;
  return *a == *b;
}

// What a FinancialAccount rounds amounts to.
struct Precision {
  int decimals = 2;
  Rounding rounding = Rounding::kHalfUp;
};

Precision PrecisionOf(const json::object& account) {
  Precision p;
  const json::object* spec = Spec(account);
  p.decimals = CurrencyMinorDigits(Str(spec, "currency"));
  if (const json::value* d = spec ? spec->if_contains("decimals") : nullptr; d && d->is_int64())
    p.decimals = static_cast<int>(d->get_int64());
  if (auto r = ParseRounding(Str(spec, "rounding"))) p.rounding = *r;
  return p;
}

Status AdmitAssignment(const AdmissionAttributes& a, const json::object& obj, const json::object* old) {
  const json::object* spec = Spec(obj);
  const std::string_view now_assigned = Str(spec, "reconciliation");
  const std::string_view was_assigned = old ? Str(Spec(*old), "reconciliation") : "";
  if (now_assigned == was_assigned) return Status::Ok();
  // The state the transaction is in before this write (a create: the state it is created with).
  const std::string_view state = Str(old ? Spec(*old) : spec, "state");
  if (!was_assigned.empty()) {
    // removeFinAccountTransFromReconciliation: only what has not cleared.
    if (state != "CREATED")
      return Refuse(a, obj, "spec.reconciliation", "AccountingFinAccountTransInvalidStatusError",
                    "only a CREATED transaction leaves its reconciliation; this one is " + std::string(state));
    auto from = a.find(kGroup, "reconciliations", a.ns, was_assigned);
    if (from && Closed(*from))
      return Refuse(a, obj, "spec.reconciliation", "AccountingInvalidGlReconciliation",
                    "reconciliation \"" + std::string(was_assigned) + "\" is reconciled and read-only");
  }
  if (now_assigned.empty()) return Status::Ok();
  // assignGlRecToFinAccTrans, in its order.
  auto to = a.find(kGroup, "reconciliations", a.ns, now_assigned);
  if (!to)
    return Refuse(a, obj, "spec.reconciliation", "AccountingInvalidGlReconciliation",
                  "reconciliation \"" + std::string(now_assigned) + "\" does not exist");
  if (Closed(*to))
    return Refuse(a, obj, "spec.reconciliation", "AccountingInvalidGlReconciliation",
                  "reconciliation \"" + std::string(now_assigned) + "\" is not GLREC_CREATED");
  if (Str(Spec(*to), "account") != Str(spec, "account"))
    return Refuse(a, obj, "spec.reconciliation", "AccountingInvalidGlReconciliation",
                  "reconciliation \"" + std::string(now_assigned) + "\" is of account \"" +
                      std::string(Str(Spec(*to), "account")) + "\"");
  if (state != "CREATED")
    return Refuse(a, obj, "spec.reconciliation", "AccountingInvalidGlReconciliationAssignment",
                  "only a CREATED transaction can be assigned; this one is " + std::string(state));
  if (const json::object* payment = spec ? GetObject(*spec, "payment") : nullptr) {
    const std::string_view ps = Str(payment, "status");
    if (ps != "PMNT_SENT" && ps != "PMNT_RECEIVED" && ps != "PMNT_CONFIRMED")
      return Refuse(a, obj, "spec.payment.status", "AccountingPaymentsAssociateWithFinAccountHasInvalidStatusError",
                    "payment \"" + std::string(Str(payment, "id")) + "\" is " + std::string(ps) +
                        "; it must be PMNT_SENT, PMNT_RECEIVED or PMNT_CONFIRMED");
  }
  return Status::Ok();
}

}  // namespace

Status AdmitAccountTransaction(const AdmissionAttributes& a, json::object& obj, const json::object* old,
                               AdmissionReport& report) {
  if (a.subresource == "status") {
    // reconcileFinAccountTrans: a transaction is cleared by the reconciliation it is assigned to.
    const std::string_view by = Str(StatusOf(obj), "clearedBy");
    if (!by.empty() && (!old || !SameMember(StatusOf(*old), StatusOf(obj), "clearedBy")) &&
        by != Str(Spec(obj), "reconciliation"))
      return Refuse(a, obj, "status.clearedBy", "AccountingReconciliationError",
                    Str(Spec(obj), "reconciliation").empty()
                        ? "the transaction is not assigned to a reconciliation"
                        : "the transaction is assigned to reconciliation \"" +
                              std::string(Str(Spec(obj), "reconciliation")) + "\"");
    return Status::Ok();
  }
  json::object& spec = EnsureObject(obj, "spec");
  const std::string account_name(GetStringOr(spec, "account", ""));
  const std::optional<json::object> account = a.find(kGroup, "financialaccounts", a.ns, account_name);
  if (!old) {
    // createFinAccountTrans.
    if (!account)
      return Refuse(a, obj, "spec.account", "AccountingFinAccountNotFound",
                    "financial account \"" + account_name + "\" does not exist");
    const std::string_view account_state = Str(Spec(*account), "state");
    if (account_state == "ManuallyFrozen")
      return Refuse(a, obj, "spec.account", "AccountingFinAccountInactiveStatusError",
                    "financial account \"" + account_name + "\" is FNACT_MANFROZEN");
    if (account_state == "Cancelled")
      return Refuse(a, obj, "spec.account", "AccountingFinAccountStatusNotValidError",
                    "financial account \"" + account_name + "\" is FNACT_CANCELLED");
    const std::string now = FormatRfc3339(a.now);
    if (!spec.contains("transactionDate")) spec["transactionDate"] = now;
    if (!spec.contains("entryDate")) spec["entryDate"] = now;
    if (!spec.contains("state")) spec["state"] = spec.contains("payment") ? "CREATED" : "APPROVED";
  } else {
    // A transaction a reconciliation cleared is a fact of the books.
    const json::object* was = Spec(*old);
    const bool cleared = Str(was, "state") == "APPROVED" && !Str(was, "reconciliation").empty();
    if (cleared)
      for (std::string_view field : {"account", "type", "amount", "state", "reconciliation"})
        if (!SameMember(was, &spec, field))
          return Refuse(a, obj, "spec." + std::string(field), "AccountingFinAccountTransInvalidStatusError",
                        "the transaction was cleared by reconciliation \"" + std::string(Str(was, "reconciliation")) +
                            "\" and is read-only");
  }
  // The amount, rounded to the account's decimals by its rounding (S6-02).
  const bool amount_changed = !old || !SameMember(Spec(*old), &spec, "amount");
  if (amount_changed && account) {
    auto amount = Decimal::Parse(GetStringOr(spec, "amount", ""));
    if (!amount) return Refuse(a, obj, "spec.amount", "AccountingInvalidAmount", amount.error().message());
    const Precision p = PrecisionOf(*account);
    // Stored with exactly the account's decimals ("10.5" is "10.50"); a warning when that is not
    // the value entered.
    auto rounded = amount->rescaled(p.decimals, p.rounding);
    if (!rounded) return Refuse(a, obj, "spec.amount", "AccountingInvalidAmount", rounded.error().message());
    EnsureObject(obj, "spec")["amount"] = rounded->str();
    if (*rounded != *amount) {
      report.warnings.push_back("amount " + amount->str() + " rounded to " + rounded->str() + " (" +
                                std::to_string(p.decimals) + " decimals, " + std::string(RoundingName(p.rounding)) +
                                ")");
      EnsureObject(EnsureObject(obj, "metadata"), "annotations")[kAmountEnteredAnnotation] = amount->str();
    }
  }
  return AdmitAssignment(a, obj, old);
}

Status AdmitReconciliation(const AdmissionAttributes& a, json::object& obj, const json::object* old, AdmissionReport&) {
  if (!old) {
    const std::string account(Str(Spec(obj), "account"));
    if (!a.find(kGroup, "financialaccounts", a.ns, account))
      return Refuse(a, obj, "spec.account", "AccountingFinAccountNotFound",
                    "financial account \"" + account + "\" does not exist");
    return Status::Ok();
  }
  if (!Closed(*old)) return Status::Ok();
  // S6-20: a reconciled (closed) reconciliation shows its balances read-only.
  if (a.subresource == "status") {
    for (std::string_view field :
         {"phase", "openingBalance", "statementEndingBalance", "reconciledBalance", "closingBalance", "difference"})
      if (!SameMember(StatusOf(*old), StatusOf(obj), field))
        return Refuse(a, obj, "status." + std::string(field), "AccountingGlReconciliationReconciled",
                      "the reconciliation is GLREC_RECONCILED and its balances are read-only");
    return Status::Ok();
  }
  if (!SameMember(&*old, &obj, "spec"))
    return Refuse(a, obj, "spec", "AccountingGlReconciliationReconciled",
                  "the reconciliation is GLREC_RECONCILED and read-only");
  return Status::Ok();
}

Status AdmitJournalEntry(const AdmissionAttributes& a, json::object& obj, const json::object*, AdmissionReport&) {
  if (a.subresource == "status") return Status::Ok();
  const json::array* lines = GetArray(EnsureObject(obj, "spec"), "lines");
  DecimalSum debits, credits;
  std::size_t i = 0;
  for (const auto& l : lines ? *lines : json::array()) {
    const json::object& line = l.as_object();  // the schema made it an object
    auto amount = Decimal::Parse(GetStringOr(line, "amount", ""));
    const std::string field = "spec.lines[" + std::to_string(i++) + "].amount";
    if (!amount) return Refuse(a, obj, field, "AccountingInvalidAmount", amount.error().message());
    if (amount->sign() < 0) return Refuse(a, obj, field, "AccountingInvalidAmount", "an amount is not negative");
    (GetStringOr(line, "debitCredit", "") == "D" ? debits : credits).add(*amount);
  }
  auto d = debits.result(), c = credits.result();
  if (!d || !c) return Refuse(a, obj, "spec.lines", "AccountingInvalidAmount", "the sum is out of range");
  if (*d != *c)
    return Refuse(a, obj, "spec.lines", "AccountingTransactionNotBalanced",
                  "debits " + d->str() + " do not equal credits " + c->str());
  return Status::Ok();
}

Status AdmitBankStatement(const AdmissionAttributes& a, json::object& obj, const json::object*,
                          AdmissionReport& report) {
  if (a.subresource == "status") return Status::Ok();
  const json::object& spec = EnsureObject(obj, "spec");
  const json::array* lines = GetArray(spec, "lines");
  std::set<std::string_view> ids;
  DecimalSum total;
  auto opening = Decimal::Parse(GetStringOr(spec, "openingBalance", ""));
  auto closing = Decimal::Parse(GetStringOr(spec, "closingBalance", ""));
  if (opening) total.add(*opening);
  std::size_t i = 0;
  for (const auto& l : lines ? *lines : json::array()) {
    const json::object& line = l.as_object();
    const std::string_view id = GetStringOr(line, "id", "");
    if (!ids.insert(id).second)
      return InvalidStatus(*a.resource, NameOf(obj),
                           {{"FieldValueDuplicate", "Duplicate value: \"" + std::string(id) + "\"",
                             "spec.lines[" + std::to_string(i) + "].id"}});
    if (auto amount = Decimal::Parse(GetStringOr(line, "amount", ""))) total.add(*amount);
    ++i;
  }
  auto sum = total.result();
  if (!sum) return Refuse(a, obj, "spec.lines", "AccountingInvalidAmount", "the sum is out of range");
  if (opening && closing && *sum != *closing)
    report.warnings.push_back("the statement's lines do not add up: opening " + opening->str() + " plus its lines is " +
                              sum->str() + ", not its closing balance " + closing->str());
  return Status::Ok();
}

Status AdmitReconciliationMatch(const AdmissionAttributes& a, json::object& obj, const json::object* old,
                                AdmissionReport&) {
  if (!old || a.subresource == "status") return Status::Ok();
  if (SameMember(&*old, &obj, "spec")) return Status::Ok();
  if (Str(StatusOf(*old), "phase") == "Cleared")
    return Refuse(a, obj, "spec", "AccountingFinAccountTransInvalidStatusError",
                  "the match's transactions are cleared; it is read-only");
  auto reconciliation = a.find(kGroup, "reconciliations", a.ns, Str(Spec(*old), "reconciliation"));
  if (reconciliation && Closed(*reconciliation))
    return Refuse(a, obj, "spec", "AccountingGlReconciliationReconciled",
                  "the reconciliation is GLREC_RECONCILED and read-only");
  return Status::Ok();
}

Status AdmitAccountingDelete(const AdmissionAttributes& a, const json::object& obj) {
  const std::string_view of = Str(Spec(obj), "reconciliation");
  if (of.empty()) return Status::Ok();
  auto reconciliation = a.find(kGroup, "reconciliations", a.ns, of);
  if (!reconciliation || !Closed(*reconciliation)) return Status::Ok();
  return Refuse(a, obj, "spec.reconciliation", "AccountingGlReconciliationReconciled",
                "it belongs to reconciliation \"" + std::string(of) + "\", which is GLREC_RECONCILED and read-only");
}

}  // namespace setpoint::apiserver
