// Discover(): resolve what a user typed ("deploy", "Deployment", "deployments.apps") to a
// GroupVersionResource, via aggregated discovery (one request per root) or the legacy documents.
#include <set>

#include <boost/json.hpp>

#include "setpoint/client/dynamic_client.h"
#include "setpoint/common/json.h"

namespace setpoint::client {

namespace json = boost::json;

namespace {

constexpr std::string_view kAggregatedAccept =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

struct Candidate {
  GroupVersionResource gvr;
  std::string singular;
  std::vector<std::string> short_names;
  std::vector<std::string> verbs;
};

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

bool Matches(const Candidate& c, std::string_view name) {
  if (IEquals(c.gvr.resource, name) || IEquals(c.gvr.kind, name) || IEquals(c.singular, name)) return true;
  for (const auto& s : c.short_names)
    if (IEquals(s, name)) return true;
  return false;
}

std::vector<std::string> StringArray(const json::object& o, std::string_view key) {
  std::vector<std::string> out;
  if (const json::array* a = GetArray(o, key))
    for (const auto& v : *a)
      if (v.is_string()) out.emplace_back(v.as_string());
  return out;
}

Result<json::object> GetJson(RestClient& rest, std::string_view path, std::string_view accept) {
  auto r = rest.request(Method::kGet, path, {}, {}, {{"Accept", std::string(accept)}});
  if (!r) return Err(r.error());
  auto v = ParseJson(r->body);
  if (!v || !v->is_object()) return Err(Status::Internal(std::string(path) + " did not answer with a JSON object"));
  return std::move(v->as_object());
}

// Aggregated: APIGroupDiscoveryList; each group's versions are in preference order.
void FromAggregated(const json::object& list, std::vector<Candidate>& out) {
  const json::array* groups = GetArray(list, "items");
  if (!groups) return;
  for (const auto& g : *groups) {
    if (!g.is_object()) continue;
    const json::object* meta = GetObject(g.as_object(), "metadata");
    std::string group(meta ? GetStringOr(*meta, "name", "") : "");
    const json::array* versions = GetArray(g.as_object(), "versions");
    if (!versions) continue;
    for (const auto& v : *versions) {
      if (!v.is_object()) continue;
      std::string version(GetStringOr(v.as_object(), "version", ""));
      const json::array* resources = GetArray(v.as_object(), "resources");
      if (!resources) continue;
      for (const auto& r : *resources) {
        if (!r.is_object()) continue;
        const auto& ro = r.as_object();
        Candidate c;
        c.gvr = {group, version, std::string(GetStringOr(ro, "resource", "")),
                 GetStringOr(ro, "scope", "Namespaced") == "Namespaced", ""};
        if (const json::object* rk = GetObject(ro, "responseKind"))
          c.gvr.kind = std::string(GetStringOr(*rk, "kind", ""));
        c.singular = std::string(GetStringOr(ro, "singularResource", ""));
        c.short_names = StringArray(ro, "shortNames");
        c.verbs = StringArray(ro, "verbs");
        out.push_back(std::move(c));
      }
    }
  }
}

// Legacy: APIResourceList of one group version; subresources ("pods/log") are skipped.
void FromResourceList(const json::object& list, std::string group, std::string version, std::vector<Candidate>& out) {
  const json::array* resources = GetArray(list, "resources");
  if (!resources) return;
  for (const auto& r : *resources) {
    if (!r.is_object()) continue;
    const auto& ro = r.as_object();
    std::string name(GetStringOr(ro, "name", ""));
    if (name.empty() || name.find('/') != std::string::npos) continue;
    Candidate c;
    bool namespaced = ro.contains("namespaced") && ro.at("namespaced").is_bool() && ro.at("namespaced").as_bool();
    c.gvr = {group, version, name, namespaced, std::string(GetStringOr(ro, "kind", ""))};
    c.singular = std::string(GetStringOr(ro, "singularName", ""));
    c.short_names = StringArray(ro, "shortNames");
    c.verbs = StringArray(ro, "verbs");
    out.push_back(std::move(c));
  }
}

Status CollectRoot(RestClient& rest, bool core, std::vector<Candidate>& out) {
  auto root = GetJson(rest, core ? "/api" : "/apis", kAggregatedAccept);
  if (!root) return root.error();
  if (GetStringOr(*root, "kind", "") == "APIGroupDiscoveryList") {
    FromAggregated(*root, out);  // the core group's entry has an empty name
    return Status::Ok();
  }
  if (core) {
    for (const auto& v : StringArray(*root, "versions")) {
      auto list = GetJson(rest, "/api/" + v, "application/json");
      if (!list) return list.error();
      FromResourceList(*list, "", v, out);
    }
    return Status::Ok();
  }
  const json::array* groups = GetArray(*root, "groups");
  if (!groups) return Status::Ok();
  for (const auto& g : *groups) {
    if (!g.is_object()) continue;
    std::string name(GetStringOr(g.as_object(), "name", ""));
    const json::object* pref = GetObject(g.as_object(), "preferredVersion");
    std::string version(pref ? GetStringOr(*pref, "version", "") : "");
    if (name.empty() || version.empty()) continue;
    auto list = GetJson(rest, "/apis/" + name + "/" + version, "application/json");
    if (!list) {
      if (list.error().code() == StatusCode::kNotFound) continue;  // group went away meanwhile
      return list.error();
    }
    FromResourceList(*list, name, version, out);
  }
  return Status::Ok();
}

}  // namespace

Result<GroupVersionResource> Discover(RestClient& rest, std::string_view what) {
  if (what.empty()) return Err(Status::BadRequest("no resource type given"));
  std::vector<Candidate> all;
  if (Status s = CollectRoot(rest, true, all); !s.ok()) return Err(std::move(s));
  if (Status s = CollectRoot(rest, false, all); !s.ok()) return Err(std::move(s));

  // "deployments.apps" / "deployment.v1.apps": a name qualified by [version.]group.
  std::string_view name = what, qualifier;
  if (auto dot = what.find('.'); dot != std::string_view::npos) {
    name = what.substr(0, dot);
    qualifier = what.substr(dot + 1);
  }
  // Aggregated discovery lists every version of a group, preferred first; the first match wins.
  for (const auto& c : all) {
    if (!Matches(c, name)) continue;
    if (qualifier.empty()) return c.gvr;
    if (IEquals(qualifier, c.gvr.group) || IEquals(qualifier, c.gvr.version + "." + c.gvr.group)) return c.gvr;
  }
  return Err(Status::NotFound("the server doesn't have a resource type \"" + std::string(what) + "\""));
}

Result<std::vector<DiscoveredResource>> DiscoverAll(RestClient& rest) {
  std::vector<Candidate> all;
  if (Status s = CollectRoot(rest, true, all); !s.ok()) return Err(std::move(s));
  if (Status s = CollectRoot(rest, false, all); !s.ok()) return Err(std::move(s));
  std::vector<DiscoveredResource> out;
  std::set<std::string> seen;
  for (auto& c : all) {
    // The first version listed for a group is its preferred one; later versions of a resource
    // already seen are the same objects.
    if (!seen.insert(c.gvr.group + "/" + c.gvr.resource).second) continue;
    out.push_back({std::move(c.gvr), std::move(c.verbs)});
  }
  return out;
}

}  // namespace setpoint::client
