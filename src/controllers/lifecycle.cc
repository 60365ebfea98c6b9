#include "controllers/lifecycle.h"

#include <map>

#include <spdlog/spdlog.h>

#include "setpoint/api/finalizers.h"
#include "setpoint/common/json.h"
#include "setpoint/runtime/cache.h"
#include "setpoint/runtime/conditions.h"
#include "setpoint/runtime/object_helpers.h"

namespace setpoint::controllers {
namespace {

namespace json = boost::json;
using runtime::ReconcileResult;
using namespace std::chrono_literals;

// How soon to look again while content is still going (upstream estimates from grace periods;
// objects here have none, so a short poll).
constexpr auto kRecheck = 500ms;

bool Gone(const Status& s) { return s.code() == StatusCode::kNotFound; }

std::string Qualified(const client::GroupVersionResource& gvr) {
  return gvr.group.empty() ? gvr.resource : gvr.resource + "." + gvr.group;
}

// Deletes every object of `gvr` in `ns` ("" : all namespaces) that is not already being deleted.
// Counts what is left (including what was just asked to go) and the finalizers holding it.
struct Sweep {
  std::size_t remaining = 0;
  std::map<std::string, std::size_t> by_resource;   // "widgets.example.com" -> instances left
  std::map<std::string, std::size_t> by_finalizer;  // finalizer -> instances holding it
  std::vector<std::string> errors;
};

void SweepResource(client::DynamicClient& api, const client::GroupVersionResource& gvr, const std::string& ns,
                   Sweep& out) {
  auto list = api.list(gvr, ns);
  if (!list) {
    if (!Gone(list.error())) out.errors.push_back("list " + Qualified(gvr) + ": " + list.error().message());
    return;
  }
  for (const auto& item : list->items) {
    ++out.remaining;
    ++out.by_resource[Qualified(gvr)];
    for (const auto& f : runtime::finalizers(item)) ++out.by_finalizer[f];
    if (runtime::deletion_requested(item)) continue;
    client::DeleteOptions options;
    options.propagation_policy = "Background";
    options.precondition_uid = std::string(item.at("metadata").at("uid").as_string());
    auto r =
        api.remove(gvr, std::string(runtime::ObjectNamespace(item)), std::string(runtime::ObjectName(item)), options);
    if (!r && !Gone(r.error()) && r.error().code() != StatusCode::kConflict)
      out.errors.push_back("delete " + Qualified(gvr) + " " + std::string(runtime::ObjectName(item)) + ": " +
                           r.error().message());
  }
}

}  // namespace

Result<std::vector<client::DiscoveredResource>> NamespaceReconciler::namespaced_resources() {
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (discovered_.empty() || now - discovered_at_ > 2s) {
    auto all = client::DiscoverAll(rest_);
    if (!all) return Err(all.error());
    discovered_.clear();
    for (auto& r : *all)
      if (r.gvr.namespaced && r.has_verb("list") && r.has_verb("delete")) discovered_.push_back(std::move(r));
    discovered_at_ = now;
  }
  return discovered_;
}

ReconcileResult NamespaceReconciler::reconcile(const runtime::Request& req) {
  auto got = manager_.client().get(kNamespaces, "", req.name);
  if (!got) return Gone(got.error()) ? ReconcileResult::Done() : ReconcileResult::Retry(got.error());
  const json::object& ns = **got;
  if (!runtime::deletion_requested(ns)) return ReconcileResult::Done();
  const json::object* spec = GetObject(ns, "spec");
  const json::array* spec_finalizers = spec ? GetArray(*spec, "finalizers") : nullptr;
  bool ours = false;
  if (spec_finalizers)
    for (const auto& f : *spec_finalizers) ours = ours || (f.is_string() && f.get_string() == api::kNamespaceFinalizer);
  if (!ours) return ReconcileResult::Done();

  client::DynamicClient& api = manager_.client().uncached();
  auto resources = namespaced_resources();
  Sweep sweep;
  if (resources)
    for (const auto& r : *resources) SweepResource(api, r.gvr, req.name, sweep);

  // What blocks the deletion, in upstream's condition types and reasons.
  json::object updated = ns;
  json::array& conditions = EnsureObject(updated, "status")["conditions"].is_array()
                                ? updated["status"].as_object()["conditions"].as_array()
                                : updated["status"].as_object()["conditions"].emplace_array();
  const auto now = std::chrono::system_clock::now();
  runtime::set_condition(conditions,
                         {"NamespaceDeletionDiscoveryFailure", resources ? "False" : "True",
                          resources ? "ResourcesDiscovered" : "DiscoveryFailed",
                          resources ? "All resources successfully discovered"
                                    : "Discovery failed for some groups: " + resources.error().message(),
                          0, std::nullopt},
                         now);
  runtime::set_condition(conditions,
                         {"NamespaceDeletionGroupVersionParsingFailure", "False", "ParsedGroupVersions",
                          "All legacy kube types successfully parsed", 0, std::nullopt},
                         now);
  std::string errors;
  for (const auto& e : sweep.errors) errors += (errors.empty() ? "" : ", ") + e;
  runtime::set_condition(conditions,
                         {"NamespaceDeletionContentFailure", sweep.errors.empty() ? "False" : "True",
                          sweep.errors.empty() ? "ContentDeleted" : "ContentDeletionFailed",
                          sweep.errors.empty() ? "All content successfully deleted, may be waiting on finalization"
                                               : "Failed to delete all resource types, " + errors,
                          0, std::nullopt},
                         now);
  std::string left;
  for (const auto& [res, n] : sweep.by_resource)
    left += (left.empty() ? "" : ", ") + res + " has " + std::to_string(n) + " resource instances";
  runtime::set_condition(
      conditions,
      {"NamespaceContentRemaining", sweep.remaining ? "True" : "False",
       sweep.remaining ? "SomeResourcesRemain" : "ContentRemoved",
       sweep.remaining ? "Some resources are remaining: " + left : "All content successfully removed", 0, std::nullopt},
      now);
  std::string held;
  for (const auto& [f, n] : sweep.by_finalizer)
    held += (held.empty() ? "" : ", ") + f + " in " + std::to_string(n) + " resource instances";
  runtime::set_condition(
      conditions,
      {"NamespaceFinalizersRemaining", sweep.by_finalizer.empty() ? "False" : "True",
       sweep.by_finalizer.empty() ? "ContentHasNoFinalizers" : "SomeFinalizersRemain",
       sweep.by_finalizer.empty() ? "All content-preserving finalizers finished"
                                  : "Some content in the namespace has finalizers remaining: " + held,
       0, std::nullopt},
      now);
  if (updated != ns) {
    auto r = manager_.client().update_status(kNamespaces, "", updated);
    if (!r && !Gone(r.error()) && r.error().code() != StatusCode::kConflict) return ReconcileResult::Retry(r.error());
  }
  if (!resources) return ReconcileResult::Retry(resources.error());
  if (sweep.remaining > 0 || !sweep.errors.empty()) return ReconcileResult::RequeueAfter(kRecheck);

  // Empty: release the namespace through /finalize (spec.finalizers without ours).
  auto fresh = api.get(kNamespaces, "", req.name);
  if (!fresh) return Gone(fresh.error()) ? ReconcileResult::Done() : ReconcileResult::Retry(fresh.error());
  json::object body = *fresh;
  json::array kept;
  if (const json::object* s = GetObject(body, "spec"))
    if (const json::array* f = GetArray(*s, "finalizers"))
      for (const auto& v : *f)
        if (!(v.is_string() && v.get_string() == api::kNamespaceFinalizer)) kept.push_back(v);
  EnsureObject(body, "spec")["finalizers"] = std::move(kept);
  auto r =
      rest_.request(client::Method::kPut, client::ResourcePath(kNamespaces, "", req.name, "finalize"), ToJson(body));
  if (!r) return Gone(r.error()) ? ReconcileResult::Done() : ReconcileResult::Retry(r.error());
  if (r->status >= 300 && r->status != 404)
    return ReconcileResult::Retry(Status::Internal("finalize answered " + std::to_string(r->status)));
  spdlog::info("namespace {} deleted", req.name);
  return ReconcileResult::Done();
}

ReconcileResult CrdCleanupReconciler::reconcile(const runtime::Request& req) {
  auto got = manager_.client().get(kCrds, "", req.name);
  if (!got) return Gone(got.error()) ? ReconcileResult::Done() : ReconcileResult::Retry(got.error());
  const json::object& crd = **got;
  if (!runtime::deletion_requested(crd) || !runtime::has_finalizer(crd, api::kCrdCleanupFinalizer))
    return ReconcileResult::Done();
  const json::object* spec = GetObject(crd, "spec");
  const json::object* names = spec ? GetObject(*spec, "names") : nullptr;
  const json::array* versions = spec ? GetArray(*spec, "versions") : nullptr;
  if (!names || !versions)
    return ReconcileResult::Terminal(Status::Invalid("CRD " + req.name + " has no names or versions"));
  client::GroupVersionResource gvr{
      std::string(GetStringOr(*spec, "group", "")), "", std::string(GetStringOr(*names, "plural", "")),
      GetStringOr(*spec, "scope", "Namespaced") == "Namespaced", std::string(GetStringOr(*names, "kind", ""))};
  for (const auto& v : *versions)
    if (v.is_object() && v.as_object().contains("served") && v.as_object().at("served") == true && gvr.version.empty())
      gvr.version = std::string(GetStringOr(v.as_object(), "name", ""));
  client::DynamicClient& api = manager_.client().uncached();
  Sweep sweep;
  if (!gvr.version.empty()) SweepResource(api, gvr, "", sweep);
  if (!sweep.errors.empty()) return ReconcileResult::Retry(Status::Unavailable(sweep.errors.front()));
  if (sweep.remaining > 0) return ReconcileResult::RequeueAfter(kRecheck);
  // No instances left: the definition may go.
  auto fresh = api.get(kCrds, "", req.name);
  if (!fresh) return Gone(fresh.error()) ? ReconcileResult::Done() : ReconcileResult::Retry(fresh.error());
  if (!runtime::remove_finalizer(*fresh, api::kCrdCleanupFinalizer)) return ReconcileResult::Done();
  auto r = manager_.client().update(kCrds, "", *fresh);
  if (!r && !Gone(r.error())) return ReconcileResult::Retry(r.error());
  spdlog::info("customresourcedefinition {} deleted after its instances", req.name);
  return ReconcileResult::Done();
}

ReconcileResult EventTtlReconciler::reconcile(const runtime::Request& req) {
  auto got = manager_.client().get(kEvents, req.ns, req.name);
  if (!got) return Gone(got.error()) ? ReconcileResult::Done() : ReconcileResult::Retry(got.error());
  const json::object& ev = **got;
  // Upstream expires an Event a TTL after its last write (an etcd lease renewed on every write).
  // The nearest the object tells: the latest of its creation and the times it was last seen
  // (lastTimestamp, eventTime, series.lastObservedTime), which every aggregating write moves on.
  std::optional<WallTime> seen;
  auto later = [&](std::optional<std::string_view> s) {
    if (!s || s->empty()) return;
    if (auto t = ParseRfc3339(*s); t && (!seen || *t > *seen)) seen = t;
  };
  later(GetString(ev, "lastTimestamp"));
  later(GetString(ev, "eventTime"));
  if (const json::object* series = GetObject(ev, "series")) later(GetString(*series, "lastObservedTime"));
  if (const json::object* meta = GetObject(ev, "metadata")) later(GetString(*meta, "creationTimestamp"));
  if (!seen) return ReconcileResult::Done();
  const auto age = clock_->now() - *seen;
  if (age < ttl_)
    return ReconcileResult::RequeueAfter(std::chrono::duration_cast<runtime::Duration>(ttl_ - age) +
                                         std::chrono::seconds(1));
  client::DeleteOptions options;
  options.precondition_uid = std::string(ev.at("metadata").at("uid").as_string());
  auto r = manager_.client().remove(kEvents, req.ns, req.name, options);
  if (!r && !Gone(r.error()) && r.error().code() != StatusCode::kConflict) return ReconcileResult::Retry(r.error());
  return ReconcileResult::Done();
}

}  // namespace setpoint::controllers
