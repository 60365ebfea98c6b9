#include "controllers/bank_reconciliation.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "accounting/books.h"
#include "accounting/matching.h"
#include "setpoint/common/json.h"
#include "setpoint/runtime/cache.h"

namespace setpoint::controllers {
namespace {

namespace json = boost::json;
using namespace accountingv1alpha1;
using runtime::ReconcileResult;

constexpr std::string_view kReconciliationLabel = "accounting.setpoint.dev/reconciliation";
constexpr std::string_view kAmountEntered = "accounting.setpoint.dev/amount-entered";
constexpr std::size_t kUnmatchedListed = 100;
// Cache indexes, "<namespace>/<value>": transactions by account, journal entries by the
// transaction and by the payment they record.
constexpr std::string_view kByAccount = "accounting.setpoint.dev/account";
constexpr std::string_view kByTransaction = "accounting.setpoint.dev/transaction";
constexpr std::string_view kByPayment = "accounting.setpoint.dev/payment";

runtime::IndexFunc BySpecField(std::string field) {
  return [field = std::move(field)](const json::object& o) -> std::vector<std::string> {
    const json::object* spec = GetObject(o, "spec");
    const json::object* meta = GetObject(o, "metadata");
    const std::string_view value = spec ? GetStringOr(*spec, field, "") : "";
    if (!meta || value.empty()) return {};
    return {std::string(GetStringOr(*meta, "namespace", "")) + "/" + std::string(value)};
  };
}

std::string IndexKey(std::string_view ns, std::string_view value) { return std::string(ns) + "/" + std::string(value); }
// Held until the transactions a deleted reconciliation was still waiting for are unassigned.
constexpr std::string_view kUnassignFinalizer = "accounting.setpoint.dev/unassign";

bool Gone(const Status& s) { return s.code() == StatusCode::kNotFound; }
bool Closed(const Reconciliation& r) { return r.status.phase == "Reconciled"; }

template <class T>
using Views = std::vector<std::shared_ptr<const T>>;

// "<reconciliation>-<16 hex digits>" from what a proposal pairs: the same pairing keeps its name.
std::string MatchName(const std::string& reconciliation, const accounting::Proposal& p) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a
  auto mix = [&](std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
    h = (h ^ 0xff) * 1099511628211ULL;
  };
  for (const auto& l : p.lines) mix(l);
  mix("|");
  for (const auto& t : p.transactions) mix(t);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  std::string base = reconciliation.substr(0, 253 - 17);
  return base + "-" + hex;
}

Decimal Sum(const std::vector<Decimal>& amounts) {
  DecimalSum s;
  for (const auto& a : amounts) s.add(a);
  return s.result().value_or(Decimal());
}

// What one pass over a reconciliation read.
struct Books {
  std::shared_ptr<const FinancialAccount> account;
  std::shared_ptr<const BankStatement> statement;
  Views<AccountTransaction> transactions;  // of the account
  Views<ReconciliationMatch> matches;      // of the reconciliation
  std::unordered_map<std::string, std::shared_ptr<const AccountTransaction>> by_name;
};

class Pass {
 public:
  Pass(const runtime::Context& ctx, const Reconciliation& r, Books& books, WallTime now)
      : ctx_(ctx), r_(r), books_(books), now_(now) {}

  bool wrote() const { return wrote_; }
  const Status& error() const { return error_; }

  void keep(const Status& s) {
    if (!s.ok() && error_.ok()) error_ = s;
  }

  // 1. Accepted matches: assign and clear.
  void accepted_matches() {
    for (const auto& m : books_.matches) {
      if (!m->spec.accepted || m->status.phase == "Cleared") continue;
      // A failure stands until a person changes the match.
      if (m->status.phase == "Failed" && m->status.observedGeneration == m->metadata.generation) continue;
      std::string failure;
      bool all_cleared = true;
      for (const auto& name : m->spec.transactions) {
        auto it = books_.by_name.find(name);
        if (it == books_.by_name.end()) {
          failure = "transaction \"" + name + "\" does not exist";
          break;
        }
        auto txn = it->second;
        if (txn->spec.reconciliation.empty()) {
          AccountTransaction assigned = *txn;
          assigned.spec.reconciliation = r_.metadata.name;
          auto u = ctx_.client.update(assigned);
          wrote_ = true;
          if (!u) {
            if (u.error().code() == StatusCode::kInvalid) {
              failure = u.error().message();
              break;
            }
            keep(u.error());
            all_cleared = false;
            continue;
          }
          ctx_.event(r_, "Normal", "Assigned", "Assigned transaction " + name + " (match " + m->metadata.name + ")");
          txn = std::make_shared<const AccountTransaction>(std::move(*u));
          it->second = txn;
        } else if (txn->spec.reconciliation != r_.metadata.name) {
          failure = "transaction \"" + name + "\" is assigned to reconciliation \"" + txn->spec.reconciliation + "\"";
          break;
        }
        if (txn->spec.state == "CREATED" && !clear(*txn)) all_cleared = false;
      }
      if (!failure.empty()) {
        set_match_phase(*m, "Failed", failure);
        ctx_.event(*m, "Warning", "MatchFailed", failure);
      } else if (all_cleared) {
        set_match_phase(*m, "Cleared", "");
      }
    }
  }

  // 2. Clears every assigned transaction that has not cleared.
  void clear_assigned() {
    for (const auto& t : books_.transactions)
      if (t->spec.reconciliation == r_.metadata.name && t->spec.state == "CREATED") {
        auto current = books_.by_name.at(t->metadata.name);  // may have been written in step 1
        if (current->spec.state == "CREATED") clear(*current);
      }
  }

  // cancelBankReconciliation: what has not cleared leaves the reconciliation; what has, stays.
  // Matches that have not cleared go with it.
  void cancel() {
    for (const auto& t : books_.transactions) {
      if (t->spec.reconciliation != r_.metadata.name || t->spec.state != "CREATED") continue;
      AccountTransaction unassigned = *t;
      unassigned.spec.reconciliation.clear();
      wrote_ = true;
      auto u = ctx_.client.update(unassigned);
      if (!u && !Gone(u.error())) keep(u.error());
      if (u) ctx_.event(r_, "Normal", "Unassigned", "Unassigned transaction " + t->metadata.name);
    }
    for (const auto& m : books_.matches) {
      if (m->status.phase == "Cleared" || m->metadata.being_deleted()) continue;
      wrote_ = true;
      Status s = ctx_.client.remove(*m);
      if (!Gone(s)) keep(s);
    }
  }

  // 3. Proposals for what no accepted match covers.
  void propose(const accounting::MatchResult& result, bool auto_accept_exact) {
    std::unordered_set<std::string> wanted;
    for (const auto& p : result.proposals) wanted.insert(MatchName(r_.metadata.name, p));
    std::unordered_set<std::string> have;
    for (const auto& m : books_.matches) {
      have.insert(m->metadata.name);
      if (m->spec.accepted || wanted.count(m->metadata.name) || m->metadata.being_deleted()) continue;
      Status s = ctx_.client.remove(*m);
      wrote_ = true;
      if (!Gone(s)) keep(s);
    }
    for (const auto& p : result.proposals) {
      const std::string name = MatchName(r_.metadata.name, p);
      if (have.count(name)) continue;
      ReconciliationMatch m;
      m.metadata.name = name;
      m.metadata.namespace_ = r_.metadata.namespace_;
      m.metadata.labels[std::string(kReconciliationLabel)] = r_.metadata.name;
      keep(types::SetControllerReference(r_, m));
      m.spec.reconciliation = r_.metadata.name;
      m.spec.lines = p.lines;
      m.spec.transactions = p.transactions;
      m.spec.accepted = auto_accept_exact && p.rule == accounting::MatchRule::kReference;
      wrote_ = true;
      auto created = ctx_.client.create(m);
      if (!created) {
        if (created.error().code() != StatusCode::kAlreadyExists) keep(created.error());
        continue;
      }
      created->status.phase = created->spec.accepted ? "Accepted" : "Proposed";
      created->status.rule = std::string(accounting::MatchRuleName(p.rule));
      created->status.confidence = p.confidence;
      created->status.reason = p.reason;
      created->status.lineAmount = p.line_amount;
      created->status.transactionAmount = p.transaction_amount;
      created->status.difference = p.difference;
      created->status.observedGeneration = created->metadata.generation;
      auto s = ctx_.client.update_status(*created);
      if (!s && !Gone(s.error())) keep(s.error());
      if (created->spec.accepted)
        ctx_.event(r_, "Normal", "MatchAccepted", "Accepted exact match " + name + " (" + p.reason + ")");
    }
  }

 private:
  // reconcileFinAccountTrans: posts or clears the entries, then APPROVED. False when a write failed.
  bool clear(const AccountTransaction& txn) {
    const std::string& bank_gl = books_.account ? books_.account->spec.glAccount : std::string();
    std::vector<std::string> posted;
    std::vector<std::shared_ptr<const JournalEntry>> payment_entries, own_entries;
    const std::string& ns = txn.metadata.namespace_;
    auto own = ctx_.client.view_index<JournalEntry>(kByTransaction, IndexKey(ns, txn.metadata.name));
    if (!own) {
      keep(own.error());
      return false;
    }
    for (auto& e : *own)
      if (e->metadata.name != txn.metadata.name + "-clearing") own_entries.push_back(std::move(e));
    if (txn.spec.payment && !txn.spec.payment->id.empty()) {
      auto paid = ctx_.client.view_index<JournalEntry>(kByPayment, IndexKey(ns, txn.spec.payment->id));
      if (!paid) {
        keep(paid.error());
        return false;
      }
      for (auto& e : *paid)
        if (e->spec.transaction.empty()) payment_entries.push_back(std::move(e));
    }
    const bool by_payment = txn.spec.type != "ADJUSTMENT" && !payment_entries.empty() && !bank_gl.empty();
    bool ok = true;
    if (by_payment) {
      // The payment's lines on the side the money came in on (a deposit debited undeposited
      // funds) are reversed into the bank's GL account.
      const std::string side = txn.spec.type == "WITHDRAWAL" ? "C" : "D";
      const std::string other = side == "D" ? "C" : "D";
      JournalEntry clearing;
      clearing.metadata.name = txn.metadata.name + "-clearing";
      clearing.metadata.namespace_ = txn.metadata.namespace_;
      clearing.metadata.labels[std::string(kReconciliationLabel)] = r_.metadata.name;
      clearing.spec.date = FormatRfc3339(now_);
      clearing.spec.description = "Clearing of " + txn.metadata.name + " by reconciliation " + r_.metadata.name;
      clearing.spec.transaction = txn.metadata.name;
      clearing.spec.payment = txn.spec.payment->id;
      clearing.spec.reconciliation = r_.metadata.name;
      std::vector<Decimal> amounts;
      for (const auto& e : payment_entries)
        for (const auto& l : e->spec.lines)
          if (l.debitCredit == side && l.glAccount != bank_gl) {
            clearing.spec.lines.push_back({l.glAccount, other, l.amount, "AES_RECONCILED"});
            amounts.push_back(l.amount);
          }
      clearing.spec.lines.push_back({bank_gl, side, Sum(amounts), "AES_RECONCILED"});
      wrote_ = true;
      auto c = ctx_.client.create(clearing);
      if (!c && c.error().code() != StatusCode::kAlreadyExists) {
        keep(c.error());
        return false;
      }
      posted.push_back(clearing.metadata.name);
      for (const auto& e : payment_entries) {
        JournalEntry marked = *e;
        bool changed = false;
        for (auto& l : marked.spec.lines)
          if (l.debitCredit == side && l.glAccount != bank_gl && l.reconcileStatus != "AES_RECONCILED") {
            l.reconcileStatus = "AES_RECONCILED";
            changed = true;
          }
        if (!changed) continue;
        auto u = ctx_.client.update(marked);
        if (!u && !Gone(u.error())) {
          keep(u.error());
          ok = false;
        }
      }
    } else {
      for (const auto& e : own_entries) {
        JournalEntry marked = *e;
        marked.spec.posted = true;
        marked.spec.reconciliation = r_.metadata.name;
        for (auto& l : marked.spec.lines) l.reconcileStatus = "AES_RECONCILED";
        posted.push_back(e->metadata.name);
        if (marked.spec == e->spec) continue;
        wrote_ = true;
        auto u = ctx_.client.update(marked);
        if (!u && !Gone(u.error())) {
          keep(u.error());
          ok = false;
        }
      }
    }
    if (!ok) return false;
    AccountTransaction approved = txn;
    approved.spec.state = "APPROVED";
    wrote_ = true;
    auto u = ctx_.client.update(approved);
    if (!u) {
      keep(u.error());
      return false;
    }
    u->status.clearedBy = r_.metadata.name;
    u->status.clearedAt = FormatRfc3339(now_);
    u->status.clearingEntries = posted;
    auto s = ctx_.client.update_status(*u);
    if (!s && !Gone(s.error())) keep(s.error());
    books_.by_name[txn.metadata.name] = std::make_shared<const AccountTransaction>(s ? std::move(*s) : std::move(*u));
    ctx_.event(r_, "Normal", "Cleared",
               "Cleared " + txn.spec.type + " " + txn.metadata.name + " of " + txn.spec.amount.str());
    return true;
  }

  void set_match_phase(const ReconciliationMatch& m, const std::string& phase, const std::string& message) {
    ReconciliationMatch next = m;
    next.status.phase = phase;
    next.status.message = message;
    next.status.observedGeneration = m.metadata.generation;
    if (next.status.rule.empty()) {
      // A match a person made: its amounts, as a proposal's.
      next.status.rule = "Manual";
      std::vector<Decimal> lines, txns;
      if (books_.statement)
        for (const auto& l : books_.statement->spec.lines)
          if (std::find(m.spec.lines.begin(), m.spec.lines.end(), l.id) != m.spec.lines.end())
            lines.push_back(l.amount);
      for (const auto& t : m.spec.transactions)
        if (auto it = books_.by_name.find(t); it != books_.by_name.end()) txns.push_back(it->second->signed_amount());
      next.status.lineAmount = Sum(lines);
      next.status.transactionAmount = Sum(txns);
      next.status.difference = Decimal::Sub(Sum(lines), Sum(txns)).value_or(Decimal());
    }
    if (next.status == m.status) return;
    wrote_ = true;
    auto s = ctx_.client.update_status(next);
    if (!s && !Gone(s.error())) keep(s.error());
  }

  const runtime::Context& ctx_;
  const Reconciliation& r_;
  Books& books_;
  const WallTime now_;
  bool wrote_ = false;
  Status error_;
};

// The digits an account's amounts have (its decimals, else its currency's minor unit).
int DecimalsOf(const FinancialAccount* account) {
  if (!account) return 2;
  return account->spec.decimals.value_or(CurrencyMinorDigits(account->spec.currency));
}

// A computed amount written with the account's digits ("0" is "0.00"); exact, as the API keeps
// every amount of the account at those digits.
Decimal AtScale(const Decimal& d, int decimals) { return d.scale() < decimals ? d.rescaled(decimals).value_or(d) : d; }

std::optional<Decimal> Or(const std::optional<Decimal>& a, const std::optional<Decimal>& b) { return a ? a : b; }

}  // namespace

BankReconciler::BankReconciler(runtime::Manager& manager, ClockPtr clock)
    : manager_(manager),
      clock_(clock ? std::move(clock) : manager.env()->wall()),
      reconciliations_(manager.informers().get(types::GvrOf<Reconciliation>())),
      transactions_(manager.informers().get(types::GvrOf<AccountTransaction>())),
      entries_(manager.informers().get(types::GvrOf<JournalEntry>())) {
  transactions_->add_index(std::string(kByAccount), BySpecField("account"));
  entries_->add_index(std::string(kByTransaction), BySpecField("transaction"));
  entries_->add_index(std::string(kByPayment), BySpecField("payment"));
}

std::vector<runtime::Request> BankReconciler::reconciliations_where(std::string_view ns, std::string_view field,
                                                                    std::string_view value) const {
  std::vector<runtime::Request> out;
  for (const auto& r : reconciliations_->cache().list()) {
    const json::object* spec = GetObject(*r, "spec");
    const json::object* meta = GetObject(*r, "metadata");
    if (spec && meta && GetStringOr(*meta, "namespace", "") == ns && GetStringOr(*spec, field, "") == value)
      out.push_back(runtime::RequestForObject(*r));
  }
  return out;
}

ReconcileResult BankReconciler::reconcile(const runtime::Context& ctx, const runtime::Request& req) {
  auto got = ctx.client.view<Reconciliation>(req);
  if (!got) return Gone(got.error()) ? ReconcileResult::Done() : ReconcileResult::Retry(got.error());
  const Reconciliation& r = **got;
  const WallTime now = clock_->now();
  const std::string finalizer(kUnassignFinalizer);
  const bool finalizing =
      std::find(r.metadata.finalizers.begin(), r.metadata.finalizers.end(), finalizer) != r.metadata.finalizers.end();
  if (r.metadata.being_deleted() && !finalizing) return ReconcileResult::Done();
  if (!r.metadata.being_deleted() && !finalizing) {
    Reconciliation held = r;
    held.metadata.finalizers.push_back(finalizer);
    auto u = ctx.client.update(held);
    if (!u) return Gone(u.error()) ? ReconcileResult::Done() : ReconcileResult::Retry(u.error());
    return ReconcileResult::RequeueAfter(std::chrono::milliseconds(1));
  }

  Books books;
  if (auto a = ctx.client.view<FinancialAccount>(req.ns, r.spec.account))
    books.account = *a;
  else if (!Gone(a.error()))
    return ReconcileResult::Retry(a.error());
  if (!r.spec.statement.empty()) {
    if (auto s = ctx.client.view<BankStatement>(req.ns, r.spec.statement))
      books.statement = *s;
    else if (!Gone(s.error()))
      return ReconcileResult::Retry(s.error());
  }
  auto txns = ctx.client.view_index<AccountTransaction>(kByAccount, IndexKey(req.ns, r.spec.account));
  if (!txns) return ReconcileResult::Retry(txns.error());
  for (auto& t : *txns) {
    books.by_name[t->metadata.name] = t;
    books.transactions.push_back(std::move(t));
  }
  auto matches = ctx.client.view_list<ReconciliationMatch>(req.ns);
  if (!matches) return ReconcileResult::Retry(matches.error());
  for (auto& m : *matches)
    if (m->spec.reconciliation == r.metadata.name) books.matches.push_back(std::move(m));

  // The statement date: when what is assigned clears by itself.
  std::string statement_date = r.spec.statementDate;
  if (statement_date.empty() && books.statement) statement_date = books.statement->spec.period.to;
  const auto due_day = accounting::DayOf(statement_date);
  const auto today = accounting::DayOf(FormatRfc3339(now));
  const bool due = due_day && today && *today >= *due_day;

  // Lines and transactions accepted matches hold; the rest is what proposals are made from.
  std::unordered_set<std::string> held_lines, held_txns, cleared_lines;
  for (const auto& m : books.matches)
    if (m->spec.accepted) {
      held_lines.insert(m->spec.lines.begin(), m->spec.lines.end());
      held_txns.insert(m->spec.transactions.begin(), m->spec.transactions.end());
      if (m->status.phase == "Cleared") cleared_lines.insert(m->spec.lines.begin(), m->spec.lines.end());
    }
  accounting::MatchResult result;
  if (books.statement) {
    std::vector<accounting::StatementItem> lines;
    for (const auto& l : books.statement->spec.lines) {
      if (held_lines.count(l.id)) continue;
      auto day = accounting::DayOf(l.valueDate.empty() ? l.bookingDate : l.valueDate);
      lines.push_back({l.id, day.value_or(0), l.amount, {l.reference, l.endToEndId}});
    }
    std::vector<accounting::LedgerItem> ledger;
    for (const auto& t : books.transactions) {
      if (held_txns.count(t->metadata.name) || t->spec.state != "CREATED") continue;
      if (!t->spec.reconciliation.empty() && t->spec.reconciliation != r.metadata.name) continue;
      auto day = accounting::DayOf(t->spec.transactionDate);
      ledger.push_back({t->metadata.name, day.value_or(0), t->signed_amount(), t->spec.reference});
    }
    accounting::MatchOptions options;
    options.window_days = r.spec.dateWindowDays;
    result = accounting::ProposeMatches(lines, ledger, options);
  }

  if (r.metadata.being_deleted() || r.spec.cancel) {
    Pass pass(ctx, r, books, now);
    if (!Closed(r)) pass.cancel();
    if (!pass.error().ok()) return ReconcileResult::Retry(pass.error());
    if (pass.wrote()) return ReconcileResult::RequeueAfter(std::chrono::milliseconds(1));
    if (r.metadata.being_deleted()) {
      Reconciliation released = r;
      std::erase(released.metadata.finalizers, finalizer);
      auto u = ctx.client.update(released);
      if (!u && !Gone(u.error())) return ReconcileResult::Retry(u.error());
      return ReconcileResult::Done();
    }
  } else if (!Closed(r)) {
    Pass pass(ctx, r, books, now);
    pass.accepted_matches();
    if (due || r.spec.close) pass.clear_assigned();
    // Proposals only from a ledger this pass did not change: what it cleared would be proposed,
    // then withdrawn.
    if (books.statement && !pass.wrote()) pass.propose(result, r.spec.autoAccept == "Exact");
    if (!pass.error().ok()) return ReconcileResult::Retry(pass.error());
    // What was written is read back, through caches that have seen it, by the next pass.
    if (pass.wrote()) return ReconcileResult::RequeueAfter(std::chrono::milliseconds(1));
  }

  // 4. Status, from the ledger as it is.
  Reconciliation next = r;
  ReconciliationStatus& st = next.status;
  if (st.phase.empty()) st.phase = "Created";
  const bool closed = Closed(r);
  if (!closed) {
    st.glAccount = books.account ? books.account->spec.glAccount : "";
    std::vector<Decimal> cleared, assigned;
    std::int64_t assigned_open = 0;
    for (const auto& t : books.transactions) {
      if (t->spec.reconciliation != r.metadata.name) continue;
      assigned.push_back(t->signed_amount());
      if (t->spec.state == "APPROVED") cleared.push_back(t->signed_amount());
      if (t->spec.state == "CREATED") ++assigned_open;
    }
    const Decimal reconciled = Sum(cleared);
    const Decimal opening =
        Or(r.spec.openingBalance, books.statement ? std::optional(books.statement->spec.openingBalance) : std::nullopt)
            .value_or(Decimal());
    const std::optional<Decimal> ending =
        Or(r.spec.statementEndingBalance,
           books.statement ? std::optional(books.statement->spec.closingBalance) : std::nullopt);
    const int digits = DecimalsOf(books.account.get());
    st.openingBalance = AtScale(opening, digits);
    st.reconciledBalance = AtScale(reconciled, digits);
    st.closingBalance = AtScale(accounting::ClosingBalance(opening, reconciled).value_or(Decimal()), digits);
    st.statementEndingBalance = ending ? std::optional(AtScale(*ending, digits)) : std::nullopt;
    st.difference.reset();
    if (ending)
      if (auto d = accounting::Difference(*ending, *st.closingBalance)) st.difference = AtScale(*d, digits);
    st.transactionTotal =
        AtScale(accounting::TransactionTotalByReconciliation(assigned, reconciled).value_or(Decimal()), digits);
    st.assignedTransactions = static_cast<std::int64_t>(assigned.size());
    st.clearedTransactions = static_cast<std::int64_t>(cleared.size());
    // S6-11: reconciledDate once nothing assigned is left uncleared, if it has none.
    if (!assigned.empty() && assigned_open == 0 && st.reconciledDate.empty()) st.reconciledDate = FormatRfc3339(now);
  }
  const std::size_t lines = books.statement ? books.statement->spec.lines.size() : 0;
  st.matchedLines = static_cast<std::int64_t>(cleared_lines.size());
  st.unmatchedLines = static_cast<std::int64_t>(result.unmatched_lines.size());
  st.unmatchedTransactions = static_cast<std::int64_t>(result.unmatched_transactions.size());
  std::int64_t proposed = 0;
  for (const auto& m : books.matches)
    if (!m->spec.accepted) ++proposed;
  st.proposedMatches = proposed;
  st.unmatched.lines.assign(result.unmatched_lines.begin(),
                            result.unmatched_lines.begin() + std::min(kUnmatchedListed, result.unmatched_lines.size()));
  st.unmatched.transactions.assign(
      result.unmatched_transactions.begin(),
      result.unmatched_transactions.begin() + std::min(kUnmatchedListed, result.unmatched_transactions.size()));

  const bool zero = st.difference && st.difference->is_zero();
  const std::size_t lines_open = lines - std::min(lines, cleared_lines.size());
  const bool balanced = zero && lines_open == 0;
  std::string why;
  if (!st.difference)
    why = "no statement ending balance to reconcile against";
  else if (!zero)
    why = "difference " + st.difference->str() + " between the statement's ending balance " +
          st.statementEndingBalance->str() + " and the closing balance " + st.closingBalance->str();
  if (lines_open > 0)
    why += (why.empty() ? "" : "; ") + std::to_string(lines_open) + " of " + std::to_string(lines) +
           " statement lines not matched";
  if (!closed)
    types::SetCondition(
        st.conditions,
        {"Balanced", balanced ? "True" : "False", r.metadata.generation, "", balanced ? "Balanced" : "Unbalanced",
         balanced ? "closing balance equals the statement's ending balance; every line is matched" : why},
        now);

  bool closing_now = false;
  if (!closed && r.spec.close && !r.spec.cancel && balanced) {
    st.phase = "Reconciled";
    if (st.reconciledDate.empty()) st.reconciledDate = FormatRfc3339(now);
    closing_now = true;
  }
  if (st.phase == "Reconciled")
    types::SetCondition(st.conditions,
                        {"Reconciled", "True", r.metadata.generation, "", "Closed",
                         "GLREC_RECONCILED on " + st.reconciledDate + "; balances are read-only"},
                        now);
  else if (r.spec.cancel)
    types::SetCondition(st.conditions,
                        {"Reconciled", "False", r.metadata.generation, "", "Cancelled",
                         "cancelled: transactions that had not cleared were unassigned"},
                        now);
  else if (r.spec.close)
    types::SetCondition(st.conditions,
                        {"Reconciled", "False", r.metadata.generation, "", "Unbalanced", "close requested: " + why},
                        now);
  else
    types::SetCondition(st.conditions,
                        {"Reconciled", "False", r.metadata.generation, "", "Open", "GLREC_CREATED: not closed"}, now);
  st.observedGeneration = r.metadata.generation;
  if (!(next.status == r.status)) {
    auto s = ctx.client.update_status(next);
    if (!s) return Gone(s.error()) ? ReconcileResult::Done() : ReconcileResult::Retry(s.error());
    if (closing_now)
      ctx.event(r, "Normal", "Reconciled",
                "Closed: closing balance " + st.closingBalance->str() + " equals the statement's ending balance");
  }
  // The scheduled auto-reconciliation: back at the start of the statement day.
  if (!closed && due_day && today && *today < *due_day) {
    const auto seconds =
        (*due_day * 86400) - std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    return ReconcileResult::RequeueAfter(std::chrono::seconds(std::max<std::int64_t>(1, seconds)));
  }
  return ReconcileResult::Done();
}

ReconcileResult BankReconciler::reconcile_account(const runtime::Context& ctx, const runtime::Request& req) {
  auto got = ctx.client.view<FinancialAccount>(req);
  if (!got) return Gone(got.error()) ? ReconcileResult::Done() : ReconcileResult::Retry(got.error());
  const FinancialAccount& account = **got;
  auto txns = ctx.client.view_index<AccountTransaction>(kByAccount, IndexKey(req.ns, account.metadata.name));
  if (!txns) return ReconcileResult::Retry(txns.error());
  DecimalSum actual, available;
  std::int64_t count = 0;
  for (const auto& t : *txns) {
    ++count;
    if (t->spec.state != "CANCELED") actual.add(t->signed_amount());
    if (t->spec.state == "APPROVED") available.add(t->signed_amount());
    auto entered = t->metadata.annotations.find(std::string(kAmountEntered));
    if (entered == t->metadata.annotations.end()) continue;
    bool first = false;
    {
      std::lock_guard lock(mu_);
      first = rounding_reported_.insert(t->metadata.uid).second;
    }
    if (first)
      ctx.event(
          *t, "Warning", "AmountRounded",
          "amount " + entered->second + " was rounded to " + t->spec.amount.str() + " (" + account.spec.rounding + ")");
  }
  FinancialAccount next = account;
  const int digits = DecimalsOf(&account);
  next.status.actualBalance = AtScale(actual.result().value_or(Decimal()), digits);
  next.status.availableBalance = AtScale(available.result().value_or(Decimal()), digits);
  next.status.transactions = count;
  next.status.observedGeneration = account.metadata.generation;
  if (next.status == account.status) return ReconcileResult::Done();
  auto s = ctx.client.update_status(next);
  if (!s) return Gone(s.error()) ? ReconcileResult::Done() : ReconcileResult::Retry(s.error());
  return ReconcileResult::Done();
}

Result<std::vector<runtime::ControllerPtr>> BuildBankReconciliationControllers(runtime::Manager& manager,
                                                                               BankReconciler& reconciler) {
  auto by_transaction = [&reconciler](const json::object& t) {
    const json::object* spec = GetObject(t, "spec");
    const json::object* meta = GetObject(t, "metadata");
    if (!spec || !meta) return std::vector<runtime::Request>{};
    return reconciler.reconciliations_where(GetStringOr(*meta, "namespace", ""), "account",
                                            GetStringOr(*spec, "account", ""));
  };
  auto by_statement = [&reconciler](const json::object& s) {
    const json::object* meta = GetObject(s, "metadata");
    if (!meta) return std::vector<runtime::Request>{};
    return reconciler.reconciliations_where(GetStringOr(*meta, "namespace", ""), "statement",
                                            GetStringOr(*meta, "name", ""));
  };
  auto by_account = [&reconciler](const json::object& a) {
    const json::object* meta = GetObject(a, "metadata");
    if (!meta) return std::vector<runtime::Request>{};
    return reconciler.reconciliations_where(GetStringOr(*meta, "namespace", ""), "account",
                                            GetStringOr(*meta, "name", ""));
  };
  auto transaction_account = [](const json::object& t) {
    const json::object* spec = GetObject(t, "spec");
    const json::object* meta = GetObject(t, "metadata");
    if (!spec || !meta) return std::vector<runtime::Request>{};
    return std::vector<runtime::Request>{
        {std::string(GetStringOr(*meta, "namespace", "")), std::string(GetStringOr(*spec, "account", ""))}};
  };
  // A match names its reconciliation: those a person makes have no owner reference.
  auto match_reconciliation = [](const json::object& m) {
    const json::object* spec = GetObject(m, "spec");
    const json::object* meta = GetObject(m, "metadata");
    if (!spec || !meta) return std::vector<runtime::Request>{};
    return std::vector<runtime::Request>{
        {std::string(GetStringOr(*meta, "namespace", "")), std::string(GetStringOr(*spec, "reconciliation", ""))}};
  };
  std::vector<runtime::ControllerPtr> out;
  auto recon = manager.controller("bankreconciliation")
                   .For<Reconciliation>()
                   .Watches<ReconciliationMatch>(match_reconciliation)
                   .Watches<AccountTransaction>(by_transaction)
                   .Watches<BankStatement>(by_statement)
                   .Watches<FinancialAccount>(by_account)
                   .Complete([&reconciler](const runtime::Context& ctx, const runtime::Request& req) {
                     return reconciler.reconcile(ctx, req);
                   });
  if (!recon) return Err(recon.error());
  out.push_back(std::move(*recon));
  auto accounts = manager.controller("financialaccount")
                      .For<FinancialAccount>()
                      .Watches<AccountTransaction>(transaction_account)
                      .Complete([&reconciler](const runtime::Context& ctx, const runtime::Request& req) {
                        return reconciler.reconcile_account(ctx, req);
                      });
  if (!accounts) return Err(accounts.error());
  out.push_back(std::move(*accounts));
  return out;
}

}  // namespace setpoint::controllers
