// What a reconcile is asked to do (Request) and what it answers (ReconcileResult), and how the
// controller turns that answer into work-queue operations (apply_result).
//
// A ReconcileResult says exactly one of four things, so the ambiguous combinations of
// controller-runtime's `(Result{Requeue, RequeueAfter}, error)` cannot be expressed:
//   Done()            success: forget the key's failures, wait for the next event.
//   RequeueAfter(d)   success, but look again after d: forget failures, add_after(d).
//   Retry(status)     a transient error: rate-limited backoff (5 ms, 10 ms, 20 ms ... 1000 s).
//   Terminal(status)  an error retrying will not fix: forget, no requeue (a new event still runs).
// Value types; thread-compatible.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "setpoint/common/status.h"
#include "setpoint/runtime/monotonic_clock.h"

namespace setpoint::runtime {

class WorkQueue;

struct Request {
  std::string ns;  // empty for cluster-scoped objects
  std::string name;

  // client-go's MetaNamespaceKeyFunc: "ns/name", or "name" when ns is empty.
  std::string key() const { return ns.empty() ? name : ns + "/" + name; }
  // The inverse; nullopt for an empty name or more than one '/'.
  static std::optional<Request> FromKey(std::string_view key);

  friend bool operator==(const Request&, const Request&) = default;
};

class ReconcileResult {
 public:
  enum class Kind { kDone, kRequeueAfter, kRetry, kTerminal };

  static ReconcileResult Done() { return ReconcileResult(Kind::kDone, Duration::zero(), Status()); }
  // d <= 0 requeues at once (still forgetting the failure count).
  static ReconcileResult RequeueAfter(Duration d) { return ReconcileResult(Kind::kRequeueAfter, d, Status()); }
  static ReconcileResult Retry(Status error) {
    return ReconcileResult(Kind::kRetry, Duration::zero(), std::move(error));
  }
  static ReconcileResult Terminal(Status error) {
    return ReconcileResult(Kind::kTerminal, Duration::zero(), std::move(error));
  }
  // Done when `outcome` (a Status, or a write's Result) succeeded, else Retry with its error: the
  // last line of most reconciles.
  static ReconcileResult DoneOrRetry(const Status& outcome) { return outcome.ok() ? Done() : Retry(outcome); }
  template <typename T>
  static ReconcileResult DoneOrRetry(const Result<T>& outcome) {
    return outcome ? Done() : Retry(outcome.error());
  }

  Kind kind() const { return kind_; }
  bool is_error() const { return kind_ == Kind::kRetry || kind_ == Kind::kTerminal; }
  Duration requeue_after() const { return requeue_after_; }  // zero unless kRequeueAfter
  const Status& error() const { return error_; }             // Ok unless an error kind
  // The `result` label of controller_runtime_reconcile_total: success|requeue_after|error.
  std::string_view metric_result() const;

 private:
  ReconcileResult(Kind kind, Duration d, Status error) : kind_(kind), requeue_after_(d), error_(std::move(error)) {}
  Kind kind_;
  Duration requeue_after_;
  Status error_;
};

// What controller-runtime's reconcileHandler does with each answer. Call it before done(key).
void apply_result(WorkQueue& queue, const std::string& key, const ReconcileResult& result);

}  // namespace setpoint::runtime
