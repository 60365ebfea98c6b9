// Scheduler: binds Processes without an agent to a Ready Agent (docs/design/agent.md,
// "Scheduling"), as kube-scheduler binds Pods to Nodes.
//
// A Process with an empty spec.agentName and no deletionTimestamp goes to an Agent that is Ready,
// not unschedulable, not being deleted, whose labels match spec.agentSelector and that has room
// (status.capacity.processes, 0 = no limit, against the Processes bound to it that are not
// Succeeded/Failed/Lost). Among those: the fewest Processes of the same controller owner, then the
// fewest Processes, then the name. The bind is a conditional update of spec.agentName (the cached
// resourceVersion as precondition, so two schedulers never both win), then a status write:
// condition Scheduled=True. Without a candidate: phase Pending, Scheduled=False/Unschedulable with
// kube-scheduler's kind of message, and a FailedScheduling Event.
//
// Retries: any change of an Agent, and any Process that stops occupying an agent (finished, Lost,
// deleted), re-enqueue every unscheduled Process (looked up in the Process cache).
//
// Thread-safety: reconcile() is safe to call from several threads, but the controller runs one
// worker: a bind must be in the cache (read-your-writes) before the next Process is counted.
#pragma once

#include "setpoint/common/clock.h"
#include "setpoint/runtime/manager.h"
#include "setpoint/types/setpoint_v1alpha1.h"

namespace setpoint::controllers {

// Written with the typed SDK: Processes and Agents are views from the manager's cache.
class Scheduler {
 public:
  // `clock` stamps conditions; null: the manager's Env's wall clock.
  explicit Scheduler(runtime::Manager& manager, ClockPtr clock = nullptr);
  runtime::ReconcileResult reconcile(const runtime::Context& ctx, const runtime::Request& req);

  // The requests of every unscheduled Process the Process cache holds.
  std::vector<runtime::Request> unscheduled() const;

 private:
  runtime::ReconcileResult mark_scheduled(const setpointv1alpha1::Process& process);
  runtime::Manager& manager_;
  const ClockPtr clock_;
  runtime::SharedInformer processes_;  // the manager's Process informer, for unscheduled()
};

// Builds the "scheduler" controller on the manager (add() it).
Result<runtime::ControllerPtr> BuildSchedulerController(runtime::Manager& manager, Scheduler& scheduler);

}  // namespace setpoint::controllers
