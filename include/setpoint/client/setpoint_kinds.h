// The resources of setpoint's process supervision (group setpoint.dev, docs/design/agent.md) and
// the label, finalizer and namespace names their contract fixes — one definition for the agent,
// the built-in controllers and operators that work with Processes. Constants only.
#pragma once

#include <string_view>

#include "setpoint/client/dynamic_client.h"
#include "setpoint/types/coordination_v1.h"
#include "setpoint/types/setpoint_v1alpha1.h"

namespace setpoint::client {

inline const GroupVersionResource& kAgents = setpoint::types::GvrOf<setpoint::setpointv1alpha1::Agent>();
inline const GroupVersionResource& kProcesses = setpoint::types::GvrOf<setpoint::setpointv1alpha1::Process>();
inline const GroupVersionResource& kProcessSets = setpoint::types::GvrOf<setpoint::setpointv1alpha1::ProcessSet>();
inline const GroupVersionResource& kLeases = setpoint::types::GvrOf<setpoint::coordinationv1::Lease>();

// Where an agent's heartbeat Lease lives (named like the agent).
inline constexpr std::string_view kAgentLeaseNamespace = "kube-node-lease";
// On Processes made by a ProcessSet: the hash of the template, and the replica's index.
inline constexpr std::string_view kTemplateHashLabel = "setpoint.dev/template-hash";
inline constexpr std::string_view kIndexLabel = "setpoint.dev/index";
// Held by the agent while any OS process of a Process may still run.
inline constexpr std::string_view kAgentFinalizer = "setpoint.dev/agent";

}  // namespace setpoint::client
