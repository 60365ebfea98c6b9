// The registry's snapshots, with the discovery (legacy and aggregated) and OpenAPI v3 documents
// rendered into each one when the set of CRDs changes.
#include <algorithm>
#include <functional>

#include <boost/json.hpp>

#include "apiserver/resources.h"
#include "apiserver/setpoint_kinds.h"
#include "setpoint/common/json.h"

namespace setpoint::apiserver {

namespace json = boost::json;

namespace {

// Kubernetes version priority: GA > beta > alpha, higher numbers first, others last by name.
std::tuple<int, int, int, std::string> VersionRank(const std::string& v) {
  int major = 0, minor = 0;
  int stage = 3;  // 0 = GA, 1 = beta, 2 = alpha, 3 = other
  if (v.size() > 1 && v[0] == 'v' && std::isdigit(static_cast<unsigned char>(v[1]))) {
    std::size_t i = 1;
    while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i]))) major = major * 10 + (v[i++] - '0');
    if (i == v.size())
      stage = 0;
    else if (v.compare(i, 4, "beta") == 0 || v.compare(i, 5, "alpha") == 0) {
      bool beta = v.compare(i, 4, "beta") == 0;
      i += beta ? 4 : 5;
      std::size_t start = i;
      while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i]))) minor = minor * 10 + (v[i++] - '0');
      if (i == v.size() && i > start) stage = beta ? 1 : 2;
    }
  }
  if (stage == 3) return {3, 0, 0, v};
  return {stage, -major, -minor, ""};
}

json::array Verbs() { return {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}; }

json::array ToArray(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

std::string HashHex(std::string_view s) {
  // FNV-1a 64; used only to make OpenAPI URLs change when content changes.
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llX", static_cast<unsigned long long>(h));
  return buf;
}

json::object AggregatedResource(const ResourceInfo& r, const std::string& version) {
  json::object o;
  o["resource"] = r.resource;
  o["responseKind"] = {{"group", r.group}, {"version", version}, {"kind", r.kind}};
  o["scope"] = r.namespaced ? "Namespaced" : "Cluster";
  o["singularResource"] = r.singular;
  o["verbs"] = Verbs();
  if (!r.short_names.empty()) o["shortNames"] = ToArray(r.short_names);
  if (!r.categories.empty()) o["categories"] = ToArray(r.categories);
  json::array subs;
  if (r.status_subresource)
    subs.push_back(json::object{{"subresource", "status"},
                                {"responseKind", {{"group", r.group}, {"version", version}, {"kind", r.kind}}},
                                {"verbs", json::array{"get", "patch", "update"}}});
  if (r.scale_subresource)
    subs.push_back(json::object{{"subresource", "scale"},
                                {"responseKind", {{"group", "autoscaling"}, {"version", "v1"}, {"kind", "Scale"}}},
                                {"verbs", json::array{"get", "patch", "update"}}});
  if (!subs.empty()) o["subresources"] = std::move(subs);
  return o;
}

json::object LegacyResource(const ResourceInfo& r) {
  json::object o;
  o["name"] = r.resource;
  o["singularName"] = r.singular;
  o["namespaced"] = r.namespaced;
  o["kind"] = r.kind;
  o["verbs"] = Verbs();
  if (!r.short_names.empty()) o["shortNames"] = ToArray(r.short_names);
  if (!r.categories.empty()) o["categories"] = ToArray(r.categories);
  o["storageVersionHash"] = HashHex(r.group + "/" + r.storage_version + "/" + r.kind).substr(0, 11);
  return o;
}

json::value ObjectMetaSchema() {
  auto str = [](const char* d) { return json::object{{"type", "string"}, {"description", d}}; };
  json::object props;
  props["name"] = str("Name must be unique within a namespace.");
  props["generateName"] = str("An optional prefix used by the server to generate a unique name.");
  props["namespace"] = str("The namespace the object belongs to.");
  props["uid"] = str("The unique in time and space value for this object, set by the server.");
  props["resourceVersion"] = str("An opaque value that represents the internal version of this object.");
  props["generation"] = {{"type", "integer"},
                         {"format", "int64"},
                         {"description", "A sequence number representing a specific generation of the desired state."}};
  props["creationTimestamp"] = {
      {"type", "string"}, {"format", "date-time"}, {"description", "The time this object was created."}};
  props["deletionTimestamp"] = {{"type", "string"},
                                {"format", "date-time"},
                                {"description", "The time after which this resource will be deleted."}};
  props["labels"] = {
      {"type", "object"},
      {"additionalProperties", {{"type", "string"}}},
      {"description", "Map of string keys and values that can be used to organize and categorize objects."}};
  props["annotations"] = {{"type", "object"},
                          {"additionalProperties", {{"type", "string"}}},
                          {"description", "Unstructured key value map stored with a resource."}};
  props["finalizers"] = {{"type", "array"},
                         {"items", {{"type", "string"}}},
                         {"description", "Must be empty before the object is deleted from the registry."}};
  props["ownerReferences"] = {{"type", "array"},
                              {"items", {{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}}},
                              {"description", "List of objects depended by this object."}};
  props["managedFields"] = {{"type", "array"},
                            {"items", {{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}}}};
  return json::object{{"type", "object"},
                      {"description", "ObjectMeta is metadata that all persisted resources must have."},
                      {"properties", std::move(props)}};
}

std::string SchemaName(const ResourceInfo& r, const std::string& version) {
  // com.example.v1.Widget (reversed group), io.k8s.api.core.v1.Namespace for core.
  if (r.group.empty()) return "io.k8s.api.core." + version + "." + r.kind;
  std::vector<std::string> parts;
  std::string g = r.group;
  std::size_t start = 0;
  while (true) {
    auto dot = g.find('.', start);
    parts.push_back(g.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  std::string out;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) out += *it + ".";
  return out + version + "." + r.kind;
}

json::object Operation(const ResourceInfo& r, const std::string& version, const std::string& action,
                       const std::string& op_id, bool with_validation) {
  json::array params;
  params.push_back({{"name", "dryRun"},
                    {"in", "query"},
                    {"schema", {{"type", "string"}}},
                    {"description", "When present, indicates that modifications should not be persisted."}});
  params.push_back({{"name", "fieldManager"}, {"in", "query"}, {"schema", {{"type", "string"}}}});
  if (with_validation)
    params.push_back({{"name", "fieldValidation"},
                      {"in", "query"},
                      {"schema", {{"type", "string"}}},
                      {"description",
                       "fieldValidation instructs the server on how to handle objects in the request containing "
                       "unknown or duplicate fields."}});
  json::object op;
  op["operationId"] = op_id;
  op["x-kubernetes-action"] = action;
  op["x-kubernetes-group-version-kind"] = {{"group", r.group}, {"version", version}, {"kind", r.kind}};
  op["parameters"] = std::move(params);
  op["responses"] = {{"200", {{"description", "OK"}}}};
  return op;
}

std::string OpenApiDoc(const std::string& gv_path, const std::vector<std::pair<ResourceInfoPtr, std::string>>& rs) {
  json::object paths;
  json::object schemas;
  schemas["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"] = ObjectMetaSchema();
  for (const auto& [r, version] : rs) {
    std::string base = "/" + gv_path + (r->namespaced ? "/namespaces/{namespace}/" : "/") + r->resource;
    json::object item;
    item["get"] = Operation(*r, version, "get", "read" + r->kind, false);
    item["put"] = Operation(*r, version, "put", "replace" + r->kind, true);
    item["patch"] = Operation(*r, version, "patch", "patch" + r->kind, true);
    item["delete"] = Operation(*r, version, "delete", "delete" + r->kind, false);
    paths[base + "/{name}"] = std::move(item);
    json::object coll;
    coll["get"] = Operation(*r, version, "list", "list" + r->kind, false);
    coll["post"] = Operation(*r, version, "post", "create" + r->kind, true);
    paths[base] = std::move(coll);
    if (r->status_subresource) {
      json::object st;
      st["get"] = Operation(*r, version, "get", "read" + r->kind + "Status", false);
      st["put"] = Operation(*r, version, "put", "replace" + r->kind + "Status", true);
      st["patch"] = Operation(*r, version, "patch", "patch" + r->kind + "Status", true);
      paths[base + "/{name}/status"] = std::move(st);
    }
    const VersionInfo* vi = r->version(version);
    json::object schema;
    if (vi && vi->openapi.is_object())
      schema = vi->openapi.get_object();
    else
      schema = {{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}};
    json::object& props = EnsureObject(schema, "properties");
    props["apiVersion"] = {
        {"type", "string"},
        {"description", "APIVersion defines the versioned schema of this representation of an object."}};
    props["kind"] = {{"type", "string"},
                     {"description", "Kind is a string value representing the REST resource this object represents."}};
    props["metadata"] = {{"$ref", "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"},
                         {"description", "Standard object's metadata."}};
    schema["x-kubernetes-group-version-kind"] =
        json::array{{{"group", r->group}, {"kind", r->kind}, {"version", version}}};
    schemas[SchemaName(*r, version)] = std::move(schema);
  }
  json::object doc;
  doc["openapi"] = "3.0.0";
  doc["info"] = {{"title", "Kubernetes"}, {"version", "v1.32.0"}};
  doc["paths"] = std::move(paths);
  doc["components"] = {{"schemas", std::move(schemas)}};
  return json::serialize(doc);
}

}  // namespace

Registry::Registry() { rebuild({}, 0); }

void Registry::advance(std::int64_t revision) {
  {
    std::lock_guard lock(mu_);
    auto cur = std::atomic_load(&snapshot_);
    if (cur->crd_revision >= revision) return;
    auto copy = std::make_shared<RegistrySnapshot>(*cur);
    copy->crd_revision = revision;
    std::atomic_store(&snapshot_, std::shared_ptr<const RegistrySnapshot>(std::move(copy)));
  }
  cv_.notify_all();
}

bool Registry::wait_for(std::int64_t revision, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return std::atomic_load(&snapshot_)->crd_revision >= revision; });
}

void Registry::rebuild(std::vector<ResourceInfoPtr> crds, std::int64_t crd_revision) {
  auto snap = std::make_shared<RegistrySnapshot>();
  snap->crd_revision = crd_revision;
  for (auto& r : BuiltinResources()) snap->resources.push_back(r);
  static const std::vector<ResourceInfoPtr> native = SetpointResources();
  for (auto& r : native) snap->resources.push_back(r);
  for (auto& r : snap->resources) snap->by_group_resource[r->group + "/" + r->resource] = r;
  // A CRD cannot redefine a kind served natively: the native one wins.
  for (auto& r : crds)
    if (snap->by_group_resource.emplace(r->group + "/" + r->resource, r).second) snap->resources.push_back(r);

  // group -> version -> resources, versions ordered by Kubernetes priority.
  std::map<std::string, std::map<std::string, std::vector<ResourceInfoPtr>>> groups;
  for (auto& r : snap->resources)
    for (auto& v : r->versions)
      if (v.served) groups[r->group][v.name].push_back(r);
  auto ordered_versions = [&](const std::string& g) {
    std::vector<std::string> vs;
    for (auto& [v, _] : groups[g]) vs.push_back(v);
    std::sort(vs.begin(), vs.end(), [](auto& a, auto& b) { return VersionRank(a) < VersionRank(b); });
    return vs;
  };

  json::array legacy_groups, agg_v2, agg_v2beta1, core_agg;
  json::object openapi_paths;
  for (auto& [g, versions] : groups) {
    auto vs = ordered_versions(g);
    json::array gvs;
    json::array agg_versions;
    for (auto& v : vs) {
      std::string gv = g.empty() ? v : g + "/" + v;
      gvs.push_back({{"groupVersion", gv}, {"version", v}});
      json::array agg_resources, legacy_resources;
      std::vector<std::pair<ResourceInfoPtr, std::string>> for_openapi;
      auto rs = versions[v];
      std::sort(rs.begin(), rs.end(), [](auto& a, auto& b) { return a->resource < b->resource; });
      for (auto& r : rs) {
        agg_resources.push_back(AggregatedResource(*r, v));
        legacy_resources.push_back(LegacyResource(*r));
        if (r->status_subresource)
          legacy_resources.push_back({{"name", r->resource + "/status"},
                                      {"singularName", ""},
                                      {"namespaced", r->namespaced},
                                      {"kind", r->kind},
                                      {"verbs", json::array{"get", "patch", "update"}}});
        if (r->scale_subresource)
          legacy_resources.push_back({{"name", r->resource + "/scale"},
                                      {"singularName", ""},
                                      {"namespaced", r->namespaced},
                                      {"group", "autoscaling"},
                                      {"version", "v1"},
                                      {"kind", "Scale"},
                                      {"verbs", json::array{"get", "patch", "update"}}});
        for_openapi.emplace_back(r, v);
      }
      agg_versions.push_back({{"version", v}, {"resources", std::move(agg_resources)}, {"freshness", "Current"}});
      std::string list_path = g.empty() ? "/api/" + v : "/apis/" + gv;
      snap->resource_lists[list_path] = json::serialize(json::object{{"kind", "APIResourceList"},
                                                                     {"apiVersion", "v1"},
                                                                     {"groupVersion", gv},
                                                                     {"resources", std::move(legacy_resources)}});
      std::string oa_path = g.empty() ? "api/" + v : "apis/" + gv;
      std::string doc = OpenApiDoc(oa_path, for_openapi);
      std::string hash = HashHex(doc);
      snap->openapi_hashes[oa_path] = hash;
      snap->openapi_docs[oa_path] = std::move(doc);
      openapi_paths[oa_path] = {{"serverRelativeURL", "/openapi/v3/" + oa_path + "?hash=" + hash}};
    }
    if (g.empty()) {
      json::object item{{"metadata", {{"creationTimestamp", nullptr}}}, {"versions", agg_versions}};
      core_agg.push_back(std::move(item));
      continue;
    }
    json::object preferred{{"groupVersion", g + "/" + vs.front()}, {"version", vs.front()}};
    json::object group_doc{
        {"kind", "APIGroup"}, {"apiVersion", "v1"}, {"name", g}, {"versions", gvs}, {"preferredVersion", preferred}};
    snap->group_docs["/apis/" + g] = json::serialize(group_doc);
    legacy_groups.push_back({{"name", g}, {"versions", gvs}, {"preferredVersion", preferred}});
    json::object item{{"metadata", {{"name", g}, {"creationTimestamp", nullptr}}}, {"versions", agg_versions}};
    agg_v2.push_back(item);
    agg_v2beta1.push_back(std::move(item));
  }
  snap->apis_legacy = json::serialize(
      json::object{{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", std::move(legacy_groups)}});
  snap->api_legacy = json::serialize(
      json::object{{"kind", "APIVersions"},
                   {"versions", json::array{"v1"}},
                   {"serverAddressByClientCIDRs", json::array{{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", ""}}}}});
  auto agg = [](const char* version, json::array items) {
    return json::serialize(json::object{{"kind", "APIGroupDiscoveryList"},
                                        {"apiVersion", std::string("apidiscovery.k8s.io/") + version},
                                        {"metadata", json::object{}},
                                        {"items", std::move(items)}});
  };
  snap->apis_aggregated_v2 = agg("v2", agg_v2);
  snap->apis_aggregated_v2beta1 = agg("v2beta1", agg_v2beta1);
  snap->api_aggregated_v2 = agg("v2", core_agg);
  snap->api_aggregated_v2beta1 = agg("v2beta1", core_agg);
  snap->openapi_root = json::serialize(json::object{{"paths", std::move(openapi_paths)}});
  {
    std::lock_guard lock(mu_);
    std::atomic_store(&snapshot_, std::shared_ptr<const RegistrySnapshot>(std::move(snap)));
  }
  cv_.notify_all();
}

}  // namespace setpoint::apiserver
