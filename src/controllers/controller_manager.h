// ControllerManager: the built-in controllers of `setpoint server`, run by an SDK Manager that
// talks to the API server over its own HTTP API like any operator (DESIGN.md: one client for
// everyone).
//
//   garbagecollector        ownerReferences: background, foreground and orphan deletion
//   namespace               namespace deletion: content first, conditions, then /finalize
//   customresourcecleanup   CRD deletion: custom resources first
//   eventttl                Events older than the TTL go
//   scheduler               binds Processes without an agent to a Ready Agent
//   agentlifecycle          Agents whose Lease lapsed: Ready Unknown, their Processes Lost
//   processset              ProcessSets: replicas, rolling update, hot restart
//   bankreconciliation      Reconciliations against bank statements; FinancialAccount balances
//
// `controllers` selects them as kube-controller-manager's flag does: "*" for all, a name to add
// it, "-name" to leave it out ("*,-eventttl"). With leader election (default) only the server that
// holds the Lease kube-system/setpoint-controller-manager runs them; its identity is stable for a
// data directory, so a server restarted after a crash takes its own Lease back at once instead of
// waiting for it to expire. A replica that loses the Lease (or whose manager stops by itself)
// builds a new manager and campaigns again, in process: the API server it shares the process with
// keeps serving, and /readyz says the controllers are not running meanwhile.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "setpoint/client/rest_client.h"
#include "setpoint/common/status.h"

namespace setpoint::controllers {

struct ControllerManagerOptions {
  std::string controllers = "*";
  std::chrono::seconds event_ttl{3600};
  // agentlifecycle: how long an Agent may exist without a Lease before it counts as lapsed.
  std::chrono::seconds agent_grace_without_lease{40};
  bool leader_elect = true;
  std::string identity;  // the Lease holder; empty: <hostname>_<uuid>
  std::string lease_namespace = "kube-system";
  std::string lease_name = "setpoint-controller-manager";
  std::string health_listen;  // empty: none (inside the server, its /metrics serves ours)
};

// The names `controllers` may use.
const std::vector<std::string>& KnownControllers();
// Which of KnownControllers() the flag value enables; BadRequest for an unknown name.
Result<std::vector<std::string>> SelectControllers(const std::string& flag);

class ControllerManager {
 public:
  // Connects to `server_url` (plain HTTP on loopback), registers the selected controllers and
  // starts running them in the background.
  static Result<std::unique_ptr<ControllerManager>> Start(const std::string& server_url,
                                                          ControllerManagerOptions options);
  virtual ~ControllerManager() = default;
  // The Prometheus exposition of the manager (controllers, queues, collector, leader gauge).
  virtual std::string metrics_text() const = 0;
  virtual bool leading() const = 0;
  // Why the controllers are not running, for /readyz: stopped and about to campaign again, or
  // unable to acquire or renew the Lease. nullopt while they run — or while this replica waits,
  // healthy, for another that validly holds the Lease.
  virtual std::optional<std::string> not_running() const = 0;
  // How often a manager that stopped by itself (its Lease lost) was built again.
  virtual std::uint64_t restarts() const = 0;
  // Graceful: controllers finish their current reconcile, the Lease is released.
  virtual void stop() = 0;
};

}  // namespace setpoint::controllers
