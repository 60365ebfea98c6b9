// Admission (admission.h): the steps every write takes between decoding and the store.

#include "apiserver/admission.h"

#include <algorithm>

#include <boost/json.hpp>

#include "api/validation_core.h"
#include "apiserver/api_context.h"
#include "apiserver/write_support.h"
#include "setpoint/api/finalizers.h"
#include "setpoint/api/validation.h"
#include "setpoint/common/json.h"
#include "setpoint/common/uuid.h"

namespace setpoint::apiserver {

namespace json = boost::json;

Status AdmitCreate(const AdmissionAttributes& a, json::object& obj, AdmissionReport& report) {
  const ResourceInfo& res = *a.resource;
  if (auto k = GetString(obj, "kind"); k && *k != res.kind)
    return Status::BadRequest("the kind of the provided object \"" + std::string(*k) +
                              "\" does not match the resource kind \"" + res.kind + "\"");
  if (auto av = GetString(obj, "apiVersion"); av && *av != a.api_version)
    return Status::BadRequest("the API version in the data (" + std::string(*av) +
                              ") does not match the expected API version (" + a.api_version + ")");
  obj["apiVersion"] = res.api_version(res.storage_version);
  obj["kind"] = res.kind;
  if (res.status_subresource && res.special != SpecialKind::kNamespace) obj.erase("status");
  if (res.special == SpecialKind::kNamespace) {
    EnsureObject(obj, "status")["phase"] = "Active";
    EnsureObject(obj, "spec")["finalizers"] = json::array{"kubernetes"};
  }
  if (res.terminating)
    return Status::MethodNotAllowed("create not allowed while custom resource definition is terminating");
  // Taken after the last insertion into `obj`: an insertion may rehash it and move its members.
  json::object& meta = EnsureObject(obj, "metadata");
  if (res.namespaced) {
    auto ns = GetString(meta, "namespace");
    if (ns && !ns->empty() && *ns != a.ns)
      return Status::BadRequest(
          "the namespace of the provided object does not match the namespace sent on the request");
    meta["namespace"] = a.ns;
  } else {
    meta.erase("namespace");
  }
  if (auto rv = GetString(meta, "resourceVersion"); rv && !rv->empty())
    return Status::BadRequest("resourceVersion should not be set on objects to be created");
  meta.erase("resourceVersion");
  for (const char* k : {"uid", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "managedFields"})
    meta.erase(k);
  meta["uid"] = NewUuid();
  meta["creationTimestamp"] = FormatRfc3339(a.now);
  if (res.generation) meta["generation"] = 1;
  std::string name(GetStringOr(meta, "name", ""));
  std::string generate(GetStringOr(meta, "generateName", ""));
  if (name.empty() && generate.empty())
    return InvalidStatus(res, "",
                         {{"FieldValueRequired", "Required value: name or generateName is required", "metadata.name"}});
  if (name.empty()) {
    meta["name"] = generate + RandomNameSuffix();
    report.name_generated = true;
  }
  if (Status s = AdmitObject(a, obj, nullptr, report); !s.ok()) return s;
  if (res.special == SpecialKind::kCustomResourceDefinition) {
    // Custom resources go before their definition: the CRD cleanup controller removes this.
    std::vector<std::string> f = Finalizers(obj);
    if (std::find(f.begin(), f.end(), api::kCrdCleanupFinalizer) == f.end()) f.emplace_back(api::kCrdCleanupFinalizer);
    SetFinalizers(EnsureObject(obj, "metadata"), f);
    if (a.registry) SetCrdStatus(obj, *a.registry, a.now);
  }
  return Status::Ok();
}

Result<json::object> AdmitUpdate(const AdmissionAttributes& a, const json::object& old, json::object incoming,
                                 AdmissionReport& report) {
  const ResourceInfo& res = *a.resource;
  const json::object* old_meta = GetObject(old, "metadata");
  if (!old_meta) return Err(Status::Internal("the stored object has no metadata"));
  json::object result;
  if (a.subresource == "status") {
    result = old;
    auto st = incoming.find("status");
    if (st != incoming.end())
      result["status"] = st->value();
    else
      result.erase("status");
  } else if (a.subresource == "finalize") {
    // A namespace's spec.finalizers, and nothing else (the namespace controller's last step).
    result = old;
    const json::object* spec = GetObject(incoming, "spec");
    const json::value* f = spec ? spec->if_contains("finalizers") : nullptr;
    if (f && !f->is_null()) {
      EnsureObject(result, "spec")["finalizers"] = *f;
    } else if (json::object* s = GetObject(result, "spec")) {
      s->erase("finalizers");
    }
  } else {
    result = std::move(incoming);
    if (auto k = GetString(result, "kind"); k && *k != res.kind)
      return Err(Status::BadRequest("the kind of the provided object \"" + std::string(*k) +
                                    "\" does not match the resource kind \"" + res.kind + "\""));
    if (res.status_subresource) {
      auto st = old.find("status");
      if (st != old.end())
        result["status"] = st->value();
      else
        result.erase("status");
    }
    json::object& meta = EnsureObject(result, "metadata");
    CopySystemMetadata(*old_meta, meta);
    meta.erase("managedFields");
    meta.erase("selfLink");
  }
  result["apiVersion"] = res.api_version(res.storage_version);
  result["kind"] = res.kind;
  json::object& meta = EnsureObject(result, "metadata");
  meta["name"] = GetStringOr(*old_meta, "name", "");
  if (res.namespaced) meta["namespace"] = GetStringOr(*old_meta, "namespace", "");
  if (Status s = AdmitObject(a, result, &old, report); !s.ok()) return Err(s);
  // generation: bumped by any change outside metadata and status (kinds without one keep the
  // stored value, copied above).
  if (res.generation) {
    std::int64_t generation = GetInt(*old_meta, "generation").value_or(1);
    if (WithoutMetaAndStatus(result) != WithoutMetaAndStatus(old)) ++generation;
    EnsureObject(result, "metadata")["generation"] = generation;
  }
  if (res.special == SpecialKind::kCustomResourceDefinition && a.registry) SetCrdStatus(result, *a.registry, a.now);
  return result;
}

Status AdmitNamespaceLifecycle(const ResourceInfo& res, std::string_view ns, std::string_view name,
                               const json::object* namespace_object) {
  if (!namespace_object) return Status::NotFound("namespaces \"" + std::string(ns) + "\" not found");
  if (IsDeleting(*namespace_object))
    return Status::Forbidden(res.qualified() + " \"" + std::string(name) +
                             "\" is forbidden: unable to create new content in namespace " + std::string(ns) +
                             " because it is being terminated");
  return Status::Ok();
}

Status AdmitDelete(const ResourceInfo& res, std::string_view name) {
  // The controller manager's Lease is in kube-system; `default` is where unqualified work goes.
  if (res.special == SpecialKind::kNamespace && (name == "default" || name == "kube-system" || name == "kube-public"))
    return Status::Forbidden("namespaces \"" + std::string(name) +
                             "\" is forbidden: this namespace may not be deleted");
  return Status::Ok();
}

void SetCrdStatus(json::object& crd, const RegistrySnapshot& reg, WallTime now_time) {
  // Create `status` first: inserting into `crd` later could rehash it under the pointers below.
  EnsureObject(crd, "status");
  EnsureObject(crd, "metadata");
  const json::object* spec = GetObject(crd, "spec");
  const json::object* names = spec ? GetObject(*spec, "names") : nullptr;
  std::string group(spec ? GetStringOr(*spec, "group", "") : "");
  std::string plural(names ? GetStringOr(*names, "plural", "") : "");
  std::string kind(names ? GetStringOr(*names, "kind", "") : "");
  std::string my_name(GetStringOr(*GetObject(crd, "metadata"), "name", ""));
  std::string conflict;
  for (const auto& r : reg.resources) {
    if (r->group != group || r->crd_name == my_name) continue;
    if (r->resource == plural)
      conflict = "\"" + plural + "\" is already in use";
    else if (r->kind == kind)
      conflict = "\"" + kind + "\" is already in use";
  }
  std::string now = FormatRfc3339(now_time);
  json::object& status = EnsureObject(crd, "status");
  json::array old_conditions;
  if (const json::array* c = GetArray(status, "conditions")) old_conditions = *c;
  auto condition = [&](const char* type, bool ok, const char* reason, std::string message) {
    std::string st = ok ? "True" : "False";
    std::string ltt = now;
    for (const auto& c : old_conditions)
      if (c.is_object() && GetStringOr(c.get_object(), "type", "") == type &&
          GetStringOr(c.get_object(), "status", "") == st)
        ltt = std::string(GetStringOr(c.get_object(), "lastTransitionTime", now));
    return json::object{{"type", type},
                        {"status", st},
                        {"lastTransitionTime", ltt},
                        {"reason", reason},
                        {"message", std::move(message)}};
  };
  json::array conditions;
  if (conflict.empty()) {
    conditions.push_back(condition("NamesAccepted", true, "NoConflicts", "no conflicts found"));
    conditions.push_back(
        condition("Established", true, "InitialNamesAccepted", "the initial names have been accepted"));
    if (names) status["acceptedNames"] = *names;
  } else {
    conditions.push_back(condition("NamesAccepted", false, "NameConflict", conflict));
    conditions.push_back(condition("Established", false, "NotAccepted", "not all names are accepted"));
  }
  if (IsDeleting(crd))
    conditions.push_back(
        condition("Terminating", true, "InstanceDeletionInProgress", "CustomResource deletion is in progress"));
  status["conditions"] = std::move(conditions);
  json::array stored;
  if (spec)
    if (const json::array* vs = GetArray(*spec, "versions"))
      for (const auto& v : *vs)
        if (v.is_object() && v.get_object().contains("storage") && v.get_object().at("storage") == true)
          stored.emplace_back(GetStringOr(v.get_object(), "name", ""));
  status["storedVersions"] = std::move(stored);
}

Status AdmitObject(const AdmissionAttributes& a, json::object& obj, const json::object* old, AdmissionReport& report) {
  const ResourceInfo& res = *a.resource;
  std::vector<StatusCause> causes;
  const VersionInfo* ver = res.version(res.storage_version);
  if (a.version) ver = a.version;
  std::vector<std::string> unknown;
  if (IsConfigKind(res)) {
    // What decoding into the typed object does upstream: field types, base64, unknown fields
    // dropped, Secret stringData merged into data and type defaulted.
    Status s = res.special == SpecialKind::kConfigMap ? api::NormalizeConfigMap(obj, &unknown)
                                                      : api::NormalizeSecret(obj, &unknown);
    if (!s.ok()) return s;
  } else if (ver && ver->schema) {
    json::value whole(std::move(obj));
    ver->schema->prune(whole, &unknown);
    ver->schema->apply_defaults(whole);
    ver->schema->validate(whole, causes);
    obj = std::move(whole.get_object());
  }
  if (!unknown.empty()) {
    if (a.field_validation == FieldValidation::kStrict) {
      std::string msg = "strict decoding error: ";
      for (std::size_t i = 0; i < unknown.size(); ++i)
        msg += (i ? ", " : "") + std::string("unknown field \"") + unknown[i] + "\"";
      return Status::BadRequest(msg);
    }
    if (a.field_validation == FieldValidation::kWarn)
      for (auto& u : unknown) report.warnings.push_back("unknown field \\\"" + u + "\\\"");
  }
  const json::object* meta = GetObject(obj, "metadata");
  std::string name(meta ? GetStringOr(*meta, "name", "") : "");
  if (meta) {
    api::NameRule rule =
        res.special == SpecialKind::kNamespace ? api::NameRule::kDNS1123Label : api::NameRule::kDNS1123Subdomain;
    api::ValidateObjectMeta(*meta, res.namespaced, rule, causes);
  }
  if (res.special == SpecialKind::kConfigMap) api::ValidateConfigMap(obj, old, causes);
  if (res.special == SpecialKind::kSecret) api::ValidateSecret(obj, old, causes);
  if (res.special == SpecialKind::kCustomResourceDefinition) {
    auto parsed = ResourceFromCrd(obj);
    if (!parsed)
      for (const auto& c : parsed.error().causes()) causes.push_back(c);
  }
  if (res.admit && causes.empty()) {
    if (Status s = res.admit(a, obj, old, report); !s.ok()) return s;
  }
  if (old && IsDeleting(*old)) {
    auto before = Finalizers(*old);
    std::vector<std::string> added;
    for (const auto& f : Finalizers(obj))
      if (std::find(before.begin(), before.end(), f) == before.end()) added.push_back("\"" + f + "\"");
    if (!added.empty()) {
      std::string list;
      for (std::size_t i = 0; i < added.size(); ++i) list += (i ? ", " : "") + added[i];
      causes.push_back(
          {"FieldValueForbidden",
           "Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{" +
               list + "}",
           "metadata.finalizers"});
    }
  }
  if (!causes.empty()) return InvalidStatus(res, name, std::move(causes));
  return Status::Ok();
}

}  // namespace setpoint::apiserver
