// The admission every write shares, kube-apiserver's mutating and validating steps in one place:
// namespace lifecycle, defaults, schema pruning and validation, the native kinds' rules,
// metadata the server owns, finalizers, generation and CRD status; and the cache reads the write
// verbs judge preconditions against.

#include <boost/json.hpp>

#include "api/validation_core.h"
#include "apiserver/api_context.h"
#include "apiserver/api_handler.h"
#include "apiserver/write_support.h"
#include "setpoint/api/finalizers.h"
#include "setpoint/api/validation.h"
#include "setpoint/common/json.h"

namespace setpoint::apiserver {

namespace json = boost::json;

store::CachedObjectPtr ApiHandler::get_current(const std::string& key) {
  // Writes are answered before the cache applies them, so "absent from the cache" is only
  // believed once the cache has caught up with the store.
  if (auto obj = cache_.get(key)) return obj;
  wait_consistent();
  return cache_.get(key);
}

store::CachedObjectPtr ApiHandler::get_fresh(const std::string& key) {
  // After losing a write race: the winner is in the store, so the cache has it once it reaches the
  // store's current revision. (Not store_.get(): the sqlite store finds a key that is gone by a
  // scan, since `current` has no index on key.)
  wait_consistent();
  return cache_.get(key);
}

store::CachedObjectPtr ApiHandler::answer(const std::string& key, store::Revision rev, const store::Bytes& stored,
                                          json::object& obj) {
  // The bytes just stored, with the revision spliced in: what a get will serve, without a second
  // serialisation of the object.
  if (stored)
    if (auto spliced = store::SpliceRevision(key, *stored, rev)) return spliced;
  return written(key, rev, obj);
}

store::CachedObjectPtr ApiHandler::written(const std::string& key, store::Revision rev, json::object& obj) {
  // The response is built here rather than waiting for the cache to apply the write: a reader
  // that names this revision (watch, list, PUT precondition) waits for the cache to reach it,
  // and reads without one wait for the cache to reach the store's head.
  json::object& meta = EnsureObject(obj, "metadata");
  meta["resourceVersion"] = std::to_string(rev);
  auto out = std::make_shared<store::CachedObject>();
  out->revision = rev;
  out->adopt(key, json::serialize(obj));
  return out;
}

void ApiHandler::apply_crd_status(json::object& crd, const RegistrySnapshot& reg) {
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
  std::string now = FormatRfc3339(clock_->now());
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

Status ApiHandler::admit(Ctx& ctx, const ResourceInfo& res, json::object& obj, const json::object* old) {
  std::vector<StatusCause> causes;
  const VersionInfo* ver = res.version(res.storage_version);
  if (ctx.ver) ver = ctx.ver;
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
    if (ctx.strict()) {
      std::string msg = "strict decoding error: ";
      for (std::size_t i = 0; i < unknown.size(); ++i)
        msg += (i ? ", " : "") + std::string("unknown field \"") + unknown[i] + "\"";
      return Status::BadRequest(msg);
    }
    if (ctx.field_validation == Ctx::FieldValidation::kWarn)
      for (auto& u : unknown) ctx.warnings.push_back("unknown field \\\"" + u + "\\\"");
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
