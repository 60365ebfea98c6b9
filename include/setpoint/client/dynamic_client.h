// DynamicClient: CRUD, patch and watch on any resource, objects as JSON (unstructured).
//
// A thin layer over a borrowed RestClient that builds Kubernetes REST paths (`/api/v1/...` for the
// core group, `/apis/GROUP/VERSION/...` otherwise; namespaced or cluster-scoped), URL-encodes
// names and query values, and decodes answers. Errors are the RestClient's Statuses; an answer
// that is not the expected JSON is Internal. Thread-safe (stateless apart from the RestClient).
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "setpoint/client/rest_client.h"

namespace setpoint::client {

struct GroupVersionResource {
  std::string group;  // "" for the core group
  std::string version;
  std::string resource;  // plural, lower case: "configmaps"
  bool namespaced = true;
  std::string kind;  // filled by discover(); optional otherwise

  std::string api_version() const { return group.empty() ? version : group + "/" + version; }
};

struct ListOptions {
  std::string label_selector, field_selector;
  std::int64_t limit = 0;  // 0: no limit
  std::string continue_;
  std::string resource_version;
  std::string resource_version_match;  // NotOlderThan | Exact
  // Only the items' metadata (PartialObjectMetadataList; kind and apiVersion are then restored to
  // the resource's). A server that ignores the request sends whole objects, which are then cut.
  bool metadata_only = false;
};

struct ObjectList {
  std::vector<boost::json::object> items;
  std::string resource_version, continue_;
};

enum class PatchType { kMerge, kJson, kStrategicMerge };
std::string_view PatchContentType(PatchType t);

struct DeleteOptions {
  std::string propagation_policy;  // Orphan | Background | Foreground; empty: server default
  std::string precondition_uid, precondition_resource_version;
  std::optional<std::int64_t> grace_period_seconds;
};

struct WatchOptions {
  std::string resource_version;
  std::string label_selector, field_selector;
  bool allow_bookmarks = false;
  std::int64_t timeout_seconds = 0;  // 0: server default
  bool send_initial_events = false;  // WatchList; implies NotOlderThan and bookmarks (the end marker)
  // Events carry PartialObjectMetadata (see ListOptions::metadata_only); the caller restores kind
  // and apiVersion (RestoreTypeMeta) if it wants them.
  bool metadata_only = false;
};

class DynamicClient {
 public:
  explicit DynamicClient(RestClient& rest) : rest_(rest) {}

  // `ns` is ignored for cluster-scoped resources; for namespaced ones an empty `ns` in list()
  // and watch() means all namespaces, and in the other calls is BadRequest.
  Result<boost::json::object> get(const GroupVersionResource& gvr, std::string_view ns, std::string_view name);
  Result<ObjectList> list(const GroupVersionResource& gvr, std::string_view ns, const ListOptions& options = {});
  Result<boost::json::object> create(const GroupVersionResource& gvr, std::string_view ns,
                                     const boost::json::object& obj);
  // The name comes from obj.metadata.name; metadata.resourceVersion makes it a conditional update.
  Result<boost::json::object> update(const GroupVersionResource& gvr, std::string_view ns,
                                     const boost::json::object& obj);
  Result<boost::json::object> update_status(const GroupVersionResource& gvr, std::string_view ns,
                                            const boost::json::object& obj);
  Result<boost::json::object> patch(const GroupVersionResource& gvr, std::string_view ns, std::string_view name,
                                    PatchType type, std::string_view body, std::string_view subresource = {});
  // The server's answer: the object (still terminating, or as deleted) or a Status.
  Result<boost::json::object> remove(const GroupVersionResource& gvr, std::string_view ns, std::string_view name,
                                     const DeleteOptions& options = {});
  Result<WatchStreamPtr> watch(const GroupVersionResource& gvr, std::string_view ns, const WatchOptions& options = {});

  RestClient& rest() { return rest_; }

 private:
  RestClient& rest_;
};

// Accept headers asking for PartialObjectMetadata(List) first and plain JSON second.
inline constexpr std::string_view kAcceptPartialMetadata =
    "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json";
inline constexpr std::string_view kAcceptPartialMetadataList =
    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";
// A PartialObjectMetadata becomes an object of `gvr` again: its kind (when known) and apiVersion.
void RestoreTypeMeta(const GroupVersionResource& gvr, boost::json::object& obj);

// "/api/v1/namespaces/NS/configmaps/NAME/SUB" and friends; empty parts are left out.
std::string ResourcePath(const GroupVersionResource& gvr, std::string_view ns, std::string_view name = {},
                         std::string_view subresource = {});
// Percent-encodes everything but RFC 3986 unreserved characters.
std::string UrlEncode(std::string_view s);

// Finds the resource a user means by kind ("Deployment"), plural ("deployments"), singular or
// short name ("deploy"), optionally qualified by group ("deployments.apps"), case-insensitively,
// using aggregated discovery when the server offers it and the legacy documents otherwise.
// The preferred version of the first matching group wins (core first). NotFound when none does.
Result<GroupVersionResource> Discover(RestClient& rest, std::string_view kind_or_resource_or_shortname);

struct DiscoveredResource {
  GroupVersionResource gvr;  // kind filled
  std::vector<std::string> verbs;
  bool has_verb(std::string_view v) const { return std::find(verbs.begin(), verbs.end(), v) != verbs.end(); }
};
// Every resource the server serves (no subresources), in its group's preferred version.
Result<std::vector<DiscoveredResource>> DiscoverAll(RestClient& rest);

}  // namespace setpoint::client
