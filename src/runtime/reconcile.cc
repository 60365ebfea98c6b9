#include "setpoint/runtime/reconcile.h"

#include "setpoint/runtime/workqueue.h"

namespace setpoint::runtime {

std::optional<Request> Request::FromKey(std::string_view key) {
  const auto slash = key.find('/');
  if (slash == std::string_view::npos) {
    if (key.empty()) return std::nullopt;
    return Request{"", std::string(key)};
  }
  const std::string_view ns = key.substr(0, slash);
  const std::string_view name = key.substr(slash + 1);
  if (ns.empty() || name.empty() || name.find('/') != std::string_view::npos) return std::nullopt;
  return Request{std::string(ns), std::string(name)};
}

std::string_view ReconcileResult::metric_result() const {
  switch (kind_) {
    case Kind::kDone:
      return "success";
    case Kind::kRequeueAfter:
      return "requeue_after";
    case Kind::kRetry:
    case Kind::kTerminal:
      return "error";
  }
  return "error";
}

void apply_result(WorkQueue& queue, const std::string& key, const ReconcileResult& result) {
  switch (result.kind()) {
    case ReconcileResult::Kind::kDone:
      queue.forget(key);
      return;
    case ReconcileResult::Kind::kRequeueAfter:
      queue.forget(key);
      queue.add_after(key, result.requeue_after());
      return;
    case ReconcileResult::Kind::kRetry:
      queue.add_rate_limited(key);
      return;
    case ReconcileResult::Kind::kTerminal:
      // controller-runtime leaves the failure count alone here; forgetting it means a later
      // event-driven failure starts its backoff from 5 ms again, which is what a user expects.
      queue.forget(key);
      return;
  }
}

}  // namespace setpoint::runtime
