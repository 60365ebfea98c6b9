// RestartEpochs: the reconcile loop of Istio's pilot-agent (v1, seed-systems §3.2), for one
// Process. It holds the desired config and the config of the newest running epoch, starts a new
// epoch whenever they differ, aborts every other epoch when one fails, and retries with
// exponential backoff from a budget that a new desired config refills.
//
// Pure state machine: no threads, no OS, no clock of its own. The caller feeds it events with the
// current time and carries out the Actions it returns (start an OS process, kill one, ...), then
// calls tick() at next_wake(). Not thread-safe; one owner drives it.
//
// Differences from upstream, because a Process is not Envoy:
//  - Restart policy: Never (no retry, a failure or an exit is final), OnFailure (upstream: a
//    normal exit is not retried, S3-08), Always (a normal exit of the newest epoch is retried
//    too, with the same backoff and budget).
//  - Drain: Envoy drains its parent itself; a Process cannot. When the newest epoch reports ready
//    (ready()), every older epoch gets a kDrain action; a draining epoch's exit, whatever its
//    code, is an orderly exit (not a failure).
//  - Budget refill: an epoch that ran at least `reset_after` before failing refills the budget
//    first (systemd's StartLimitIntervalSec idea), so a process that crashes once a day is not
//    declared failed after ten days.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace setpoint::agent {

using SteadyTime = std::chrono::steady_clock::time_point;

enum class RestartPolicy { kAlways, kOnFailure, kNever };

struct RetryPolicy {
  int max_retries = 10;                             // DefaultRetry.MaxRetries
  std::chrono::milliseconds initial_interval{200};  // DefaultRetry.InitialInterval
  std::chrono::milliseconds reset_after{std::chrono::minutes(10)};
  RestartPolicy restart = RestartPolicy::kAlways;
  // The control loop's rate limiter (rate.NewLimiter(1, 10)): new epochs started by config
  // changes beyond the burst wait for a token (S3-21). Retries are not rate limited.
  double rate_per_second = 1.0;
  int burst = 10;
};

enum class ExitKind {
  kNormal,   // exit code 0
  kFailed,   // non-zero exit, killed by a signal it was not sent, liveness failure, start failure
  kAborted,  // it was sent kAbort (its exit is then just logged, as upstream's errAbort)
};

struct EpochAction {
  enum class Type {
    kStart,    // start `config` as epoch `epoch` (restart = true when it is a retry)
    kDrain,    // an older epoch: drain and stop it gracefully (the newest is ready)
    kAbort,    // kill `epoch` now (SIGKILL of its group): another epoch failed, or terminate()
    kCleanup,  // `epoch` has exited: release what belongs to it (upstream proxy.Cleanup)
    kPanic,    // the budget is spent (or restart policy Never): give up until the config changes
  };
  Type type;
  int epoch = -1;
  std::string config;    // kStart only
  bool restart = false;  // kStart only: a retry after a failure, counts as a restart
  friend bool operator==(const EpochAction&, const EpochAction&) = default;
};
using EpochActions = std::vector<EpochAction>;

enum class MachineState {
  kIdle,       // nothing desired or nothing running and nothing to do
  kRunning,    // at least one epoch runs
  kBackoff,    // a retry is scheduled
  kFailed,     // panicked: waits for a new desired config
  kSucceeded,  // the newest epoch exited normally and the policy does not restart it
};

class RestartEpochs {
 public:
  explicit RestartEpochs(RetryPolicy policy = {});

  // A new desired config (opaque bytes compared for equality). Identical to the current desired
  // config: nothing (S3-02). Otherwise: desired = config, budget = max_retries, any pending retry
  // is cancelled, and reconcile() runs (S3-12) — subject to the rate limiter (S3-21).
  EpochActions set_desired(std::string config, SteadyTime now);
  // Epoch `epoch` exited (an unknown epoch is ignored: {}). Removes it; current = config of the
  // newest remaining epoch (S3-16); a draining epoch's exit is orderly; an aborted one's is only
  // logged, but retries (like upstream) when desired != current so no epoch is left behind (S3-10);
  // kFailed aborts every other epoch (S3-04) and schedules a retry from the budget (S3-05/06/11,
  // one retry however many failures arrive while one is pending: S3-13); always emits kCleanup.
  EpochActions exited(int epoch, ExitKind kind, SteadyTime now);
  // The newest epoch passed its readiness check: older epochs get kDrain (once each).
  EpochActions ready(int epoch, SteadyTime now);
  // Runs what is due at `now`: a scheduled retry (reconcile), a rate-limited reconcile.
  EpochActions tick(SteadyTime now);
  // Stop everything (upstream terminate() without the drain config): aborts no one, drains every
  // running epoch (kDrain), cancels retries and a deferred reconcile; afterwards nothing starts
  // until set_desired(), which then starts a new epoch even for the same config as before.
  EpochActions terminate(SteadyTime now);

  // An epoch found running when the agent started (re-adopted from its state file): it joins the
  // running epochs with its config, which becomes current; desired stays unset until
  // set_desired() brings the object's config (equal: nothing happens; different: a new epoch).
  // `started` is when it was started, for reset_after.
  void adopt(int epoch, std::string config, SteadyTime started);

  // The policy of the current spec (restart policy, retries, backoff). It applies to decisions
  // from now on; a budget above the new maximum is cut to it. Call before set_desired() of a
  // changed spec, whose config change refills the budget to the new maximum.
  void set_policy(RetryPolicy policy);

  // When tick() next has something to do; nullopt when nothing is scheduled.
  std::optional<SteadyTime> next_wake() const;

  MachineState state() const;
  int latest_epoch() const;  // -1 when none runs
  std::set<int> running_epochs() const;
  const std::optional<std::string>& desired() const { return desired_; }
  // Config of the newest running epoch that is not draining: a draining epoch is on its way out,
  // so a desired config equal to its config must still start a new epoch.
  const std::optional<std::string>& current() const { return current_; }
  int budget() const { return budget_; }
  int restarts() const { return restarts_; }  // retries started since construction
  std::optional<SteadyTime> retry_at() const { return retry_at_; }

 private:
  struct Epoch {
    std::string config;
    SteadyTime started;
    bool draining = false;  // sent kDrain: its exit is orderly, it no longer counts as current
    bool aborted = false;   // sent kAbort: its exit is only logged (and may need a retry)
  };

  EpochActions reconcile(SteadyTime now, bool restart);
  // A failure-like exit of `epoch`: retry from the budget, or panic when it is spent. `refill`:
  // the epoch ran for reset_after, so the budget is full again first.
  void schedule_retry(int epoch, bool refill, SteadyTime now, EpochActions& out);
  void recompute_current();
  void refill_tokens(SteadyTime now);
  bool has_token() const;

  RetryPolicy policy_;
  std::optional<std::string> desired_;
  std::optional<std::string> current_;
  std::map<int, Epoch> epochs_;  // running epochs, draining and aborted ones included
  int budget_ = 0;
  int restarts_ = 0;
  std::optional<SteadyTime> retry_at_;
  bool failed_ = false;      // panicked; only a different desired config revives it
  bool succeeded_ = false;   // the newest epoch exited normally and is not restarted
  bool terminated_ = false;  // terminate() ran; set_desired() of any config revives it
  // Token bucket of the config-change reconciles; a reconcile that found no token waits in
  // reconcile_pending_ for tick(), coalescing every desired config that arrives meanwhile.
  double tokens_ = 0;
  std::optional<SteadyTime> tokens_at_;
  bool reconcile_pending_ = false;
};

}  // namespace setpoint::agent
