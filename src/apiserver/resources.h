// The resource registry: every kind the API server serves (built-in and CRD-defined), and the
// discovery and OpenAPI documents derived from them, rebuilt as one immutable snapshot whenever
// the set of CRDs changes. Readers take a shared_ptr to the current snapshot (no locks on the
// request path beyond one atomic load). Thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "setpoint/api/schema.h"
#include "setpoint/common/status.h"

namespace setpoint::apiserver {

struct AdmissionAttributes;
struct AdmissionReport;

// A natively served kind's own admission, run after its schema's (admission.h): it may mutate the
// object (defaults that need the time or another object) and reads other objects through the
// attributes' lookup. `old` is null for a create.
using KindAdmission = Status (*)(const AdmissionAttributes& a, boost::json::object& obj, const boost::json::object* old,
                                 AdmissionReport& report);

// A natively served kind's rule for deleting `obj` (which is as stored): non-Ok refuses it.
using KindDeleteAdmission = Status (*)(const AdmissionAttributes& a, const boost::json::object& obj);

struct PrinterColumn {
  std::string name;
  std::string type;  // string, integer, number, boolean, date
  std::string format;
  std::string description;
  std::string json_path;
  int priority = 0;
  // When not empty, the cell is not json_path's value but the number of members (object keys or
  // array items) found at these JSONPaths, summed: kubectl's DATA column of ConfigMap (data +
  // binaryData) and Secret. Built-in kinds only; CRD printer columns are JSONPaths.
  std::vector<std::string> count_paths;
};

enum class SpecialKind { kNone, kNamespace, kCustomResourceDefinition, kEvent, kLease, kConfigMap, kSecret };

struct VersionInfo {
  std::string name;
  bool served = true;
  bool storage = false;
  std::shared_ptr<const api::Schema> schema;  // null: preserve everything
  boost::json::value openapi;                 // the version's openAPIV3Schema (or null)
  std::vector<PrinterColumn> columns;
};

struct ResourceInfo {
  std::string group;  // "" for the core group
  std::string resource;
  std::string singular;
  std::string kind;
  std::string list_kind;
  bool namespaced = true;
  std::vector<std::string> short_names;
  std::vector<std::string> categories;
  std::vector<VersionInfo> versions;
  std::string storage_version;
  bool status_subresource = false;
  bool scale_subresource = false;
  std::string spec_replicas_path;    // ".spec.replicas"
  std::string status_replicas_path;  // ".status.replicas"
  std::string label_selector_path;   // ".status.selector"
  SpecialKind special = SpecialKind::kNone;
  bool builtin = false;  // an upstream built-in kind (strategic merge patch applies)
  // metadata.generation is set to 1 on create and bumped by changes outside metadata and status.
  // False for upstream kinds whose strategy never sets it (ConfigMap, Secret): there it stays
  // whatever the creator sent (normally absent), updates keep the stored value, and deletion
  // bumps it only when it is positive, as kube-apiserver's BeforeUpdate/BeforeDelete do.
  bool generation = true;
  std::set<std::string> selectable_fields;     // beyond metadata.name / metadata.namespace
  std::string crd_name;                        // for custom resources
  bool terminating = false;                    // its CRD is being deleted: no new objects
  KindAdmission admit = nullptr;               // a native kind's own rules (null: none)
  KindDeleteAdmission admit_delete = nullptr;  // and for a delete
  // `admit` reads other objects: a write first waits for the cache to apply every write answered
  // before it (on a worker), so that what admission reads is not older than the request.
  bool admit_reads_others = false;

  const VersionInfo* version(std::string_view v) const;
  std::string key_prefix() const;  // "/registry/<group|core>/<resource>/"
  std::string key(std::string_view ns, std::string_view name) const;
  std::string api_version(std::string_view v) const {
    return group.empty() ? std::string(v) : group + "/" + std::string(v);
  }
  std::string qualified() const { return group.empty() ? resource : resource + "." + group; }
};
using ResourceInfoPtr = std::shared_ptr<const ResourceInfo>;

// One consistent view of everything served, with pre-rendered discovery and OpenAPI bytes.
struct RegistrySnapshot {
  std::vector<ResourceInfoPtr> resources;
  std::map<std::string, ResourceInfoPtr> by_group_resource;  // "<group>/<resource>"
  std::int64_t crd_revision = 0;                             // store revision of the CRD state this snapshot reflects

  std::string apis_legacy;         // GET /apis (APIGroupList)
  std::string api_legacy;          // GET /api (APIVersions)
  std::string apis_aggregated_v2;  // GET /apis aggregated
  std::string apis_aggregated_v2beta1;
  std::string api_aggregated_v2;  // GET /api aggregated
  std::string api_aggregated_v2beta1;
  std::map<std::string, std::string> group_docs;      // "/apis/<g>" -> APIGroup
  std::map<std::string, std::string> resource_lists;  // "/apis/<g>/<v>" or "/api/v1" -> APIResourceList
  std::string openapi_root;                           // GET /openapi/v3
  std::map<std::string, std::string> openapi_docs;    // "apis/<g>/<v>" or "api/v1" -> document
  std::map<std::string, std::string> openapi_hashes;

  ResourceInfoPtr find(std::string_view group, std::string_view resource) const;
};
using RegistrySnapshotPtr = std::shared_ptr<const RegistrySnapshot>;

// Parses a CustomResourceDefinition object into a ResourceInfo, validating it as the API does.
// Errors: Invalid with causes.
Result<ResourceInfoPtr> ResourceFromCrd(const boost::json::object& crd);

// The upstream kinds served natively: Namespace, Event, ConfigMap, Secret, Lease,
// CustomResourceDefinition.
std::vector<ResourceInfoPtr> BuiltinResources();

class Registry {
 public:
  Registry();
  RegistrySnapshotPtr snapshot() const { return std::atomic_load(&snapshot_); }
  // Rebuilds from the built-ins plus these (already validated, name-accepted) CRD resources.
  void rebuild(std::vector<ResourceInfoPtr> crds, std::int64_t crd_revision);
  // Records that the CRD state is unchanged up to `revision` (no re-rendering).
  void advance(std::int64_t revision);
  // Blocks until a snapshot reflecting `revision` is published; false on timeout.
  bool wait_for(std::int64_t revision, std::chrono::milliseconds timeout) const;

 private:
  std::shared_ptr<const RegistrySnapshot> snapshot_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
};

}  // namespace setpoint::apiserver
