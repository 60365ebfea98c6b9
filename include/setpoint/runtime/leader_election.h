// LeaderElector: leader election on a coordination.k8s.io/v1 Lease, with
// client-go's leaderelection rules, so several replicas of a controller agree
// that at most one is active.
//
// run() tries to acquire the Lease every retry_period (jittered up to 2.2x, as
// client-go): it creates the Lease when missing, and takes it over only when it
// is released (empty holder) or when `leaseDurationSeconds` of the record has
// passed on the LOCAL monotonic clock since this elector last observed a change
// in the record. The remote renewTime is never compared with the local clock.
// Once leading it renews every retry_period; when no renewal has succeeded for
// renew_deadline, or the Lease names another holder, it stops leading and run()
// returns. Every write carries the Lease's resourceVersion; a conflict means
// someone else wrote, and the next attempt re-reads.
//
// Leading sequence: on_started_leading(token) runs on its own thread. On loss
// or cancel: the token is stopped, that thread is joined (so the callback must
// return promptly once its token is stopped), on_stopped_leading() runs, and
// only then, on cancel with release_on_cancel, the Lease is released (empty
// holder, leaseDurationSeconds=1) so the next candidate takes over at its next
// retry. Unlike client-go, on_stopped_leading runs only if this elector did
// lead.
//
// Requests are synchronous: a request in flight delays step-down by up to the
// RestClient's timeout times its attempts, so give the client a timeout well
// below renew_deadline. is_leader() already answers false once renew_deadline
// has passed since the last successful renewal.
//
// Ownership: borrows the DynamicClient, which must outlive the elector.
// Thread-safety: run() from one thread at a time; is_leader() and leader() from
// any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <stop_token>
#include <string>

#include "setpoint/client/dynamic_client.h"
#include "setpoint/common/clock.h"
#include "setpoint/common/status.h"
#include "setpoint/runtime/env.h"
#include "setpoint/runtime/monotonic_clock.h"
#include "setpoint/types/coordination_v1.h"

namespace setpoint::runtime {

inline const client::GroupVersionResource& kLeasesResource = setpoint::types::GvrOf<setpoint::coordinationv1::Lease>();

struct LeaderCallbacks {
  // Runs on a thread of the elector's own; return when `leading` is stopped.
  std::function<void(std::stop_token leading)> on_started_leading;
  // Runs on run()'s thread after the leading work has returned.
  std::function<void()> on_stopped_leading;
  // Runs on run()'s thread whenever the observed (non-empty) holder changes,
  // own identity too.
  std::function<void(const std::string& identity)> on_new_leader;
};

struct LeaderElectionConfig {
  std::string lease_namespace = "default";
  std::string lease_name;
  std::string identity;  // unique per candidate, e.g. hostname + "_" + uuid
  // Must satisfy lease_duration > renew_deadline > 1.2 * retry_period > 0,
  // lease_duration >= 1 s (the Lease stores whole seconds; it is rounded up).
  Duration lease_duration = std::chrono::seconds(15);
  Duration renew_deadline = std::chrono::seconds(10);
  Duration retry_period = std::chrono::seconds(2);
  LeaderCallbacks callbacks;
  bool release_on_cancel = true;
  // Its steady clock (expiry, deadlines, waits), wall clock (only for the acquireTime/renewTime
  // written) and the retry jitter; null: DefaultEnv().
  EnvPtr env;
};

// The Lease's spec as this elector reads and writes it.
struct LeaderElectionRecord {
  std::string holder_identity;
  std::int64_t lease_duration_seconds = 0;
  std::string acquire_time, renew_time;  // MicroTime text, compared verbatim
  std::int64_t lease_transitions = 0;
  bool operator==(const LeaderElectionRecord&) const = default;
};

class LeaderElector {
 public:
  // BadRequest when the config breaks the rules above or lacks a name or
  // identity.
  static Result<std::unique_ptr<LeaderElector>> Create(client::DynamicClient& client, LeaderElectionConfig config);

  // Blocks until `stop` is requested (releasing the Lease if leading and
  // release_on_cancel) or until leadership, once held, is lost. Returns without
  // leading if stopped before acquiring.
  void run(std::stop_token stop);

  // True while leading and a renewal succeeded within renew_deadline.
  bool is_leader() const;
  // The holder identity last observed in the Lease ("" if none yet or
  // released).
  std::string leader() const;
  // Why the last attempt to acquire or renew the Lease failed (the API unreachable, its store
  // refusing writes); OK once an attempt succeeds or finds the Lease validly held by another. A
  // lost race (Conflict, AlreadyExists) is contention, not failure, and leaves it OK. Unavailable
  // before the first attempt.
  Status last_error() const;

 private:
  LeaderElector(client::DynamicClient& client, LeaderElectionConfig config);

  enum class Attempt { kAcquired, kHeldByOther, kFailed };
  Attempt try_acquire_or_renew();
  Attempt attempt(Status& error);  // try_acquire_or_renew's work; `error` says why on kFailed
  void release();
  void observe(const LeaderElectionRecord& record);
  // Waits until `deadline` on the injected clock; false when `stop` was
  // requested.
  bool wait_until(SteadyTime deadline, std::stop_token stop);
  Duration jittered_retry();

  client::DynamicClient& client_;
  const LeaderElectionConfig config_;

  // Confined to run()'s thread.
  LeaderElectionRecord observed_record_;
  bool observed_any_ = false;
  boost::json::object observed_object_;  // the Lease as last read or written by us
  SteadyTime observed_time_{};
  std::string reported_leader_;

  mutable std::mutex mu_;
  std::condition_variable cv_;  // wakes wait_until on stop or clock advance
  bool leading_ = false;        // GUARDED_BY(mu_)
  SteadyTime last_renew_{};     // GUARDED_BY(mu_)
  std::string leader_;          // GUARDED_BY(mu_)
  // Until the first attempt: a replica that has not reached the Lease yet is not running.
  Status last_error_ = Status::Unavailable("no attempt at the Lease yet");  // GUARDED_BY(mu_)
};
using LeaderElectorPtr = std::unique_ptr<LeaderElector>;

// "2006-01-02T15:04:05.000000Z": metav1.MicroTime, UTC.
std::string FormatMicroTime(WallTime t);

// The election record in a Lease object's spec (empty fields when absent).
LeaderElectionRecord LeaseRecord(const boost::json::object& lease);

}  // namespace setpoint::runtime
