// The resources and names the agent works with (docs/design/agent.md).
#pragma once

#include <string_view>

#include "setpoint/client/dynamic_client.h"

namespace setpoint::agent {

inline const client::GroupVersionResource kAgents{"setpoint.dev", "v1alpha1", "agents", false, "Agent"};
inline const client::GroupVersionResource kProcesses{"setpoint.dev", "v1alpha1", "processes", true, "Process"};
inline const client::GroupVersionResource kLeases{"coordination.k8s.io", "v1", "leases", true, "Lease"};
inline constexpr std::string_view kLeaseNamespace = "kube-node-lease";
inline constexpr std::string_view kAgentFinalizer = "setpoint.dev/agent";
inline constexpr std::string_view kIndexLabel = "setpoint.dev/index";

}  // namespace setpoint::agent
