// Matching a bank statement against the ledger (accounting::ProposeMatches), at the size the
// issue names: 10,000 statement lines against 20,000 transactions, a month of a busy account. The
// ledger holds each line's transaction (most with its reference, some a few days off without one,
// some split in three) and as many again that the statement does not have. Prints a RESULT line:
// the matching time (best and median of --runs), the peak resident memory the inputs and the
// matching add, and what was proposed.
//
//   build/bench/reconciliation_bench [--lines 10000] [--transactions 20000] [--runs 5]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "accounting/matching.h"

namespace {

using setpoint::Decimal;
using namespace setpoint::accounting;

// The process's resident high-water mark (VmHWM). Not getrusage's ru_maxrss: that starts at the
// parent's peak after fork, so under a large parent it would read 0 growth.
long PeakRssKib() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  long kib = 0;
  while (std::fgets(line, sizeof line, f))
    if (std::sscanf(line, "VmHWM: %ld kB", &kib) == 1) break;
  std::fclose(f);
  return kib;
}

}  // namespace

int main(int argc, char** argv) {
  int lines_n = 10000, txns_n = 20000, runs = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--lines")) lines_n = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--transactions")) txns_n = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--runs")) runs = std::atoi(argv[i + 1]);
  }
  const long rss_before = PeakRssKib();
  std::mt19937_64 rng(10000);
  std::uniform_int_distribution<std::int64_t> cents(100, 5'000'000);
  std::uniform_int_distribution<int> day(0, 30), pick(0, 99);
  std::vector<StatementItem> lines;
  std::vector<LedgerItem> txns;
  lines.reserve(lines_n);
  txns.reserve(txns_n);
  for (int i = 0; i < lines_n; ++i) {
    const std::int64_t c = cents(rng) * (pick(rng) < 40 ? -1 : 1);
    const int d = day(rng);
    const int kind = pick(rng);
    const std::string ref = kind < 80 ? "INV-" + std::to_string(i) : "";
    lines.push_back({"L" + std::to_string(i), d, Decimal::FromUnits(c, 2), {ref}});
    if (kind < 95 || c < 300) {
      txns.push_back({"t" + std::to_string(i), d + kind % 3, Decimal::FromUnits(c, 2), ref});
    } else {  // split in three
      txns.push_back({"t" + std::to_string(i) + "a", d, Decimal::FromUnits(c / 3, 2), ""});
      txns.push_back({"t" + std::to_string(i) + "b", d + 1, Decimal::FromUnits(c / 3, 2), ""});
      txns.push_back({"t" + std::to_string(i) + "c", d + 2, Decimal::FromUnits(c - 2 * (c / 3), 2), ""});
    }
  }
  for (int i = 0; static_cast<int>(txns.size()) < txns_n; ++i)
    txns.push_back({"x" + std::to_string(i), day(rng) + 31, Decimal::FromUnits(cents(rng), 2), ""});
  const long rss_inputs = PeakRssKib();

  std::vector<double> ms;
  MatchResult last;
  for (int r = 0; r < runs; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    last = ProposeMatches(lines, txns);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  int by_rule[4] = {};
  for (const auto& p : last.proposals) ++by_rule[static_cast<int>(p.rule)];
  std::printf(
      "RESULT lines=%d transactions=%zu best_ms=%.1f median_ms=%.1f inputs_kib=%ld matching_kib=%ld "
      "proposals=%zu reference=%d amount=%d split=%d near=%d unmatched_lines=%zu unmatched_transactions=%zu\n",
      lines_n, txns.size(), ms.front(), ms[ms.size() / 2], rss_inputs - rss_before, PeakRssKib() - rss_inputs,
      last.proposals.size(), by_rule[0], by_rule[1], by_rule[2], by_rule[3], last.unmatched_lines.size(),
      last.unmatched_transactions.size());
  return 0;
}
