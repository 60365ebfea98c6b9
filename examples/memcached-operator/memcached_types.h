// The Memcached kind (cache.example.com/v1alpha1) and the names the operator works with.
#pragma once

#include <string_view>

#include "setpoint/client/dynamic_client.h"
#include "setpoint/client/setpoint_kinds.h"

namespace memcached {

inline const setpoint::client::GroupVersionResource kMemcacheds{"cache.example.com", "v1alpha1", "memcacheds", true,
                                                                "Memcached"};
// The setpoint kinds it runs memcached with: a ProcessSet (like the tutorial's Deployment) whose
// Processes the agent keeps running.
using setpoint::client::kProcesses;
using setpoint::client::kProcessSets;

inline constexpr std::string_view kFinalizer = "cache.example.com/finalizer";
inline constexpr std::string_view kAvailable = "Available";
inline constexpr std::string_view kDegraded = "Degraded";

}  // namespace memcached
