// Bank reconciliation's rules at the API (seed-systems §6.3), as pure admission: each scenario
// runs AdmitCreate / AdmitUpdate on the served kind with a map of objects standing for the cache.
#include "apiserver/accounting_admission.h"

#include <map>
#include <random>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "apiserver/setpoint_kinds.h"
#include "setpoint/common/decimal.h"
#include "setpoint/common/json.h"

namespace setpoint::apiserver {
namespace {

namespace json = boost::json;

const WallTime kNow = WallTime(std::chrono::seconds(1795757011));  // 2026-11-27T05:23:31Z

json::object Parse(std::string_view text) { return json::parse(text).as_object(); }

ResourceInfoPtr Accounting(std::string_view resource) {
  for (auto& r : SetpointResources())
    if (r->resource == resource && r->group == "accounting.setpoint.dev") return r;
  ADD_FAILURE() << "no " << resource;
  return nullptr;
}

class AccountingAdmissionTest : public ::testing::Test {
 protected:
  // What the cache holds: "<resource>/<name>" in namespace "books".
  std::map<std::string, json::object> objects_;

  void put(std::string_view resource, std::string_view name, std::string_view json_text) {
    objects_[std::string(resource) + "/" + std::string(name)] = Parse(json_text);
  }

  AdmissionAttributes attrs(const ResourceInfo& res, std::string sub = "") {
    AdmissionAttributes a;
    a.resource = &res;
    a.api_version = res.api_version(res.storage_version);
    a.ns = "books";
    a.now = kNow;
    a.subresource = std::move(sub);
    a.field_validation = FieldValidation::kStrict;
    a.lookup = [this](std::string_view group, std::string_view resource, std::string_view ns,
                      std::string_view name) -> std::optional<json::object> {
      EXPECT_EQ(group, "accounting.setpoint.dev");
      EXPECT_EQ(ns, "books");
      auto it = objects_.find(std::string(resource) + "/" + std::string(name));
      if (it == objects_.end()) return std::nullopt;
      return it->second;
    };
    return a;
  }

  Status create(std::string_view resource, json::object& obj, AdmissionReport* report = nullptr) {
    auto res = Accounting(resource);
    AdmissionReport r;
    return AdmitCreate(attrs(*res), obj, report ? *report : r);
  }

  // The transaction as it is stored after a create (defaults and rounding applied).
  json::object created(std::string_view resource, std::string_view json_text) {
    json::object obj = Parse(json_text);
    Status s = create(resource, obj);
    EXPECT_TRUE(s.ok()) << s.to_string();
    return obj;
  }

  Result<json::object> update(std::string_view resource, const json::object& old, json::object incoming,
                              std::string sub = "") {
    auto res = Accounting(resource);
    AdmissionReport r;
    return AdmitUpdate(attrs(*res, std::move(sub)), old, std::move(incoming), r);
  }

  void SetUp() override {
    put("financialaccounts", "checking", R"({"spec":{"currency":"EUR","glAccount":"111100","state":"Active"}})");
    put("financialaccounts", "yen", R"({"spec":{"currency":"JPY","glAccount":"111200","rounding":"Floor"}})");
    put("financialaccounts", "frozen", R"({"spec":{"currency":"EUR","glAccount":"1","state":"ManuallyFrozen"}})");
    put("financialaccounts", "gone", R"({"spec":{"currency":"EUR","glAccount":"1","state":"Cancelled"}})");
    put("reconciliations", "nov", R"({"spec":{"account":"checking"},"status":{"phase":"Created"}})");
    put("reconciliations", "oct", R"({"spec":{"account":"checking"},"status":{"phase":"Reconciled"}})");
    put("reconciliations", "other", R"({"spec":{"account":"yen"},"status":{"phase":"Created"}})");
  }
};

json::object Txn(std::string_view account, std::string_view extra = "") {
  std::string text = R"({"metadata":{"name":"t1"},"spec":{"account":")" + std::string(account) +
                     R"(","type":"DEPOSIT","amount":"100.00")" + std::string(extra) + "}}";
  return Parse(text);
}

json::object& SpecOf(json::object& o) { return o["spec"].as_object(); }
std::string SpecString(const json::object& o, std::string_view f) {
  return std::string(GetStringOr(*GetObject(o, "spec"), f, ""));
}

void ExpectRefused(const Status& s, std::string_view error_name) {
  EXPECT_EQ(s.code(), StatusCode::kInvalid) << s.to_string();
  EXPECT_NE(s.to_string().find(error_name), std::string::npos) << s.to_string();
}

TEST_F(AccountingAdmissionTest, S6_01_FrozenAndCancelledAccountsTakeNoTransactions) {
  json::object t = Txn("frozen");
  ExpectRefused(create("accounttransactions", t), "AccountingFinAccountInactiveStatusError");
  t = Txn("gone");
  ExpectRefused(create("accounttransactions", t), "AccountingFinAccountStatusNotValidError");
  t = Txn("nowhere");
  ExpectRefused(create("accounttransactions", t), "AccountingFinAccountNotFound");
}

TEST_F(AccountingAdmissionTest, S6_02_AmountsAreRoundedByTheAccountsRuleWithAWarning) {
  json::object t = Txn("checking");
  SpecOf(t)["amount"] = "10.005";
  AdmissionReport report;
  ASSERT_TRUE(create("accounttransactions", t, &report).ok());
  EXPECT_EQ(SpecString(t, "amount"), "10.01");
  ASSERT_EQ(report.warnings.size(), 1u);
  EXPECT_NE(report.warnings[0].find("10.005 rounded to 10.01"), std::string::npos) << report.warnings[0];
  EXPECT_EQ(GetStringOr(*GetObject(*GetObject(t, "metadata"), "annotations"), kAmountEnteredAnnotation, ""), "10.005");
  // The currency's minor unit and the account's own rounding: yen, Floor.
  json::object y = Txn("yen");
  SpecOf(y)["amount"] = "99.99";
  ASSERT_TRUE(create("accounttransactions", y).ok());
  EXPECT_EQ(SpecString(y, "amount"), "99");
  // An amount already exact is written with the account's decimals and no warning.
  json::object e = Txn("checking");
  SpecOf(e)["amount"] = "7.5";
  AdmissionReport quiet;
  ASSERT_TRUE(create("accounttransactions", e, &quiet).ok());
  EXPECT_EQ(SpecString(e, "amount"), "7.50");
  EXPECT_TRUE(quiet.warnings.empty());
  json::object bad = Txn("checking");
  SpecOf(bad)["amount"] = "ten";
  EXPECT_EQ(create("accounttransactions", bad).code(), StatusCode::kInvalid);  // the schema's pattern
}

TEST_F(AccountingAdmissionTest, S6_03_StateAndDatesDefaultAsOFBizDoes) {
  json::object t = created("accounttransactions", R"({"metadata":{"name":"t"},
    "spec":{"account":"checking","type":"WITHDRAWAL","amount":"5"}})");
  EXPECT_EQ(SpecString(t, "state"), "APPROVED");
  EXPECT_EQ(SpecString(t, "transactionDate"), "2026-11-27T05:23:31Z");
  EXPECT_EQ(SpecString(t, "entryDate"), "2026-11-27T05:23:31Z");
}

TEST_F(AccountingAdmissionTest, S6_04_ADepositPaymentsTransactionAwaitsReconciliation) {
  json::object t = created("accounttransactions", R"({"metadata":{"name":"t"},
    "spec":{"account":"checking","type":"DEPOSIT","amount":"5","payment":{"id":"p1","status":"PMNT_RECEIVED"}}})");
  EXPECT_EQ(SpecString(t, "state"), "CREATED");
}

TEST_F(AccountingAdmissionTest, S6_05_AssigningACreatedTransactionToAnOpenReconciliation) {
  json::object old = created("accounttransactions", R"({"metadata":{"name":"t"},
    "spec":{"account":"checking","type":"DEPOSIT","amount":"5","payment":{"id":"p1","status":"PMNT_RECEIVED"}}})");
  json::object next = old;
  SpecOf(next)["reconciliation"] = "nov";
  auto r = update("accounttransactions", old, next);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(SpecString(*r, "reconciliation"), "nov");
  // Not to another account's reconciliation, nor to one that does not exist.
  SpecOf(next)["reconciliation"] = "other";
  ExpectRefused(update("accounttransactions", old, next).error(), "AccountingInvalidGlReconciliation");
  SpecOf(next)["reconciliation"] = "dec";
  ExpectRefused(update("accounttransactions", old, next).error(), "AccountingInvalidGlReconciliation");
}

TEST_F(AccountingAdmissionTest, S6_06_AnApprovedTransactionCannotBeAssigned) {
  json::object old = created("accounttransactions", R"({"metadata":{"name":"t"},
    "spec":{"account":"checking","type":"DEPOSIT","amount":"5"}})");
  ASSERT_EQ(SpecString(old, "state"), "APPROVED");
  json::object next = old;
  SpecOf(next)["reconciliation"] = "nov";
  ExpectRefused(update("accounttransactions", old, next).error(), "AccountingInvalidGlReconciliationAssignment");
}

TEST_F(AccountingAdmissionTest, S6_07_AReconciledReconciliationTakesNoAssignments) {
  json::object old = created("accounttransactions", R"({"metadata":{"name":"t"},
    "spec":{"account":"checking","type":"DEPOSIT","amount":"5","state":"CREATED"}})");
  json::object next = old;
  SpecOf(next)["reconciliation"] = "oct";
  ExpectRefused(update("accounttransactions", old, next).error(), "AccountingInvalidGlReconciliation");
  // Nor at create.
  json::object t = Txn("checking", R"(,"state":"CREATED","reconciliation":"oct")");
  ExpectRefused(create("accounttransactions", t), "AccountingInvalidGlReconciliation");
}

TEST_F(AccountingAdmissionTest, S6_08_APaymentInTheWrongStatusFailsTheAssignment) {
  json::object old = created("accounttransactions", R"({"metadata":{"name":"t"},
    "spec":{"account":"checking","type":"DEPOSIT","amount":"5","payment":{"id":"p1","status":"PMNT_NOT_PAID"}}})");
  json::object next = old;
  SpecOf(next)["reconciliation"] = "nov";
  ExpectRefused(update("accounttransactions", old, next).error(),
                "AccountingPaymentsAssociateWithFinAccountHasInvalidStatusError");
}

TEST_F(AccountingAdmissionTest, S6_15_OnlyACreatedTransactionLeavesItsReconciliation) {
  json::object created_one = created("accounttransactions", R"({"metadata":{"name":"t"},
    "spec":{"account":"checking","type":"DEPOSIT","amount":"5","state":"CREATED","reconciliation":"nov"}})");
  json::object next = created_one;
  SpecOf(next).erase("reconciliation");
  EXPECT_TRUE(update("accounttransactions", created_one, next));
  // Cleared by "nov": read-only, its assignment included.
  json::object cleared = created_one;
  SpecOf(cleared)["state"] = "APPROVED";
  next = cleared;
  SpecOf(next).erase("reconciliation");
  ExpectRefused(update("accounttransactions", cleared, next).error(), "AccountingFinAccountTransInvalidStatusError");
  next = cleared;
  SpecOf(next)["amount"] = "6.00";
  ExpectRefused(update("accounttransactions", cleared, next).error(), "AccountingFinAccountTransInvalidStatusError");
  // A comment may still change.
  next = cleared;
  SpecOf(next)["comments"] = "checked by Ann";
  EXPECT_TRUE(update("accounttransactions", cleared, next));
}

// S6-09: clearing (status.clearedBy) needs the transaction assigned to that reconciliation.
TEST_F(AccountingAdmissionTest, S6_09_OnlyAnAssignedTransactionIsCleared) {
  json::object unassigned = created("accounttransactions", R"({"metadata":{"name":"t"},
    "spec":{"account":"checking","type":"DEPOSIT","amount":"5","state":"CREATED"}})");
  json::object next = unassigned;
  next["status"] = Parse(R"({"clearedBy":"nov"})");
  ExpectRefused(update("accounttransactions", unassigned, next, "status").error(), "AccountingReconciliationError");
  json::object assigned = unassigned;
  SpecOf(assigned)["reconciliation"] = "nov";
  next = assigned;
  next["status"] = Parse(R"({"clearedBy":"nov"})");
  EXPECT_TRUE(update("accounttransactions", assigned, next, "status"));
  next["status"] = Parse(R"({"clearedBy":"oct"})");
  ExpectRefused(update("accounttransactions", assigned, next, "status").error(), "AccountingReconciliationError");
}

TEST_F(AccountingAdmissionTest, S6_20_AClosedReconciliationIsReadOnly) {
  json::object closed = created("reconciliations", R"({"metadata":{"name":"oct"},
    "spec":{"account":"checking","openingBalance":"1000.00"}})");
  closed["status"] = Parse(R"({"phase":"Reconciled","openingBalance":"1000.00","reconciledBalance":"70.00"})");
  json::object next = closed;
  SpecOf(next)["openingBalance"] = "900.00";
  ExpectRefused(update("reconciliations", closed, next).error(), "AccountingGlReconciliationReconciled");
  next = closed;
  next["status"].as_object()["reconciledBalance"] = "0.00";
  ExpectRefused(update("reconciliations", closed, next, "status").error(), "AccountingGlReconciliationReconciled");
  // Conditions still move (the controller's observations), and labels too.
  next = closed;
  next["status"].as_object()["conditions"] = json::array();
  EXPECT_TRUE(update("reconciliations", closed, next, "status"));
  next = closed;
  next["metadata"].as_object()["labels"] = json::object{{"year", "2026"}};
  EXPECT_TRUE(update("reconciliations", closed, next));
  // An open one changes freely.
  json::object open = closed;
  open["status"].as_object()["phase"] = "Created";
  next = open;
  SpecOf(next)["openingBalance"] = "900.00";
  EXPECT_TRUE(update("reconciliations", open, next));
}

TEST_F(AccountingAdmissionTest, AReconciliationNeedsItsAccount) {
  json::object r = Parse(R"({"metadata":{"name":"r"},"spec":{"account":"savings"}})");
  ExpectRefused(create("reconciliations", r), "AccountingFinAccountNotFound");
}

TEST_F(AccountingAdmissionTest, AJournalEntryBalances) {
  json::object ok = Parse(R"({"metadata":{"name":"je"},"spec":{"lines":[
    {"glAccount":"111100","debitCredit":"D","amount":"100.00"},
    {"glAccount":"112000","debitCredit":"C","amount":"60"},{"glAccount":"112000","debitCredit":"C","amount":"40.00"}]}})");
  EXPECT_TRUE(create("journalentries", ok).ok());
  json::object off = Parse(R"({"metadata":{"name":"je"},"spec":{"lines":[
    {"glAccount":"111100","debitCredit":"D","amount":"100.00"},{"glAccount":"112000","debitCredit":"C","amount":"99.99"}]}})");
  ExpectRefused(create("journalentries", off), "AccountingTransactionNotBalanced");
  json::object negative = Parse(R"({"metadata":{"name":"je"},"spec":{"lines":[
    {"glAccount":"1","debitCredit":"D","amount":"-1"},{"glAccount":"2","debitCredit":"C","amount":"-1"}]}})");
  ExpectRefused(create("journalentries", negative), "AccountingInvalidAmount");
}

// Property: over random entries, one is admitted exactly when its debits equal its credits.
TEST_F(AccountingAdmissionTest, RandomJournalEntriesAreAdmittedExactlyWhenTheyBalance) {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<std::int64_t> cents(0, 1'000'000'00);
  std::uniform_int_distribution<int> count(1, 6), coin(0, 1);
  for (int round = 0; round < 300; ++round) {
    json::array lines;
    std::int64_t debits = 0, credits = 0;
    for (int i = count(rng); i > 0; --i) {
      const std::int64_t c = cents(rng);
      const bool debit = coin(rng);
      (debit ? debits : credits) += c;
      lines.push_back(json::object{
          {"glAccount", "1"}, {"debitCredit", debit ? "D" : "C"}, {"amount", Decimal::FromUnits(c, 2).str()}});
    }
    // Half the entries get a balancing line.
    if (coin(rng) && debits != credits) {
      const bool debit = debits < credits;
      const std::int64_t c = debit ? credits - debits : debits - credits;
      (debit ? debits : credits) += c;
      lines.push_back(json::object{{"glAccount", "2"},
                                   {"debitCredit", debit ? "D" : "C"},
                                   {"amount", Decimal::FromUnits(c * 10, 3).str()}});  // another scale
    }
    if (lines.size() < 2) continue;  // the schema's minItems
    json::object je{{"metadata", json::object{{"name", "je"}}}, {"spec", json::object{{"lines", lines}}}};
    const Status s = create("journalentries", je);
    EXPECT_EQ(s.ok(), debits == credits) << s.to_string();
  }
}

TEST_F(AccountingAdmissionTest, AStatementsLinesAreUniqueAndAddUp) {
  json::object dup = Parse(R"({"metadata":{"name":"s"},"spec":{"account":"checking","openingBalance":"0",
    "closingBalance":"2","lines":[{"id":"1","bookingDate":"2026-11-01","amount":"1"},
                                  {"id":"1","bookingDate":"2026-11-02","amount":"1"}]}})");
  EXPECT_EQ(create("bankstatements", dup).code(), StatusCode::kInvalid);
  json::object off = Parse(R"({"metadata":{"name":"s"},"spec":{"account":"checking","openingBalance":"10.00",
    "closingBalance":"12.00","lines":[{"id":"1","bookingDate":"2026-11-01","amount":"1.50"}]}})");
  AdmissionReport report;
  ASSERT_TRUE(create("bankstatements", off, &report).ok());
  ASSERT_EQ(report.warnings.size(), 1u);
  EXPECT_NE(report.warnings[0].find("11.50"), std::string::npos) << report.warnings[0];
}

TEST_F(AccountingAdmissionTest, AClearedMatchIsReadOnly) {
  json::object m = created("reconciliationmatches", R"({"metadata":{"name":"m"},
    "spec":{"reconciliation":"nov","lines":["L1"],"transactions":["t1"],"accepted":true}})");
  m["status"] = Parse(R"({"phase":"Cleared"})");
  json::object next = m;
  SpecOf(next)["accepted"] = false;
  ExpectRefused(update("reconciliationmatches", m, next).error(), "AccountingFinAccountTransInvalidStatusError");
  m["status"] = Parse(R"({"phase":"Proposed"})");
  EXPECT_TRUE(update("reconciliationmatches", m, next));
  SpecOf(m)["reconciliation"] = "oct";
  next = m;
  SpecOf(next)["accepted"] = false;
  ExpectRefused(update("reconciliationmatches", m, next).error(), "AccountingGlReconciliationReconciled");
}

}  // namespace
}  // namespace setpoint::apiserver
