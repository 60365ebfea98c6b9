#include "agent/epochs.h"

#include <gtest/gtest.h>

#include <chrono>
#include <ostream>
#include <string>

namespace setpoint::agent {

// Found by ADL, so a failed EXPECT_EQ on EpochActions prints actions rather than bytes.
void PrintTo(const EpochAction& a, std::ostream* os) {
  static const char* const kNames[] = {"start", "drain", "abort", "cleanup", "panic"};
  *os << kNames[static_cast<int>(a.type)] << "(" << a.epoch;
  if (a.type == EpochAction::Type::kStart) *os << ", \"" << a.config << "\"";
  if (a.restart) *os << ", restart";
  *os << ")";
}

namespace {

using namespace std::chrono_literals;
using Type = EpochAction::Type;

// Any fixed instant will do; the machine has no clock of its own.
const SteadyTime kT0 = SteadyTime{} + 1h;

EpochAction start(int epoch, std::string config, bool restart = false) {
  return {Type::kStart, epoch, std::move(config), restart};
}
EpochAction drain(int epoch) { return {Type::kDrain, epoch}; }
EpochAction abort_(int epoch) { return {Type::kAbort, epoch}; }
EpochAction cleanup(int epoch) { return {Type::kCleanup, epoch}; }
EpochAction panic(int epoch) { return {Type::kPanic, epoch}; }

// Upstream v1 has no restart policy; its normal exit is not retried, which is OnFailure.
RetryPolicy upstream(int max_retries = 10) {
  RetryPolicy p;
  p.max_retries = max_retries;
  p.restart = RestartPolicy::kOnFailure;
  return p;
}

RetryPolicy with_restart(RestartPolicy restart) {
  RetryPolicy p;
  p.restart = restart;
  return p;
}

// Adapted: terminate() drains instead of hot-restarting into a drain config, and kills no one.
TEST(RestartEpochs, S3_01_TerminateDrainsEveryEpochAndStartsNone) {
  RestartEpochs m(upstream());
  SteadyTime now = kT0;
  EXPECT_EQ(m.set_desired("start", now), (EpochActions{start(0, "start")}));
  EXPECT_EQ(m.set_desired("next", now), (EpochActions{start(1, "next")}));
  EXPECT_EQ(m.terminate(now), (EpochActions{drain(0), drain(1)}));
  EXPECT_EQ(m.current(), std::nullopt);
  EXPECT_EQ(m.next_wake(), std::nullopt);
  EXPECT_EQ(m.terminate(now), EpochActions{});
  // A draining epoch's error exit is what it was told to do, not a failure.
  EXPECT_EQ(m.exited(1, ExitKind::kFailed, now), (EpochActions{cleanup(1)}));
  EXPECT_EQ(m.retry_at(), std::nullopt);
  // The same config comes back after terminate, numbered above the epoch still draining.
  EXPECT_EQ(m.set_desired("next", now), (EpochActions{start(1, "next")}));
  EXPECT_EQ(m.exited(0, ExitKind::kNormal, now), (EpochActions{cleanup(0)}));
  EXPECT_EQ(m.running_epochs(), (std::set<int>{1}));
  EXPECT_EQ(m.state(), MachineState::kRunning);
}

TEST(RestartEpochs, S3_02_ApplyTwiceStartsNoNewEpoch) {
  RestartEpochs m(upstream());
  EXPECT_EQ(m.set_desired("x", kT0), (EpochActions{start(0, "x")}));
  EXPECT_EQ(m.set_desired("x", kT0 + 1s), EpochActions{});
  EXPECT_EQ(m.running_epochs(), (std::set<int>{0}));
}

TEST(RestartEpochs, S3_03_ApplyThriceDoesNotReapplyTheRunningConfig) {
  RestartEpochs m(upstream(/*max_retries=*/0));
  SteadyTime now = kT0;
  EXPECT_EQ(m.set_desired("good", now), (EpochActions{start(0, "good")}));
  EXPECT_EQ(m.set_desired("bad", now), (EpochActions{start(1, "bad")}));
  EXPECT_EQ(m.exited(1, ExitKind::kNormal, now), (EpochActions{cleanup(1)}));
  EXPECT_EQ(m.current(), "good");
  EXPECT_EQ(m.set_desired("good", now), EpochActions{});
  EXPECT_EQ(m.running_epochs(), (std::set<int>{0}));
  EXPECT_EQ(m.next_wake(), std::nullopt);
}

TEST(RestartEpochs, S3_04_FailureAbortsEveryOtherEpochAndAllAreCleanedUp) {
  RestartEpochs m(upstream());
  SteadyTime now = kT0;
  m.set_desired("good1", now);
  m.set_desired("good2", now);
  m.set_desired("bad", now);
  EXPECT_EQ(m.exited(2, ExitKind::kFailed, now), (EpochActions{abort_(0), abort_(1), cleanup(2)}));
  EXPECT_EQ(m.exited(0, ExitKind::kAborted, now), (EpochActions{cleanup(0)}));
  EXPECT_EQ(m.exited(1, ExitKind::kAborted, now), (EpochActions{cleanup(1)}));
  EXPECT_EQ(m.state(), MachineState::kBackoff);
}

TEST(RestartEpochs, S3_05_StartFailRetriesTheSameEpochUntilItRuns) {
  RetryPolicy p = upstream();
  p.initial_interval = 1ms;
  RestartEpochs m(p);
  SteadyTime now = kT0;
  m.set_desired("x", now);
  EXPECT_EQ(m.exited(0, ExitKind::kFailed, now), (EpochActions{cleanup(0)}));
  EXPECT_EQ(m.next_wake(), now + 1ms);
  EXPECT_EQ(m.tick(now + 999us), EpochActions{});
  now += 1ms;
  EXPECT_EQ(m.tick(now), (EpochActions{start(0, "x", true)}));
  EXPECT_EQ(m.exited(0, ExitKind::kFailed, now), (EpochActions{cleanup(0)}));
  EXPECT_EQ(m.retry_at(), now + 2ms);
  now += 2ms;
  EXPECT_EQ(m.tick(now), (EpochActions{start(0, "x", true)}));
  EXPECT_EQ(m.ready(0, now), EpochActions{});
  EXPECT_EQ(m.state(), MachineState::kRunning);
  EXPECT_EQ(m.restarts(), 2);
  EXPECT_EQ(m.budget(), 8);
}

TEST(RestartEpochs, S3_06_ExceedBudgetPanics) {
  RestartEpochs m(upstream(/*max_retries=*/1));
  SteadyTime now = kT0;
  m.set_desired("x", now);
  EXPECT_EQ(m.exited(0, ExitKind::kFailed, now), (EpochActions{cleanup(0)}));
  now += 200ms;
  EXPECT_EQ(m.tick(now), (EpochActions{start(0, "x", true)}));
  EXPECT_EQ(m.exited(0, ExitKind::kFailed, now), (EpochActions{cleanup(0), panic(0)}));
  EXPECT_EQ(m.state(), MachineState::kFailed);
  EXPECT_EQ(m.next_wake(), std::nullopt);
  EXPECT_EQ(m.tick(now + 1h), EpochActions{});
  // Only a different config revives it.
  EXPECT_EQ(m.set_desired("x", now), EpochActions{});
  EXPECT_EQ(m.set_desired("y", now), (EpochActions{start(0, "y")}));
  EXPECT_EQ(m.budget(), 1);
  EXPECT_EQ(m.state(), MachineState::kRunning);
}

TEST(RestartEpochs, S3_07_StartTwiceStopCleansUpInExitOrder) {
  RestartEpochs m(upstream());
  SteadyTime now = kT0;
  m.set_desired("c0", now);
  m.set_desired("c1", now);
  m.set_desired("c2", now);
  EXPECT_EQ(m.exited(1, ExitKind::kNormal, now), (EpochActions{cleanup(1)}));
  EXPECT_EQ(m.exited(0, ExitKind::kNormal, now), (EpochActions{cleanup(0)}));
  EXPECT_EQ(m.exited(2, ExitKind::kNormal, now), (EpochActions{cleanup(2)}));
  EXPECT_EQ(m.next_wake(), std::nullopt);
  EXPECT_EQ(m.tick(now + 1h), EpochActions{});
  EXPECT_EQ(m.state(), MachineState::kSucceeded);
}

TEST(RestartEpochs, S3_08_NormalExitIsNotRetried) {
  RestartEpochs m(upstream());
  m.set_desired("x", kT0);
  EXPECT_EQ(m.exited(0, ExitKind::kNormal, kT0 + 1s), (EpochActions{cleanup(0)}));
  EXPECT_EQ(m.retry_at(), std::nullopt);
  EXPECT_EQ(m.budget(), 10);
  EXPECT_EQ(m.current(), std::nullopt);
  EXPECT_EQ(m.state(), MachineState::kSucceeded);
}

TEST(RestartEpochs, S3_09_CascadingAbortRecoversToTheNewestConfig) {
  RestartEpochs m(upstream());
  SteadyTime now = kT0;
  m.set_desired("c0", now);
  m.set_desired("c1", now);
  m.set_desired("c2", now);
  EXPECT_EQ(m.exited(2, ExitKind::kFailed, now), (EpochActions{abort_(0), abort_(1), cleanup(2)}));
  // Epoch 1 crashed on its own before the kill landed: still no second cascade.
  EXPECT_EQ(m.exited(1, ExitKind::kFailed, now), (EpochActions{cleanup(1)}));
  EXPECT_EQ(m.exited(0, ExitKind::kAborted, now), (EpochActions{cleanup(0)}));
  EXPECT_EQ(m.budget(), 9);
  now += 200ms;
  EXPECT_EQ(m.tick(now), (EpochActions{start(0, "c2", true)}));
}

TEST(RestartEpochs, S3_10_AbortedEpochOutlivingTheRetryIsNotLeftBehind) {
  RestartEpochs m(upstream());
  SteadyTime now = kT0;
  m.set_desired("x", now);
  m.set_desired("y", now);
  EXPECT_EQ(m.exited(0, ExitKind::kFailed, now), (EpochActions{abort_(1), cleanup(0)}));
  // The retry fires while the aborted epoch 1 still holds `current`: nothing to start.
  now += 200ms;
  EXPECT_EQ(m.tick(now), EpochActions{});
  now += 100ms;
  EXPECT_EQ(m.exited(1, ExitKind::kAborted, now), (EpochActions{cleanup(1)}));
  EXPECT_EQ(m.retry_at(), now + 400ms);
  EXPECT_EQ(m.budget(), 8);
  now += 400ms;
  EXPECT_EQ(m.tick(now), (EpochActions{start(0, "y", true)}));
}

TEST(RestartEpochs, S3_11_BackoffDoublesFrom200msAndTheEleventhFailurePanics) {
  RestartEpochs m;  // the defaults: 10 retries from 200 ms
  SteadyTime now = kT0;
  m.set_desired("x", now);
  for (int k = 0; k < 10; ++k) {
    EXPECT_EQ(m.exited(0, ExitKind::kFailed, now), (EpochActions{cleanup(0)}));
    ASSERT_EQ(m.retry_at(), now + 200ms * (1 << k)) << "retry " << k;
    now = *m.retry_at();
    EXPECT_EQ(m.tick(now), (EpochActions{start(0, "x", true)}));
  }
  EXPECT_EQ(now - kT0, 204600ms);  // 200 ms + ... + 102.4 s
  EXPECT_EQ(m.exited(0, ExitKind::kFailed, now), (EpochActions{cleanup(0), panic(0)}));
  EXPECT_EQ(m.restarts(), 10);
  EXPECT_EQ(m.state(), MachineState::kFailed);
}

TEST(RestartEpochs, S3_12_NewDesiredCancelsTheRetryAndRefillsTheBudget) {
  RestartEpochs m(upstream());
  SteadyTime now = kT0;
  m.set_desired("x", now);
  for (auto delay : {200ms, 400ms}) {
    m.exited(0, ExitKind::kFailed, now);
    now += delay;
    m.tick(now);
  }
  m.exited(0, ExitKind::kFailed, now);
  EXPECT_EQ(m.retry_at(), now + 800ms);
  EXPECT_EQ(m.budget(), 7);
  EXPECT_EQ(m.set_desired("y", now), (EpochActions{start(0, "y")}));
  EXPECT_EQ(m.retry_at(), std::nullopt);
  EXPECT_EQ(m.budget(), 10);
  EXPECT_EQ(m.tick(now + 800ms), EpochActions{});
  EXPECT_EQ(m.state(), MachineState::kRunning);
}

TEST(RestartEpochs, S3_13_FailuresWhileARetryIsPendingScheduleOneRetry) {
  RestartEpochs m(upstream());
  SteadyTime now = kT0;
  m.set_desired("c0", now);
  m.set_desired("c1", now);
  m.set_desired("c2", now);
  m.exited(2, ExitKind::kFailed, now);
  const SteadyTime retry = now + 200ms;
  EXPECT_EQ(m.retry_at(), retry);
  EXPECT_EQ(m.exited(1, ExitKind::kFailed, now + 10ms), (EpochActions{cleanup(1)}));
  EXPECT_EQ(m.exited(0, ExitKind::kFailed, now + 20ms), (EpochActions{cleanup(0)}));
  EXPECT_EQ(m.retry_at(), retry);
  EXPECT_EQ(m.budget(), 9);

  // Two genuine failures: Always retries a normal exit without aborting, then the older fails.
  RestartEpochs a(with_restart(RestartPolicy::kAlways));
  a.set_desired("x", now);
  a.set_desired("y", now);
  EXPECT_EQ(a.exited(1, ExitKind::kNormal, now), (EpochActions{cleanup(1)}));
  EXPECT_EQ(a.exited(0, ExitKind::kFailed, now + 10ms), (EpochActions{cleanup(0)}));
  EXPECT_EQ(a.retry_at(), retry);
  EXPECT_EQ(a.budget(), 9);
}

TEST(RestartEpochs, S3_14_FirstEpochIsZero) {
  RestartEpochs m(upstream());
  EXPECT_EQ(m.latest_epoch(), -1);
  EXPECT_EQ(m.state(), MachineState::kIdle);
  EXPECT_EQ(m.set_desired("x", kT0), (EpochActions{start(0, "x")}));
  EXPECT_EQ(m.latest_epoch(), 0);
  EXPECT_EQ(m.current(), "x");
}

TEST(RestartEpochs, S3_15_NewConfigStartsTheNextEpochBesideTheOlder) {
  RestartEpochs m(upstream());
  m.set_desired("x", kT0);
  EXPECT_EQ(m.set_desired("y", kT0), (EpochActions{start(1, "y")}));
  EXPECT_EQ(m.running_epochs(), (std::set<int>{0, 1}));
}

TEST(RestartEpochs, S3_16_CurrentIsTheNewestRemainingEpoch) {
  RestartEpochs m(upstream());
  m.set_desired("a", kT0);
  m.set_desired("b", kT0);
  m.set_desired("c", kT0);
  EXPECT_EQ(m.exited(1, ExitKind::kNormal, kT0), (EpochActions{cleanup(1)}));
  EXPECT_EQ(m.current(), "c");
  EXPECT_EQ(m.exited(2, ExitKind::kNormal, kT0), (EpochActions{cleanup(2)}));
  EXPECT_EQ(m.current(), "a");
}

TEST(RestartEpochs, S3_17_RetryAfterEveryEpochExitedReusesEpochZero) {
  RestartEpochs m(upstream());
  SteadyTime now = kT0;
  m.set_desired("x", now);
  m.set_desired("y", now);
  EXPECT_EQ(m.exited(1, ExitKind::kFailed, now), (EpochActions{abort_(0), cleanup(1)}));
  EXPECT_EQ(m.current(), "x");  // the aborted epoch still runs
  EXPECT_EQ(m.exited(0, ExitKind::kAborted, now), (EpochActions{cleanup(0)}));
  EXPECT_EQ(m.current(), std::nullopt);
  EXPECT_EQ(m.tick(now + 200ms), (EpochActions{start(0, "y", true)}));
}

TEST(RestartEpochs, S3_21_BurstOfTwentyConfigsStartsTenThenOneAfterASecond) {
  RestartEpochs m(upstream());
  EpochActions started;
  for (int i = 0; i < 20; ++i) {
    for (auto& a : m.set_desired("c" + std::to_string(i), kT0)) started.push_back(a);
  }
  EpochActions first_ten;
  for (int i = 0; i < 10; ++i) first_ten.push_back(start(i, "c" + std::to_string(i)));
  EXPECT_EQ(started, first_ten);
  EXPECT_EQ(m.next_wake(), kT0 + 1s);
  EXPECT_EQ(m.tick(kT0 + 999ms), EpochActions{});
  EXPECT_EQ(m.tick(kT0 + 1s), (EpochActions{start(10, "c19")}));
  EXPECT_EQ(m.next_wake(), std::nullopt);
  EXPECT_EQ(m.tick(kT0 + 2s), EpochActions{});
}

TEST(RestartEpochs, RateLimitedReconcileIsDroppedWhenTheRunningConfigIsDesiredAgain) {
  RetryPolicy p = upstream();
  p.burst = 1;
  RestartEpochs m(p);
  EXPECT_EQ(m.set_desired("x", kT0), (EpochActions{start(0, "x")}));
  EXPECT_EQ(m.set_desired("y", kT0), EpochActions{});
  EXPECT_EQ(m.next_wake(), kT0 + 1s);
  EXPECT_EQ(m.set_desired("x", kT0), EpochActions{});
  EXPECT_EQ(m.next_wake(), std::nullopt);
  // Nothing waits any more; the next change takes the token refilled by then.
  EXPECT_EQ(m.set_desired("z", kT0 + 1s), (EpochActions{start(1, "z")}));
}

TEST(RestartEpochs, S3_26_AnAbortedEpochsExitCountsAsAbortedWhateverItsCode) {
  RestartEpochs m(upstream());
  SteadyTime now = kT0;
  m.set_desired("x", now);
  m.set_desired("y", now);
  EXPECT_EQ(m.exited(1, ExitKind::kFailed, now), (EpochActions{abort_(0), cleanup(1)}));
  // Killed by SIGKILL, the OS layer may still call it a failure: no cascade, no second retry.
  EXPECT_EQ(m.exited(0, ExitKind::kFailed, now), (EpochActions{cleanup(0)}));
  EXPECT_EQ(m.budget(), 9);
  EXPECT_EQ(m.retry_at(), now + 200ms);
}

TEST(RestartEpochs, AbortedExitSpendsNoBudgetWhenTheDesiredConfigRuns) {
  RestartEpochs m(upstream());
  SteadyTime now = kT0;
  m.set_desired("x", now);
  m.set_desired("y", now);
  m.exited(1, ExitKind::kFailed, now);
  now += 200ms;
  // Epoch 0 is still dying: the retry numbers above it.
  EXPECT_EQ(m.tick(now), (EpochActions{start(1, "y", true)}));
  EXPECT_EQ(m.exited(0, ExitKind::kAborted, now), (EpochActions{cleanup(0)}));
  EXPECT_EQ(m.retry_at(), std::nullopt);
  EXPECT_EQ(m.budget(), 9);
  EXPECT_EQ(m.state(), MachineState::kRunning);
}

TEST(RestartEpochs, AlwaysRetriesANormalExitOfTheNewestWithoutAborting) {
  RestartEpochs m(with_restart(RestartPolicy::kAlways));
  SteadyTime now = kT0;
  m.set_desired("x", now);
  m.set_desired("y", now);
  EXPECT_EQ(m.exited(1, ExitKind::kNormal, now), (EpochActions{cleanup(1)}));
  EXPECT_EQ(m.retry_at(), now + 200ms);
  EXPECT_EQ(m.state(), MachineState::kBackoff);
  EXPECT_EQ(m.tick(now + 200ms), (EpochActions{start(1, "y", true)}));
  EXPECT_EQ(m.running_epochs(), (std::set<int>{0, 1}));
  EXPECT_EQ(m.restarts(), 1);
}

TEST(RestartEpochs, AlwaysDoesNotRetryANormalExitOfAnOlderEpoch) {
  RestartEpochs m(with_restart(RestartPolicy::kAlways));
  m.set_desired("x", kT0);
  m.set_desired("y", kT0);
  EXPECT_EQ(m.exited(0, ExitKind::kNormal, kT0), (EpochActions{cleanup(0)}));
  EXPECT_EQ(m.retry_at(), std::nullopt);
  EXPECT_EQ(m.state(), MachineState::kRunning);
}

TEST(RestartEpochs, OnFailureRetriesAFailureAndSucceedsOnANormalExit) {
  RestartEpochs m(with_restart(RestartPolicy::kOnFailure));
  SteadyTime now = kT0;
  m.set_desired("x", now);
  EXPECT_EQ(m.exited(0, ExitKind::kFailed, now), (EpochActions{cleanup(0)}));
  now += 200ms;
  EXPECT_EQ(m.tick(now), (EpochActions{start(0, "x", true)}));
  EXPECT_EQ(m.exited(0, ExitKind::kNormal, now), (EpochActions{cleanup(0)}));
  EXPECT_EQ(m.next_wake(), std::nullopt);
  EXPECT_EQ(m.state(), MachineState::kSucceeded);
}

TEST(RestartEpochs, NeverPanicsOnAFailureWithoutRetry) {
  RestartEpochs m(with_restart(RestartPolicy::kNever));
  SteadyTime now = kT0;
  m.set_desired("x", now);
  m.set_desired("y", now);
  EXPECT_EQ(m.exited(1, ExitKind::kFailed, now), (EpochActions{abort_(0), cleanup(1), panic(1)}));
  EXPECT_EQ(m.state(), MachineState::kFailed);
  EXPECT_EQ(m.next_wake(), std::nullopt);
  EXPECT_EQ(m.exited(0, ExitKind::kAborted, now), (EpochActions{cleanup(0)}));
  EXPECT_EQ(m.set_desired("y", now), EpochActions{});
  EXPECT_EQ(m.set_desired("z", now), (EpochActions{start(0, "z")}));
  EXPECT_EQ(m.state(), MachineState::kRunning);
}

TEST(RestartEpochs, NeverSucceedsOnANormalExit) {
  RestartEpochs m(with_restart(RestartPolicy::kNever));
  m.set_desired("x", kT0);
  EXPECT_EQ(m.exited(0, ExitKind::kNormal, kT0), (EpochActions{cleanup(0)}));
  EXPECT_EQ(m.state(), MachineState::kSucceeded);
  EXPECT_EQ(m.next_wake(), std::nullopt);
}

TEST(RestartEpochs, ReadyOfTheNewestDrainsEachOlderEpochOnce) {
  RestartEpochs m(upstream());
  m.set_desired("a", kT0);
  m.set_desired("b", kT0);
  m.set_desired("c", kT0);
  EXPECT_EQ(m.ready(1, kT0), EpochActions{});
  EXPECT_EQ(m.ready(7, kT0), EpochActions{});
  EXPECT_EQ(m.ready(2, kT0), (EpochActions{drain(0), drain(1)}));
  EXPECT_EQ(m.ready(2, kT0), EpochActions{});
  EXPECT_EQ(m.current(), "c");
  EXPECT_EQ(m.set_desired("d", kT0), (EpochActions{start(3, "d")}));
  EXPECT_EQ(m.ready(3, kT0), (EpochActions{drain(2)}));
}

TEST(RestartEpochs, ADrainingEpochsExitIsOrderly) {
  RestartEpochs m(with_restart(RestartPolicy::kAlways));
  SteadyTime now = kT0;
  m.set_desired("x", now);
  m.set_desired("y", now);
  EXPECT_EQ(m.ready(1, now), (EpochActions{drain(0)}));
  EXPECT_EQ(m.exited(0, ExitKind::kFailed, now), (EpochActions{cleanup(0)}));
  EXPECT_EQ(m.retry_at(), std::nullopt);
  EXPECT_EQ(m.budget(), 10);
  EXPECT_EQ(m.state(), MachineState::kRunning);
}

TEST(RestartEpochs, AnEpochThatRanForResetAfterRefillsTheBudget) {
  RestartEpochs m;  // reset_after = 10 min
  SteadyTime now = kT0;
  m.set_desired("x", now);
  for (auto delay : {200ms, 400ms}) {
    m.exited(0, ExitKind::kFailed, now);
    now += delay;
    m.tick(now);
  }
  EXPECT_EQ(m.budget(), 8);
  // Just short of reset_after: the backoff keeps growing.
  now += 10min - 1ms;
  m.exited(0, ExitKind::kFailed, now);
  EXPECT_EQ(m.retry_at(), now + 800ms);
  now += 800ms;
  m.tick(now);
  now += 10min;
  m.exited(0, ExitKind::kFailed, now);
  EXPECT_EQ(m.retry_at(), now + 200ms);
  EXPECT_EQ(m.budget(), 9);
}

TEST(RestartEpochs, TerminateCancelsTheRetryAndTheSameConfigStartsAgain) {
  RestartEpochs m(upstream());
  SteadyTime now = kT0;
  m.set_desired("x", now);
  m.exited(0, ExitKind::kFailed, now);
  EXPECT_EQ(m.terminate(now), EpochActions{});
  EXPECT_EQ(m.next_wake(), std::nullopt);
  EXPECT_EQ(m.tick(now + 1h), EpochActions{});
  EXPECT_EQ(m.state(), MachineState::kIdle);
  EXPECT_EQ(m.set_desired("x", now + 1h), (EpochActions{start(0, "x")}));
  EXPECT_EQ(m.budget(), 10);
}

TEST(RestartEpochs, TerminateLeavesAbortedEpochsToTheirKill) {
  RestartEpochs m(upstream());
  m.set_desired("x", kT0);
  m.set_desired("y", kT0);
  m.set_desired("z", kT0);
  m.exited(1, ExitKind::kFailed, kT0);
  EXPECT_EQ(m.terminate(kT0), EpochActions{});
  EXPECT_EQ(m.exited(0, ExitKind::kAborted, kT0), (EpochActions{cleanup(0)}));
  EXPECT_EQ(m.next_wake(), std::nullopt);
}

TEST(RestartEpochs, AnUnknownEpochIsIgnored) {
  RestartEpochs m(upstream());
  m.set_desired("x", kT0);
  EXPECT_EQ(m.exited(3, ExitKind::kFailed, kT0), EpochActions{});
  EXPECT_EQ(m.exited(0, ExitKind::kNormal, kT0), (EpochActions{cleanup(0)}));
  EXPECT_EQ(m.exited(0, ExitKind::kNormal, kT0), EpochActions{});
}

}  // namespace
TEST(RestartEpochs, SetPolicyAppliesToLaterDecisions) {
  SteadyTime t{};
  RetryPolicy always;
  always.restart = RestartPolicy::kAlways;
  always.max_retries = 10;
  RestartEpochs m(always);
  m.set_desired("a", t);
  // The spec now says Never: a failure is final, no retry.
  RetryPolicy never = always;
  never.restart = RestartPolicy::kNever;
  m.set_policy(never);
  (void)m.exited(0, ExitKind::kFailed, t);
  EXPECT_EQ(m.state(), MachineState::kFailed);
  EXPECT_FALSE(m.retry_at().has_value());
  // A smaller budget cuts the one left.
  RestartEpochs n(always);
  n.set_policy([&] {
    RetryPolicy p = always;
    p.max_retries = 2;
    return p;
  }());
  EXPECT_EQ(n.budget(), 2);
}

}  // namespace setpoint::agent
