// Admission: what every write does to an object between decoding and the store, as pure
// functions of what they are given (no store, cache or HTTP behind them), in kube-apiserver's
// order: the strategy's preparation (PrepareForCreate / PrepareForUpdate: server-owned metadata,
// status or spec kept by subresource), mutating admission (normalisation of the config kinds,
// schema pruning and defaults), validation (schema, object metadata, the native kinds' rules), and
// validating admission (finalizers of an object being deleted, NamespaceLifecycle). Later stages
// (authorisation's outcome, audit, managedFields) join here, not in each verb.
//
// Thread-safety: the functions are reentrant; what they are given must not change under them.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "apiserver/resources.h"
#include "setpoint/common/clock.h"
#include "setpoint/common/status.h"

namespace setpoint::apiserver {

// What to do with unknown and duplicate fields: the fieldValidation parameter (absent: Warn, as
// upstream; the server's own writes: Strict).
enum class FieldValidation { kIgnore, kWarn, kStrict };

// What admission is told of one write.
struct AdmissionAttributes {
  const ResourceInfo* resource = nullptr;
  const VersionInfo* version = nullptr;  // the version written as (null: the storage version)
  std::string api_version;               // what the request's URL names, "v1" or "example.com/v1"
  std::string ns;                        // the request's namespace ("" for cluster-scoped)
  std::string subresource;               // update: "", "status" or "finalize"
  FieldValidation field_validation = FieldValidation::kStrict;
  WallTime now;
  const RegistrySnapshot* registry = nullptr;  // what is served: a CRD's names are checked against it
  // Another object as this server last knew it (a cached read, so it may be a moment behind the
  // store, as an admission webhook's informer is): group, resource, namespace, name. nullopt:
  // it does not exist (or nothing to look in). Null: no lookups (every object is missing).
  std::function<std::optional<boost::json::object>(std::string_view group, std::string_view resource,
                                                   std::string_view ns, std::string_view name)>
      lookup;
  // The object `lookup` finds, or nullopt.
  std::optional<boost::json::object> find(std::string_view group, std::string_view resource, std::string_view ns,
                                          std::string_view name) const {
    return lookup ? lookup(group, resource, ns, name) : std::nullopt;
  }
};

// What admission reports besides the object: warnings for the client (299 headers), and whether
// the name came from generateName (a create retries another on a collision).
struct AdmissionReport {
  std::vector<std::string> warnings;
  bool name_generated = false;
};

// A create: checks kind and apiVersion, sets the server-owned metadata (uid, creationTimestamp,
// generation 1, a name from generateName, the request's namespace), the kinds' own defaults, then
// AdmitObject; a CRD gets its cleanup finalizer and status. Errors: BadRequest, Invalid,
// MethodNotAllowed (the CRD terminates).
Status AdmitCreate(const AdmissionAttributes& a, boost::json::object& obj, AdmissionReport& report);

// An update of `old` (its name and namespace are the object's): the object to store, with the
// fields the subresource may not change taken from `old` (the main resource keeps status when the
// kind has a status subresource; /status changes status only; /finalize, a namespace's
// spec.finalizers only), server-owned metadata kept, AdmitObject, and generation bumped by a
// change outside metadata and status. Errors: BadRequest, Invalid.
Result<boost::json::object> AdmitUpdate(const AdmissionAttributes& a, const boost::json::object& old,
                                        boost::json::object incoming, AdmissionReport& report);

// The steps create and update share: the config kinds' normalisation or the schema's pruning,
// defaults and validation; unknown fields by field validation; object metadata; the native kinds'
// rules; and no new finalizers on an object being deleted. `old` is null for a create.
Status AdmitObject(const AdmissionAttributes& a, boost::json::object& obj, const boost::json::object* old,
                   AdmissionReport& report);

// NamespaceLifecycle for a create of `name` in `ns`: NotFound when the namespace (null) does not
// exist, Forbidden while it terminates.
Status AdmitNamespaceLifecycle(const ResourceInfo& res, std::string_view ns, std::string_view name,
                               const boost::json::object* namespace_object);

// NamespaceLifecycle for a delete: the namespaces the system lives in are immortal (Forbidden).
Status AdmitDelete(const ResourceInfo& res, std::string_view name);

// A CRD's status as the API server keeps it: NamesAccepted / Established (a name another CRD of
// the group serves is a conflict), Terminating while it is deleted, acceptedNames, storedVersions.
void SetCrdStatus(boost::json::object& crd, const RegistrySnapshot& registry, WallTime now);

}  // namespace setpoint::apiserver
