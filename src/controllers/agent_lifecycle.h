// AgentLifecycle: notices agents that stopped renewing their Lease (docs/design/agent.md,
// "Agent lifecycle"), as kube-controller-manager's node lifecycle controller notices nodes.
//
// Each Agent is reconciled on changes of itself and of its Lease (kube-node-lease/<agent>), and
// again at the moment the Lease would lapse (RequeueAfter), so a lapse is seen within moments.
// An agent has lapsed when `renewTime + leaseDurationSeconds` is in the past — or, without a
// Lease, when it is older than `grace_without_lease`. Then:
//   - its Ready condition becomes Unknown / AgentStatusUnknown ("Agent stopped posting status.");
//   - every Process bound to it that is not Succeeded/Failed/Lost gets phase Lost, ready false,
//     Ready=False / AgentLost;
//   - the `setpoint.dev/agent` finalizer is removed from its Processes being deleted (the agent
//     cannot; without this a ProcessSet's replacement waits forever). The same holds for
//     Processes bound to an Agent that does not exist.
// An agent that renews again sets Ready=True and reports its Processes itself.
//
// Like upstream's node lifecycle controller, a controller that has just started (a server
// restart, a new leader) gives every agent a full lease duration from its own start before
// calling it lapsed: agents could not renew while no server was there to renew with.
//
// Thread-safety: reconcile() and the map functions may run concurrently (lapsed_ is guarded).
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "setpoint/common/clock.h"
#include "setpoint/runtime/manager.h"

namespace setpoint::controllers {

struct AgentLifecycleOptions {
  // How long an Agent may go without any Lease before it counts as lapsed (upstream's
  // node-monitor-grace-period plays this part).
  std::chrono::seconds grace_without_lease{40};
  ClockPtr clock;  // null: the system clock (the controller manager passes its Env's wall clock)
};

// Written with the typed SDK (setpoint/types/setpoint_v1alpha1.h, coordination_v1.h): it reads
// Agents, Leases and Processes as views from the manager's cache and writes typed copies.
class AgentLifecycle {
 public:
  explicit AgentLifecycle(AgentLifecycleOptions options = {});
  runtime::ReconcileResult reconcile(const runtime::Context& ctx, const runtime::Request& req);

  // The agent to look at for a Process event: one being deleted that still holds the agent's
  // finalizer, or one still running (by its phase) on an agent known to have lapsed.
  std::vector<runtime::Request> agent_of(const boost::json::object& process) const;

 private:
  // Removes the finalizer from `agent`'s Processes being deleted; marks the others Lost.
  Status release_processes(const runtime::Context& ctx, const std::string& agent, bool mark_lost);

  const AgentLifecycleOptions options_;
  const ClockPtr clock_;
  mutable std::mutex mu_;
  std::set<std::string, std::less<>> lapsed_;  // GUARDED_BY(mu_)
  std::optional<WallTime> started_;            // GUARDED_BY(mu_); the first reconcile
};

// Builds the "agentlifecycle" controller (Agents, their Leases, their Processes) on the manager.
// Limits the manager's Lease cache to kube-node-lease: call before anything else reads Leases
// through the manager.
Result<runtime::ControllerPtr> BuildAgentLifecycleController(runtime::Manager& manager, AgentLifecycle& lifecycle);

}  // namespace setpoint::controllers
