// ProcessSetReconciler: keeps `spec.replicas` Processes made from a ProcessSet's template
// (docs/design/agent.md, "ProcessSet"), as the Deployment and ReplicaSet controllers keep Pods.
//
// Children are the Processes whose controller owner reference is the set (blockOwnerDeletion, so
// a foreground delete of the set waits for them and the garbage collector cascades). Each carries
// `setpoint.dev/index` and `setpoint.dev/template-hash`. What to create, delete or hot-restart is
// decided by PlanProcessSet (processset_plan.h); this class reads the caches, performs the plan
// (deletes, creates, one in-place update), and writes status: replicas, readyReplicas,
// updatedReplicas, availableReplicas, observedGeneration, selector (for the scale subresource),
// templateHash, conditions Available and Progressing.
//
// A spec the controller cannot act on (no or an empty selector, a selector that does not select
// the template's labels, a malformed maxSurge/maxUnavailable) gets a Warning Event and a terminal
// error; the next change of the set runs it again.
//
// Thread-safety: reconcile() may run concurrently for different sets (the controller never runs
// one key on two workers).
#pragma once

#include "controllers/processset_plan.h"
#include "setpoint/common/clock.h"
#include "setpoint/runtime/manager.h"

namespace setpoint::controllers {

// Written with the typed SDK: the set and its children are views from the manager's cache (the
// children through the owner-uid index), writes are typed copies. The template hash is taken over
// the template as the server stored it, so it does not move with the typed defaults.
class ProcessSetReconciler {
 public:
  // `clock` stamps conditions and times minReadySeconds; null: the manager's Env's wall clock.
  explicit ProcessSetReconciler(runtime::Manager& manager, ClockPtr clock = nullptr);
  runtime::ReconcileResult reconcile(const runtime::Context& ctx, const runtime::Request& req);

 private:
  using ProcessSet = setpointv1alpha1::ProcessSet;
  using Process = setpointv1alpha1::Process;
  Status create_child(const runtime::Context& ctx, const ProcessSet& set, int index, const std::string& hash);
  Status hot_restart(const runtime::Context& ctx, const ProcessSet& set, const Process& child, const std::string& hash);
  Status write_status(const runtime::Context& ctx, const ProcessSet& set, const SetPlan& plan, int replicas,
                      const std::string& selector, const std::string& hash);

  runtime::Manager& manager_;
  const ClockPtr clock_;
};

// Builds the "processset" controller (For ProcessSets, Owns Processes) on the manager.
Result<runtime::ControllerPtr> BuildProcessSetController(runtime::Manager& manager, ProcessSetReconciler& reconciler);

}  // namespace setpoint::controllers
