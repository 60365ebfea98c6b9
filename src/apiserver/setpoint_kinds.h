// setpoint's own kinds, served natively in group setpoint.dev/v1alpha1: Agent (cluster-scoped,
// one per supervising agent), Process (one supervised OS program) and ProcessSet (N replicas of
// a Process template with rolling or hot-restart updates and a scale subresource).
//
// They are defined the way a CRD would define them (OpenAPI schema with defaults, status and
// scale subresources, printer columns) and compiled by the same code, so validation, defaulting,
// pruning, `kubectl explain` and tables behave exactly as for custom resources; but they are not
// CRD objects in the store: they cannot be deleted or redefined, as upstream's built-ins cannot.
#pragma once

#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "apiserver/resources.h"

namespace setpoint::apiserver {

// The three kinds. Compiling them cannot fail for a well-formed build; a failure aborts startup
// with the compiler's causes (a programming error, caught by the tests).
std::vector<ResourceInfoPtr> SetpointResources();

// The CustomResourceDefinition-shaped documents the kinds are compiled from (for docs and tests).
std::vector<boost::json::object> SetpointKindDefinitions();

}  // namespace setpoint::apiserver
