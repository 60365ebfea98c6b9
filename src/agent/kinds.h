// The setpoint.dev resources and names (include/setpoint/client/setpoint_kinds.h), as the agent
// spells them.
#pragma once

#include "setpoint/client/setpoint_kinds.h"

namespace setpoint::agent {

using client::kAgentFinalizer;
using client::kAgentLeaseNamespace;
using client::kAgents;
using client::kIndexLabel;
using client::kLeases;
using client::kProcesses;

}  // namespace setpoint::agent
