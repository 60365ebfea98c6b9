#include "accounting/matching.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>
#include <unordered_map>

#include "setpoint/common/civil.h"

namespace setpoint::accounting {
namespace {

// An amount as a key: equal values give equal keys whatever their scale.
struct AmountKey {
  std::int64_t units;
  int scale;
  bool operator==(const AmountKey&) const = default;
};
struct AmountKeyHash {
  std::size_t operator()(const AmountKey& k) const { return std::hash<std::int64_t>()(k.units) ^ (k.scale * 31); }
};
AmountKey KeyOf(const Decimal& d) {
  std::int64_t u = d.units();
  int s = d.scale();
  while (s > 0 && u % 10 == 0) {
    u /= 10;
    --s;
  }
  return {u, s};
}

std::string Normalized(std::string_view ref) {
  std::string out;
  for (char c : ref)
    if (!std::isspace(static_cast<unsigned char>(c))) out.push_back(static_cast<char>(std::toupper(c)));
  return out;
}

double Rounded2(double v) { return std::round(v * 100) / 100; }

std::string Days(std::int64_t d) { return d == 1 ? "1 day" : std::to_string(d) + " days"; }

// Indices of 2..max_k values (nearest first: `values` is ordered by distance) that sum to
// `target` exactly; fewest values first; empty when none do. Hashing makes each count O(n) (two),
// O(n²) (three, and four as two pairs).
std::vector<int> FindSum(std::int64_t target, const std::vector<std::int64_t>& values, int max_k) {
  const int n = static_cast<int>(values.size());
  auto minus = [](std::int64_t a, std::int64_t b, std::int64_t& out) { return !__builtin_sub_overflow(a, b, &out); };
  if (max_k >= 2) {
    std::unordered_map<std::int64_t, int> seen;
    for (int j = 0; j < n; ++j) {
      std::int64_t need = 0;
      if (minus(target, values[j], need))
        if (auto it = seen.find(need); it != seen.end()) return {it->second, j};
      seen.emplace(values[j], j);
    }
  }
  if (max_k >= 3) {
    std::unordered_map<std::int64_t, std::vector<int>> at;
    for (int i = 0; i < n; ++i) at[values[i]].push_back(i);
    for (int j = 1; j < n; ++j)
      for (int i = 0; i < j; ++i) {
        std::int64_t need = 0;
        if (!minus(target, values[i], need) || !minus(need, values[j], need)) continue;
        auto it = at.find(need);
        if (it == at.end()) continue;
        for (int h : it->second)
          if (h != i && h != j) return {i, j, h};
      }
  }
  if (max_k >= 4) {
    std::unordered_map<std::int64_t, std::vector<std::pair<int, int>>> pairs;
    for (int j = 1; j < n; ++j)
      for (int i = 0; i < j; ++i) {
        std::int64_t sum = 0;
        if (__builtin_add_overflow(values[i], values[j], &sum)) continue;
        auto& v = pairs[sum];
        if (v.size() < 4) v.emplace_back(i, j);
      }
    for (int j = 1; j < n; ++j)
      for (int i = 0; i < j; ++i) {
        std::int64_t need = 0;
        if (!minus(target, values[i], need) || !minus(need, values[j], need)) continue;
        auto it = pairs.find(need);
        if (it == pairs.end()) continue;
        for (auto [a, b] : it->second)
          if (a != i && a != j && b != i && b != j) return {i, j, a, b};
      }
  }
  return {};
}

}  // namespace

std::optional<std::int64_t> DayOf(std::string_view s) {
  if (s.size() < 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  auto digits = [&](std::size_t from, std::size_t n, int& out) {
    out = 0;
    for (std::size_t i = from; i < from + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      out = out * 10 + (s[i] - '0');
    }
    return true;
  };
  int y = 0, m = 0, d = 0;
  if (!digits(0, 4, y) || !digits(5, 2, m) || !digits(8, 2, d)) return std::nullopt;
  if (m < 1 || m > 12 || d < 1 || d > 31) return std::nullopt;
  if (s.size() > 10 && s[10] != 'T' && s[10] != 't' && s[10] != ' ') return std::nullopt;
  return civil::DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
}

std::string_view MatchRuleName(MatchRule r) {
  switch (r) {
    case MatchRule::kReference:
      return "Reference";
    case MatchRule::kAmount:
      return "Amount";
    case MatchRule::kSplit:
      return "Split";
    case MatchRule::kNear:
      return "Near";
  }
  return "Amount";
}

MatchResult ProposeMatches(const std::vector<StatementItem>& lines, const std::vector<LedgerItem>& txns,
                           const MatchOptions& options) {
  const int window = std::max(0, options.window_days);
  std::vector<bool> line_taken(lines.size(), false), txn_taken(txns.size(), false);
  std::vector<std::pair<std::size_t, Proposal>> found;  // (line index, proposal), ordered at the end

  std::unordered_map<AmountKey, std::vector<std::size_t>, AmountKeyHash> by_amount;
  std::unordered_map<std::string, std::vector<std::size_t>> by_reference;
  std::vector<std::size_t> by_day(txns.size());
  for (std::size_t t = 0; t < txns.size(); ++t) {
    by_amount[KeyOf(txns[t].amount)].push_back(t);
    if (std::string r = Normalized(txns[t].reference); !r.empty()) by_reference[r].push_back(t);
    by_day[t] = t;
  }
  std::stable_sort(by_day.begin(), by_day.end(), [&](auto a, auto b) { return txns[a].day < txns[b].day; });

  auto propose = [&](std::size_t l, std::vector<std::size_t> ts, MatchRule rule, double confidence,
                     std::string reason) {
    Proposal p;
    p.rule = rule;
    p.confidence = Rounded2(confidence);
    p.reason = std::move(reason);
    p.lines = {lines[l].id};
    p.line_amount = lines[l].amount;
    DecimalSum sum;
    for (auto t : ts) {
      p.transactions.push_back(txns[t].name);
      sum.add(txns[t].amount);
      txn_taken[t] = true;
    }
    p.transaction_amount = sum.result().value_or(Decimal());
    p.difference = Decimal::Sub(p.line_amount, p.transaction_amount).value_or(Decimal());
    line_taken[l] = true;
    found.emplace_back(l, std::move(p));
  };
  auto distance = [&](std::size_t l, std::size_t t) -> std::int64_t { return std::llabs(lines[l].day - txns[t].day); };
  auto shared_reference = [&](std::size_t l, auto&& want) -> std::optional<std::pair<std::size_t, std::string>> {
    std::optional<std::pair<std::size_t, std::string>> best;
    for (const auto& ref : lines[l].references) {
      std::string r = Normalized(ref);
      if (r.empty()) continue;
      auto it = by_reference.find(r);
      if (it == by_reference.end()) continue;
      for (auto t : it->second)
        if (!txn_taken[t] && want(t) && (!best || distance(l, t) < distance(l, best->first))) best = {{t, ref}};
    }
    return best;
  };

  // 1. Same amount and reference.
  for (std::size_t l = 0; l < lines.size(); ++l) {
    const AmountKey key = KeyOf(lines[l].amount);
    auto hit = shared_reference(l, [&](std::size_t t) { return KeyOf(txns[t].amount) == key; });
    if (hit) propose(l, {hit->first}, MatchRule::kReference, 1.0, "same amount and reference \"" + hit->second + "\"");
  }

  // 2. Same amount within the window: nearest pairs first, over the whole statement.
  struct Pair {
    std::int64_t d;
    std::size_t l, t;
  };
  std::vector<Pair> pairs;
  for (std::size_t l = 0; l < lines.size(); ++l) {
    if (line_taken[l]) continue;
    auto it = by_amount.find(KeyOf(lines[l].amount));
    if (it == by_amount.end()) continue;
    for (auto t : it->second)
      if (!txn_taken[t] && distance(l, t) <= window) pairs.push_back({distance(l, t), l, t});
  }
  std::sort(pairs.begin(), pairs.end(),
            [](const Pair& a, const Pair& b) { return std::tie(a.d, a.l, a.t) < std::tie(b.d, b.l, b.t); });
  for (const auto& p : pairs) {
    if (line_taken[p.l] || txn_taken[p.t]) continue;
    const double confidence = 0.9 - 0.4 * static_cast<double>(p.d) / (window + 1);
    propose(p.l, {p.t}, MatchRule::kAmount, confidence,
            p.d == 0 ? "same amount, same day" : "same amount, " + Days(p.d) + " apart");
  }

  // 3. Several transactions in the window that sum to the line exactly.
  if (options.max_split >= 2) {
    for (std::size_t l = 0; l < lines.size(); ++l) {
      if (line_taken[l]) continue;
      // The nearest free transactions by date: a window of by_day around the line's day.
      auto lo = std::lower_bound(by_day.begin(), by_day.end(), lines[l].day - window,
                                 [&](std::size_t t, std::int64_t day) { return txns[t].day < day; });
      std::vector<std::size_t> cand;
      for (auto it = lo; it != by_day.end() && txns[*it].day <= lines[l].day + window; ++it)
        if (!txn_taken[*it] && txns[*it].amount.sign() != 0) cand.push_back(*it);
      std::stable_sort(cand.begin(), cand.end(), [&](auto a, auto b) { return distance(l, a) < distance(l, b); });
      if (cand.size() > static_cast<std::size_t>(options.split_candidates)) cand.resize(options.split_candidates);
      if (cand.size() < 2) continue;
      // Integers at one scale, so that sums are exact and hashable.
      int scale = lines[l].amount.scale();
      for (auto t : cand) scale = std::max(scale, txns[t].amount.scale());
      auto target = lines[l].amount.rescaled(scale);
      if (!target) continue;
      std::vector<std::int64_t> units;
      std::vector<std::size_t> usable;
      for (auto t : cand)
        if (auto u = txns[t].amount.rescaled(scale)) {
          units.push_back(u->units());
          usable.push_back(t);
        }
      const std::vector<int> found = FindSum(target->units(), units, options.max_split);
      std::vector<std::size_t> best;
      for (int i : found) best.push_back(usable[i]);
      if (best.empty()) continue;
      std::int64_t widest = 0;
      for (auto t : best) widest = std::max(widest, distance(l, t));
      std::sort(best.begin(), best.end());
      propose(l, best, MatchRule::kSplit, 0.7 - 0.05 * static_cast<double>(best.size() - 2),
              std::to_string(best.size()) + " transactions within " + Days(widest) + " sum to the amount");
    }
  }

  // 4. A shared reference, a different amount: shown with its difference, for a person to judge.
  for (std::size_t l = 0; l < lines.size(); ++l) {
    if (line_taken[l]) continue;
    auto hit = shared_reference(l, [](std::size_t) { return true; });
    if (!hit) continue;
    auto diff = Decimal::Sub(lines[l].amount, txns[hit->first].amount);
    propose(l, {hit->first}, MatchRule::kNear, 0.4,
            "same reference \"" + hit->second + "\", amounts differ by " + (diff ? diff->abs().str() : "?"));
  }

  MatchResult out;
  std::stable_sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [l, p] : found) out.proposals.push_back(std::move(p));
  for (std::size_t l = 0; l < lines.size(); ++l)
    if (!line_taken[l]) out.unmatched_lines.push_back(lines[l].id);
  for (std::size_t t = 0; t < txns.size(); ++t)
    if (!txn_taken[t]) out.unmatched_transactions.push_back(txns[t].name);
  return out;
}

}  // namespace setpoint::accounting
