// The setpoint.dev resources and names (include/setpoint/client/setpoint_kinds.h), as the
// controllers spell them.
#pragma once

#include "setpoint/client/setpoint_kinds.h"

namespace setpoint::controllers {

using client::kAgentFinalizer;
using client::kAgentLeaseNamespace;
using client::kAgents;
using client::kIndexLabel;
using client::kLeases;
using client::kProcesses;
using client::kProcessSets;
using client::kTemplateHashLabel;

}  // namespace setpoint::controllers
