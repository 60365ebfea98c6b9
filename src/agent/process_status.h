// The status the agent writes for a Process (docs/design/agent.md "Process status"), computed
// from its supervision state. Pure; thread-compatible.
#pragma once

#include <string>

#include <boost/json/object.hpp>

#include "agent/supervised.h"

namespace setpoint::agent {

// The phase: Terminating, Failed, Succeeded, BackOff, Running (newest epoch ready), Starting.
std::string PhaseOf(const Supervised& s);

// The whole `status` object. Conditions other than Ready (the scheduler's Scheduled) are kept
// from the object as it was last seen; Ready keeps its lastTransitionTime unless it flips.
boost::json::object BuildStatus(const Supervised& s, const std::string& agent, WallTime now);

}  // namespace setpoint::agent
