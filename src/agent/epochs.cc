#include "agent/epochs.h"

#include <algorithm>
#include <cstdint>
#include <utility>

namespace setpoint::agent {
namespace {

using Type = EpochAction::Type;

// A policy with many retries must not shift the delay past int64 (undefined behaviour); 2^30
// times any sane initial interval is already longer than anyone waits.
constexpr int kMaxBackoffShift = 30;

// The refill is floating point: at the instant next_wake() named, the bucket may hold a hair
// less than one token, and tick() must still find it.
constexpr double kTokenEpsilon = 1e-9;

}  // namespace

RestartEpochs::RestartEpochs(RetryPolicy policy)
    : policy_(std::move(policy)), budget_(policy_.max_retries), tokens_(static_cast<double>(policy_.burst)) {}

EpochActions RestartEpochs::set_desired(std::string config, SteadyTime now) {
  // After terminate() the same config must come back, so equality only counts before it.
  if (!terminated_ && desired_ == config) return {};
  desired_ = std::move(config);
  budget_ = policy_.max_retries;
  retry_at_.reset();
  failed_ = false;
  succeeded_ = false;
  terminated_ = false;
  if (desired_ == current_) {
    // Back to what already runs (S3-03): nothing to start, and a reconcile deferred for an
    // intermediate config would now start nothing either, so it need not hold a token.
    reconcile_pending_ = false;
    return {};
  }
  refill_tokens(now);
  if (!has_token()) {
    // Coalesce: tick() reconciles once, to whatever is desired when the token arrives (S3-21).
    reconcile_pending_ = true;
    return {};
  }
  tokens_ -= 1;
  return reconcile(now, /*restart=*/false);
}

void RestartEpochs::set_policy(RetryPolicy policy) {
  policy_ = std::move(policy);
  budget_ = std::min(budget_, policy_.max_retries);
}

void RestartEpochs::adopt(int epoch, std::string config, SteadyTime started) {
  epochs_[epoch] = Epoch{std::move(config), started};
  recompute_current();
}

EpochActions RestartEpochs::exited(int epoch, ExitKind kind, SteadyTime now) {
  auto it = epochs_.find(epoch);
  // A second report of one exit must not clean up twice or schedule a second retry.
  if (it == epochs_.end()) return {};
  const bool newest = epoch == latest_epoch();
  const Epoch gone = std::move(it->second);
  epochs_.erase(it);
  recompute_current();

  // We killed it: whatever code the OS reports, it is the consequence of another failure.
  const bool aborted = gone.aborted || kind == ExitKind::kAborted;
  // We asked it to stop: exiting, even with an error, is what it was told to do.
  const bool orderly = !aborted && gone.draining;
  const bool failed = !aborted && !orderly && kind == ExitKind::kFailed;

  EpochActions out;
  if (failed) {
    // Hot-restart epochs share state (sockets, ...); one crashing taints the others (S3-04).
    for (auto& [n, e] : epochs_) {
      if (e.aborted) continue;  // one kAbort per epoch is enough to kill it (S3-09)
      e.aborted = true;
      out.push_back({Type::kAbort, n});
    }
  }
  out.push_back({Type::kCleanup, epoch});
  if (terminated_ || failed_ || orderly) return out;

  const bool ran_long = now - gone.started >= policy_.reset_after;
  if (failed) {
    schedule_retry(epoch, ran_long, now, out);
  } else if (aborted) {
    // Upstream retries after an aborted exit too; that is what restarts the desired config when
    // a retry ran while this epoch still held `current` (S3-10). When the desired config runs
    // already, or a deferred reconcile will start it, such a retry would only spend budget (and
    // could panic beside a healthy epoch), so it is skipped.
    if (!retry_at_ && !reconcile_pending_ && desired_ != current_) {
      schedule_retry(epoch, /*refill=*/false, now, out);
    }
  } else if (kind == ExitKind::kNormal && newest) {
    if (policy_.restart == RestartPolicy::kAlways) {
      schedule_retry(epoch, ran_long, now, out);
    } else {
      succeeded_ = true;  // S3-08: a clean exit is the end, not a reason to start again
    }
  }
  return out;
}

EpochActions RestartEpochs::ready(int epoch, SteadyTime /*now*/) {
  // Only the newest may retire the others: an older one becoming ready changes nothing.
  if (epochs_.count(epoch) == 0 || epoch != latest_epoch()) return {};
  EpochActions out;
  for (auto& [n, e] : epochs_) {
    if (n == epoch || e.draining || e.aborted) continue;
    e.draining = true;
    out.push_back({Type::kDrain, n});
  }
  return out;
}

EpochActions RestartEpochs::tick(SteadyTime now) {
  // Retries bypass the rate limiter, as upstream's timer branch does.
  if (retry_at_ && now >= *retry_at_) return reconcile(now, /*restart=*/true);
  if (reconcile_pending_) {
    refill_tokens(now);
    if (has_token()) {
      tokens_ -= 1;
      return reconcile(now, /*restart=*/false);
    }
  }
  return {};
}

EpochActions RestartEpochs::terminate(SteadyTime /*now*/) {
  retry_at_.reset();
  reconcile_pending_ = false;
  terminated_ = true;
  EpochActions out;
  for (auto& [n, e] : epochs_) {
    // An aborted epoch is being killed already; draining it would only slow that down.
    if (e.draining || e.aborted) continue;
    e.draining = true;
    out.push_back({Type::kDrain, n});
  }
  recompute_current();
  return out;
}

std::optional<SteadyTime> RestartEpochs::next_wake() const {
  std::optional<SteadyTime> wake = retry_at_;
  if (reconcile_pending_ && tokens_at_ && policy_.rate_per_second > 0) {
    const double missing = std::max(0.0, 1.0 - tokens_);
    // Round up so that tick() at this instant finds the token, never one nanosecond short.
    const SteadyTime at = *tokens_at_ + std::chrono::ceil<SteadyTime::duration>(
                                            std::chrono::duration<double>(missing / policy_.rate_per_second));
    if (!wake || at < *wake) wake = at;
  }
  return wake;
}

MachineState RestartEpochs::state() const {
  if (failed_) return MachineState::kFailed;
  if (retry_at_) return MachineState::kBackoff;
  if (!epochs_.empty()) return MachineState::kRunning;
  if (succeeded_) return MachineState::kSucceeded;
  return MachineState::kIdle;
}

int RestartEpochs::latest_epoch() const { return epochs_.empty() ? -1 : epochs_.rbegin()->first; }

std::set<int> RestartEpochs::running_epochs() const {
  std::set<int> out;
  for (const auto& [n, e] : epochs_) out.insert(n);
  return out;
}

EpochActions RestartEpochs::reconcile(SteadyTime now, bool restart) {
  retry_at_.reset();
  reconcile_pending_ = false;
  if (!desired_ || desired_ == current_) return {};
  // Numbers above every running epoch, draining ones included: two live processes must never
  // share an epoch. After a crash the number may come back (S3-17), as upstream documents.
  const int epoch = latest_epoch() + 1;
  epochs_[epoch] = Epoch{*desired_, now};
  current_ = desired_;
  succeeded_ = false;
  if (restart) ++restarts_;
  return {EpochAction{Type::kStart, epoch, *desired_, restart}};
}

void RestartEpochs::schedule_retry(int epoch, bool refill, SteadyTime now, EpochActions& out) {
  if (policy_.restart != RestartPolicy::kNever) {
    if (retry_at_) return;  // one retry covers every failure that arrives meanwhile (S3-13)
    if (refill) budget_ = policy_.max_retries;
    if (budget_ > 0) {
      // Upstream computes the delay before spending: 200 ms, 400 ms, ... 102.4 s (S3-11).
      const int shift = std::clamp(policy_.max_retries - budget_, 0, kMaxBackoffShift);
      retry_at_ = now + policy_.initial_interval * (std::int64_t{1} << shift);
      --budget_;
      return;
    }
  }
  // Terminal until a different desired config: retrying what keeps failing only burns CPU.
  retry_at_.reset();
  reconcile_pending_ = false;
  failed_ = true;
  out.push_back({Type::kPanic, epoch});
}

void RestartEpochs::recompute_current() {
  current_.reset();
  for (auto it = epochs_.rbegin(); it != epochs_.rend(); ++it) {
    // A draining epoch is leaving; counting it as current would stop its config from starting
    // again (after terminate(), or once the newest epoch exits while it drains).
    if (it->second.draining) continue;
    current_ = it->second.config;
    return;
  }
}

void RestartEpochs::refill_tokens(SteadyTime now) {
  if (!tokens_at_) {
    tokens_at_ = now;
    return;
  }
  if (now <= *tokens_at_) return;  // a clock that steps back earns no tokens
  const double elapsed = std::chrono::duration<double>(now - *tokens_at_).count();
  tokens_ = std::min(static_cast<double>(policy_.burst), tokens_ + elapsed * std::max(0.0, policy_.rate_per_second));
  tokens_at_ = now;
}

bool RestartEpochs::has_token() const { return tokens_ >= 1.0 - kTokenEpsilon; }

}  // namespace setpoint::agent
