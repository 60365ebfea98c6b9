// The resources of setpoint's process supervision (group setpoint.dev, docs/design/agent.md) and
// the label, finalizer and namespace names their contract fixes — one definition for the agent,
// the built-in controllers and operators that work with Processes. Constants only.
#pragma once

#include <string_view>

#include "setpoint/client/dynamic_client.h"

namespace setpoint::client {

inline const GroupVersionResource kAgents{"setpoint.dev", "v1alpha1", "agents", false, "Agent"};
inline const GroupVersionResource kProcesses{"setpoint.dev", "v1alpha1", "processes", true, "Process"};
inline const GroupVersionResource kProcessSets{"setpoint.dev", "v1alpha1", "processsets", true, "ProcessSet"};
inline const GroupVersionResource kLeases{"coordination.k8s.io", "v1", "leases", true, "Lease"};

// Where an agent's heartbeat Lease lives (named like the agent).
inline constexpr std::string_view kAgentLeaseNamespace = "kube-node-lease";
// On Processes made by a ProcessSet: the hash of the template, and the replica's index.
inline constexpr std::string_view kTemplateHashLabel = "setpoint.dev/template-hash";
inline constexpr std::string_view kIndexLabel = "setpoint.dev/index";
// Held by the agent while any OS process of a Process may still run.
inline constexpr std::string_view kAgentFinalizer = "setpoint.dev/agent";

}  // namespace setpoint::client
