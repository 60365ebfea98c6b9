// The finalizers the API server and the built-in lifecycle controllers agree on, as upstream
// spells them.
#pragma once

#include <string_view>

namespace setpoint::api {

// DELETE with propagationPolicy=Orphan: the garbage collector strips the owner's references from
// its dependents, then removes this.
inline constexpr std::string_view kOrphanFinalizer = "orphan";
// DELETE with propagationPolicy=Foreground: the dependents go first; the owner waits only for those
// with blockOwnerDeletion=true.
inline constexpr std::string_view kForegroundFinalizer = "foregroundDeletion";
// Every CRD: its custom resources are deleted before it goes.
inline constexpr std::string_view kCrdCleanupFinalizer = "customresourcecleanup.apiextensions.k8s.io";
// Every namespace, in spec.finalizers: its content is deleted before it goes (removed through the
// namespace's /finalize subresource).
inline constexpr std::string_view kNamespaceFinalizer = "kubernetes";

}  // namespace setpoint::api
