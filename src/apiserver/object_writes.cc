// The mutating verbs: create, update (PUT), patch, delete and deletecollection, and the
// admission rules they share (defaults, schema, metadata, namespace lifecycle, finalizers,
// generation, no-op detection).
#include <charconv>
#include <limits>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "apiserver/api_context.h"
#include "apiserver/api_handler.h"
#include "apiserver/table.h"
#include "api/protobuf_core.h"
#include "api/validation_core.h"
#include "setpoint/api/finalizers.h"
#include "setpoint/api/patch.h"
#include "setpoint/api/validation.h"
#include "setpoint/api/yaml.h"
#include "setpoint/common/json.h"
#include "setpoint/common/uuid.h"

namespace setpoint::apiserver {

namespace json = boost::json;

namespace {

constexpr int kMaxConflictRetries = 32;

// The revision a write's resourceVersion (metadata or precondition) names: BadRequest when it is
// not a uint64 (or is 0, which no object has). A uint64 beyond int64 names no revision the store
// can reach: kUnreachableRevision, which conflicts with every object and is never waited for.
constexpr store::Revision kUnreachableRevision = std::numeric_limits<store::Revision>::max();
Result<store::Revision> WriteRevision(const std::string& rv) {
  auto v = ParseResourceVersion(rv);
  if (!v || *v == 0) return Err(Status::BadRequest("invalid resourceVersion: \"" + rv + "\""));
  return *v >= static_cast<std::uint64_t>(kUnreachableRevision) ? kUnreachableRevision
                                                                 : static_cast<store::Revision>(*v);
}

// Whether to wait for the cache to reach `want` before judging a precondition against `current`.
bool WorthWaitingFor(store::Revision want, store::Revision current) {
  return want > current && want != kUnreachableRevision;
}

std::string MediaType(std::string_view content_type) {
  std::string out;
  for (char c : content_type) {
    if (c == ';') break;
    if (c != ' ') out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

bool IsConfigKind(const ResourceInfo& r) { return r.special == SpecialKind::kConfigMap || r.special == SpecialKind::kSecret; }

Result<json::value> DecodeBody(const HttpRequest& req, bool strict, const ResourceInfo* res) {
  std::string type = MediaType(req.header("content-type"));
  if (req.body.empty()) return Err(Status::BadRequest("the body of the request was empty"));
  // kubectl 1.32+ (`create configmap|secret`) and protobuf-configured typed clients send these.
  if (type == api::kProtobufMediaType && res && IsConfigKind(*res)) {
    auto obj = api::DecodeProtobufObject(req.body);
    if (!obj) return Err(obj.error());
    return json::value(std::move(*obj));
  }
  if (type.empty() || type == "application/json" || type == "*/*") {
    if (strict)
      if (auto dup = FindDuplicateKey(req.body))
        return Err(Status::BadRequest("strict decoding error: duplicate field \"" + *dup + "\""));
    return ParseJson(req.body);
  }
  if (type == "application/yaml" || type == "application/x-yaml" || type == "text/yaml") {
    std::vector<std::string> duplicates;
    auto v = api::YamlToJson(req.body, kMaxJsonDepth, &duplicates);
    if (v && strict && !duplicates.empty())
      return Err(Status::BadRequest("strict decoding error: duplicate field \"" + duplicates.front() + "\""));
    return v;
  }
  return Err(Status::UnsupportedMediaType(
      "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml"));
}

Result<json::object> DecodeObject(const HttpRequest& req, bool strict, const ResourceInfo* res) {
  auto v = DecodeBody(req, strict, res);
  if (!v) return Err(v.error());
  if (!v->is_object()) return Err(Status::BadRequest("the body of the request must be a JSON object"));
  return std::move(v->get_object());
}

// Fields of metadata only the server sets.
void CopySystemMetadata(const json::object& from, json::object& to) {
  for (const char* k : {"uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"}) {
    auto it = from.find(k);
    if (it != from.end()) to[k] = it->value();
    else to.erase(k);
  }
}

json::object WithoutMetaAndStatus(const json::object& o) {
  json::object c = o;
  c.erase("metadata");
  c.erase("status");
  return c;
}

bool SameIgnoringVersion(const json::object& a, const json::object& b) {
  json::object x = a, y = b;
  if (auto* m = GetObject(x, "metadata")) {
    m->erase("resourceVersion");
    m->erase("managedFields");
  }
  if (auto* m = GetObject(y, "metadata")) {
    m->erase("resourceVersion");
    m->erase("managedFields");
  }
  return x == y;
}

std::vector<std::string> Finalizers(const json::object& obj) {
  std::vector<std::string> out;
  if (const json::object* meta = GetObject(obj, "metadata"))
    if (const json::array* f = GetArray(*meta, "finalizers"))
      for (const auto& v : *f)
        if (v.is_string()) out.emplace_back(v.get_string());
  return out;
}

bool HasSpecFinalizers(const json::object& obj) {
  const json::object* spec = GetObject(obj, "spec");
  const json::array* f = spec ? GetArray(*spec, "finalizers") : nullptr;
  return f && !f->empty();
}

void SetFinalizers(json::object& meta, const std::vector<std::string>& finalizers) {
  if (finalizers.empty()) {
    meta.erase("finalizers");
    return;
  }
  json::array a;
  for (const auto& f : finalizers) a.emplace_back(f);
  meta["finalizers"] = std::move(a);
}

std::string PropagationPolicy(const json::object& options) {
  if (auto p = GetString(options, "propagationPolicy"); p && !p->empty()) return std::string(*p);
  // The deprecated boolean, still sent by old clients.
  if (const auto* o = options.if_contains("orphanDependents"); o && o->is_bool()) return o->get_bool() ? "Orphan" : "Background";
  return "";
}

bool ApplyPropagationPolicy(const std::string& policy, std::vector<std::string>& finalizers) {
  if (policy.empty()) return false;
  const std::vector<std::string> before = finalizers;
  auto drop = [&](std::string_view f) { std::erase(finalizers, std::string(f)); };
  auto add = [&](std::string_view f) {
    if (std::find(finalizers.begin(), finalizers.end(), f) == finalizers.end()) finalizers.emplace_back(f);
  };
  if (policy == "Orphan") {
    drop(api::kForegroundFinalizer);
    add(api::kOrphanFinalizer);
  } else if (policy == "Foreground") {
    drop(api::kOrphanFinalizer);
    add(api::kForegroundFinalizer);
  } else {
    drop(api::kOrphanFinalizer);
    drop(api::kForegroundFinalizer);
  }
  return finalizers != before;
}

bool IsDeleting(const json::object& obj) {
  const json::object* meta = GetObject(obj, "metadata");
  return meta && meta->contains("deletionTimestamp") && !meta->at("deletionTimestamp").is_null();
}

Result<json::object> ParseCached(const store::CachedObject& o) {
  auto v = ParseJson(o.json);
  if (!v || !v->is_object()) return Err(Status::Internal("stored object " + std::string(o.key) + " is corrupt"));
  return std::move(v->get_object());
}

Status NotFound(const ResourceInfo& r, std::string_view name) {
  return Status::NotFound(r.qualified() + " \"" + std::string(name) + "\" not found");
}

Status ConflictStatus(const ResourceInfo& r, std::string_view name) {
  return Status::Conflict("Operation cannot be fulfilled on " + r.qualified() + " \"" + std::string(name) +
                          "\": the object has been modified; please apply your changes to the latest version and try again");
}

// Sets `obj` at a ".a.b" path (creating objects on the way).
void SetPath(json::object& obj, std::string_view path, json::value v) {
  json::object* cur = &obj;
  std::size_t i = path.starts_with(".") ? 1 : 0;
  while (true) {
    std::size_t dot = path.find('.', i);
    std::string_view part = path.substr(i, dot == std::string_view::npos ? std::string_view::npos : dot - i);
    if (dot == std::string_view::npos) {
      (*cur)[part] = std::move(v);
      return;
    }
    cur = &EnsureObject(*cur, part);
    i = dot + 1;
  }
}

}  // namespace

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
    if (r->resource == plural) conflict = "\"" + plural + "\" is already in use";
    else if (r->kind == kind) conflict = "\"" + kind + "\" is already in use";
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
    return json::object{{"type", type}, {"status", st}, {"lastTransitionTime", ltt}, {"reason", reason}, {"message", std::move(message)}};
  };
  json::array conditions;
  if (conflict.empty()) {
    conditions.push_back(condition("NamesAccepted", true, "NoConflicts", "no conflicts found"));
    conditions.push_back(condition("Established", true, "InitialNamesAccepted", "the initial names have been accepted"));
    if (names) status["acceptedNames"] = *names;
  } else {
    conditions.push_back(condition("NamesAccepted", false, "NameConflict", conflict));
    conditions.push_back(condition("Established", false, "NotAccepted", "not all names are accepted"));
  }
  if (IsDeleting(crd))
    conditions.push_back(condition("Terminating", true, "InstanceDeletionInProgress", "CustomResource deletion is in progress"));
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
    if (ctx.field_validation == "Strict") {
      std::string msg = "strict decoding error: ";
      for (std::size_t i = 0; i < unknown.size(); ++i) msg += (i ? ", " : "") + std::string("unknown field \"") + unknown[i] + "\"";
      return Status::BadRequest(msg);
    }
    if (ctx.field_validation == "Warn")
      for (auto& u : unknown) ctx.warnings.push_back("unknown field \\\"" + u + "\\\"");
  }
  const json::object* meta = GetObject(obj, "metadata");
  std::string name(meta ? GetStringOr(*meta, "name", "") : "");
  if (meta) {
    api::NameRule rule = res.special == SpecialKind::kNamespace ? api::NameRule::kDNS1123Label : api::NameRule::kDNS1123Subdomain;
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
      causes.push_back({"FieldValueForbidden",
                        "Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{" + list + "}",
                        "metadata.finalizers"});
    }
  }
  if (!causes.empty()) return InvalidStatus(res, name, std::move(causes));
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// create

Result<bool> ApiHandler::prepare_create(Ctx& ctx, json::object& obj, bool may_block) {
  const ResourceInfo& res = *ctx.res;
  if (auto k = GetString(obj, "kind"); k && *k != res.kind)
    return Err(Status::BadRequest("the kind of the provided object \"" + std::string(*k) + "\" does not match the resource kind \"" + res.kind + "\""));
  if (auto av = GetString(obj, "apiVersion"); av && *av != ctx.api_version())
    return Err(Status::BadRequest("the API version in the data (" + std::string(*av) + ") does not match the expected API version (" + ctx.api_version() + ")"));
  obj["apiVersion"] = res.api_version(res.storage_version);
  obj["kind"] = res.kind;
  if (res.status_subresource && res.special != SpecialKind::kNamespace) obj.erase("status");
  if (res.special == SpecialKind::kNamespace) {
    EnsureObject(obj, "status")["phase"] = "Active";
    EnsureObject(obj, "spec")["finalizers"] = json::array{"kubernetes"};
  }
  if (res.terminating)
    return Err(Status::MethodNotAllowed("create not allowed while custom resource definition is terminating"));
  // Taken after the last insertion into `obj`: an insertion may rehash it and move its members.
  json::object& meta = EnsureObject(obj, "metadata");
  if (res.namespaced) {
    auto ns = GetString(meta, "namespace");
    if (ns && !ns->empty() && *ns != ctx.ri.ns)
      return Err(Status::BadRequest("the namespace of the provided object does not match the namespace sent on the request"));
    meta["namespace"] = ctx.ri.ns;
  } else {
    meta.erase("namespace");
  }
  if (auto rv = GetString(meta, "resourceVersion"); rv && !rv->empty())
    return Err(Status::BadRequest("resourceVersion should not be set on objects to be created"));
  meta.erase("resourceVersion");
  for (const char* k : {"uid", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "managedFields"}) meta.erase(k);
  meta["uid"] = NewUuid();
  meta["creationTimestamp"] = FormatRfc3339(clock_->now());
  if (res.generation) meta["generation"] = 1;
  std::string name(GetStringOr(meta, "name", ""));
  std::string generate(GetStringOr(meta, "generateName", ""));
  if (name.empty() && generate.empty())
    return Err(InvalidStatus(res, "", {{"FieldValueRequired", "Required value: name or generateName is required", "metadata.name"}}));
  if (name.empty()) {
    meta["name"] = generate + RandomNameSuffix();
    ctx.name_generated = true;
  }
  if (Status s = admit(ctx, res, obj, nullptr); !s.ok()) return Err(s);
  if (res.special == SpecialKind::kCustomResourceDefinition) {
    // Custom resources go before their definition: the CRD cleanup controller removes this.
    std::vector<std::string> f = Finalizers(obj);
    if (std::find(f.begin(), f.end(), api::kCrdCleanupFinalizer) == f.end()) f.emplace_back(api::kCrdCleanupFinalizer);
    SetFinalizers(meta, f);
    apply_crd_status(obj, *ctx.reg);
  }
  if (res.namespaced) {
    // A namespace missing from the cache may have been created a moment ago (writes are answered
    // before the cache applies them): wait for the cache to reach the store's head before
    // concluding that it is missing.
    auto ns_obj = cache_.get("/registry/core/namespaces/" + ctx.ri.ns);
    if (!ns_obj) {
      if (!may_block) return false;
      wait_consistent();
      ns_obj = cache_.get("/registry/core/namespaces/" + ctx.ri.ns);
    }
    if (!ns_obj) return Err(Status::NotFound("namespaces \"" + ctx.ri.ns + "\" not found"));
    auto parsed = ParseCached(*ns_obj);
    if (parsed && IsDeleting(*parsed))
      return Err(Status::Forbidden(res.qualified() + " \"" + std::string(GetStringOr(EnsureObject(obj, "metadata"), "name", "")) +
                                   "\" is forbidden: unable to create new content in namespace " + ctx.ri.ns +
                                   " because it is being terminated"));
  }
  return true;
}

store::CachedObjectPtr ApiHandler::dry_run_result(const std::string& key, const json::object& obj) {
  auto out = std::make_shared<store::CachedObject>();
  out->adopt(key, json::serialize(obj));  // a dry run has no resourceVersion
  return out;
}

Result<store::CachedObjectPtr> ApiHandler::write_create(Ctx& ctx, json::object obj, int& http_code) {
  const ResourceInfo& res = *ctx.res;
  http_code = 201;
  auto prepared = prepare_create(ctx, obj, true);
  if (!prepared) return Err(prepared.error());
  std::string generate(GetStringOr(*GetObject(obj, "metadata"), "generateName", ""));
  for (int attempt = 0;; ++attempt) {
    json::object& m = EnsureObject(obj, "metadata");
    std::string final_name(GetStringOr(m, "name", ""));
    std::string key = res.key(ctx.ri.ns, final_name);
    if (ctx.dry_run) return dry_run_result(key, obj);
    store::Bytes stored = store::MakeBytes(EncodeForStorage(obj));
    auto rev = store_.create(key, stored);
    if (rev) return answer(key, *rev, stored, obj);
    if (rev.error().code() == StatusCode::kAlreadyExists) {
      if (!generate.empty() && ctx.name_generated && attempt < 8) {
        m["name"] = generate + RandomNameSuffix();
        continue;
      }
      return Err(Status::AlreadyExists(res.qualified() + " \"" + final_name + "\" already exists"));
    }
    return Err(rev.error());
  }
}

HttpResponse ApiHandler::do_create(Ctx& ctx) {
  auto body = DecodeObject(ctx.req, ctx.field_validation == "Strict", ctx.res.get());
  if (!body) return error(body.error(), &ctx);
  int code = 201;
  std::string name;
  if (const json::object* meta = GetObject(*body, "metadata")) name = std::string(GetStringOr(*meta, "name", ""));
  auto result = write_create(ctx, std::move(*body), code);
  if (!result) return error(result.error(), &ctx, name);
  if (ctx.res->special == SpecialKind::kCustomResourceDefinition && !ctx.dry_run)
    registry_.wait_for((*result)->revision, std::chrono::seconds(2));
  return object_response(ctx, code, *result);
}

// ---------------------------------------------------------------------------------------------
// update / patch

Result<ApiHandler::PreparedUpdate> ApiHandler::prepare_update(Ctx& ctx, const store::CachedObjectPtr& old,
                                                              json::object incoming, const std::string& sub) {
  const ResourceInfo& res = *ctx.res;
  auto old_obj = ParseCached(*old);
  if (!old_obj) return Err(old_obj.error());
  json::object result;
  if (sub == "status") {
    result = *old_obj;
    auto st = incoming.find("status");
    if (st != incoming.end()) result["status"] = st->value();
    else result.erase("status");
  } else if (sub == "finalize") {
    // A namespace's spec.finalizers, and nothing else (the namespace controller's last step).
    result = *old_obj;
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
      return Err(Status::BadRequest("the kind of the provided object \"" + std::string(*k) + "\" does not match the resource kind \"" + res.kind + "\""));
    if (res.status_subresource) {
      auto st = old_obj->find("status");
      if (st != old_obj->end()) result["status"] = st->value();
      else result.erase("status");
    }
    json::object& meta = EnsureObject(result, "metadata");
    CopySystemMetadata(*GetObject(*old_obj, "metadata"), meta);
    meta.erase("managedFields");
    meta.erase("selfLink");
  }
  result["apiVersion"] = res.api_version(res.storage_version);
  result["kind"] = res.kind;
  json::object& meta = EnsureObject(result, "metadata");
  meta["name"] = old->name();
  if (res.namespaced) meta["namespace"] = old->ns();
  if (Status s = admit(ctx, res, result, &*old_obj); !s.ok()) return Err(s);
  // generation: bumped by any change outside metadata and status (kinds without one keep the
  // stored value, copied above).
  if (res.generation) {
    std::int64_t generation = GetInt(*GetObject(*old_obj, "metadata"), "generation").value_or(1);
    if (WithoutMetaAndStatus(result) != WithoutMetaAndStatus(*old_obj)) ++generation;
    EnsureObject(result, "metadata")["generation"] = generation;
  }
  if (res.special == SpecialKind::kCustomResourceDefinition) apply_crd_status(result, *ctx.reg);
  EnsureObject(result, "metadata")["resourceVersion"] = std::to_string(old->revision);
  PreparedUpdate p;
  p.key = old->key;
  // Answers that write nothing (a no-op, a dry run) are only as good as the version they were
  // computed from: the store's compare-and-swap never checks them. Writes are answered before
  // the cache applies them, so make sure the cache is not behind the store first.
  bool no_op = SameIgnoringVersion(result, *old_obj);
  if ((no_op || ctx.dry_run) && cache_.revision() < store_.current_revision()) {
    p.stale = true;
    return p;
  }
  if (no_op) {
    p.finished = true;
    p.outcome.object = old;  // no-op: nothing written, no event
    return p;
  }
  // The object goes once nothing holds it: no finalizers (and for a namespace, no spec.finalizers).
  p.finalize = IsDeleting(result) && Finalizers(result).empty() &&
               (res.special != SpecialKind::kNamespace || !HasSpecFinalizers(result));
  if (ctx.dry_run) {
    p.finished = true;
    p.outcome.body = json::serialize(result);
    p.outcome.deleted = p.finalize;
    return p;
  }
  p.bytes = EncodeForStorage(result);
  p.result = std::move(result);
  return p;
}

Status ApiHandler::UpdateError(const ResourceInfo& res, const std::string& name, const Status& store_error) {
  if (store_error.code() == StatusCode::kConflict) return ConflictStatus(res, name);
  if (store_error.code() == StatusCode::kNotFound) return NotFound(res, name);
  return store_error;
}

Result<ApiHandler::UpdateOutcome> ApiHandler::write_update(Ctx& ctx, const store::CachedObjectPtr& old,
                                                           json::object incoming, const std::string& sub) {
  auto p = prepare_update(ctx, old, incoming, sub);
  if (!p) return Err(p.error());
  if (p->stale) {
    // Decide again once the cache has caught up: if the object moved on, the caller's version
    // is outdated (a PUT gets 409, a patch re-applies itself to the newer version).
    wait_consistent();
    auto fresh = cache_.get(old->key);
    if (!fresh) return Err(NotFound(*ctx.res, old->name()));
    if (fresh->revision != old->revision) return Err(ConflictStatus(*ctx.res, old->name()));
    p = prepare_update(ctx, fresh, std::move(incoming), sub);
    if (!p) return Err(p.error());
    if (p->stale) return Err(Status::Timeout("the cache did not catch up with the store"));
  }
  if (p->finished) return std::move(p->outcome);
  UpdateOutcome out;
  if (p->finalize) {
    // The last finalizer is gone from an object being deleted: the object goes now.
    auto rev = store_.remove(p->key, old->revision);
    if (!rev) return Err(UpdateError(*ctx.res, std::string(old->name()), rev.error()));
    out.object = written(p->key, *rev, p->result);
    out.deleted = true;
    return out;
  }
  store::Bytes stored = store::MakeBytes(std::move(p->bytes));
  auto rev = store_.update(p->key, stored, old->revision);
  if (!rev) return Err(UpdateError(*ctx.res, std::string(old->name()), rev.error()));
  out.object = answer(p->key, *rev, stored, p->result);
  return out;
}

HttpResponse ApiHandler::do_update(Ctx& ctx) {
  const ResourceInfo& res = *ctx.res;
  auto body = DecodeObject(ctx.req, ctx.field_validation == "Strict", ctx.res.get());
  if (!body) return error(body.error(), &ctx, ctx.ri.name);
  json::object& meta = EnsureObject(*body, "metadata");
  std::string body_name(GetStringOr(meta, "name", ""));
  if (!body_name.empty() && body_name != ctx.ri.name)
    return error(Status::BadRequest("the name of the object (" + body_name + ") does not match the name on the URL (" + ctx.ri.name + ")"), &ctx, ctx.ri.name);
  if (res.namespaced) {
    auto ns = GetString(meta, "namespace");
    if (ns && !ns->empty() && *ns != ctx.ri.ns)
      return error(Status::BadRequest("the namespace of the provided object does not match the namespace sent on the request"), &ctx, ctx.ri.name);
  }
  std::string rv(GetStringOr(meta, "resourceVersion", ""));
  if (ctx.ri.subresource == "scale") {
    const json::object* spec = GetObject(*body, "spec");
    auto replicas = spec ? GetInt(*spec, "replicas") : std::nullopt;
    if (!replicas || *replicas < 0)
      return error(InvalidStatus(res, ctx.ri.name, {{"FieldValueInvalid", "Invalid value: must be greater than or equal to 0", "spec.replicas"}}), &ctx, ctx.ri.name);
    auto old = get_current(res.key(ctx.ri.ns, ctx.ri.name));
    if (!old) return error(NotFound(res, ctx.ri.name), &ctx, ctx.ri.name);
    if (!rv.empty() && rv != std::to_string(old->revision)) return error(ConflictStatus(res, ctx.ri.name), &ctx, ctx.ri.name);
    auto obj = ParseCached(*old);
    if (!obj) return error(obj.error(), &ctx);
    SetPath(*obj, res.spec_replicas_path, *replicas);
    auto out = write_update(ctx, old, std::move(*obj), "");
    if (!out) return error(out.error(), &ctx, ctx.ri.name);
    ctx.ri.subresource = "";
    HttpRequest& req = ctx.req;
    (void)req;
    ctx.ri.verb = "get";
    ctx.ri.subresource = "scale";
    return do_get(ctx);
  }
  if (rv.empty())
    return error(InvalidStatus(res, ctx.ri.name, {{"FieldValueInvalid", "Invalid value: 0x0: must be specified for an update", "metadata.resourceVersion"}}), &ctx, ctx.ri.name);
  // The store's compare-and-swap decides; the cache only has to be as new as the version the
  // client names (waited for below when it is not).
  auto old = get_current(res.key(ctx.ri.ns, ctx.ri.name));
  if (!old) return error(NotFound(res, ctx.ri.name), &ctx, ctx.ri.name);
  auto parsed_rv = WriteRevision(rv);
  if (!parsed_rv) return error(parsed_rv.error(), &ctx, ctx.ri.name);
  const store::Revision want = *parsed_rv;
  if (WorthWaitingFor(want, old->revision) && cache_.wait_for(want, std::chrono::seconds(3))) {
    // The client knows a newer version than the cache has applied yet (its own write, answered
    // before the cache caught up): read again once the cache has it.
    old = cache_.get(res.key(ctx.ri.ns, ctx.ri.name));
    if (!old) return error(NotFound(res, ctx.ri.name), &ctx, ctx.ri.name);
  }
  if (want != old->revision) return error(ConflictStatus(res, ctx.ri.name), &ctx, ctx.ri.name);
  auto out = write_update(ctx, old, std::move(*body), ctx.ri.subresource);
  if (!out) return error(out.error(), &ctx, ctx.ri.name);
  if (!out->object) {
    HttpResponse r;
    r.body = out->body;
    return r;
  }
  return object_response(ctx, 200, out->object);
}

HttpResponse ApiHandler::do_patch(Ctx& ctx) {
  const ResourceInfo& res = *ctx.res;
  std::string type = MediaType(ctx.req.header("content-type"));
  bool strategic = type == "application/strategic-merge-patch+json";
  std::string accepted = res.builtin
      ? "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json"
      : "application/json-patch+json, application/merge-patch+json";
  if (type == "application/apply-patch+yaml" || type == "application/apply-patch+cbor")
    return error(Status::UnsupportedMediaType(type + " is not supported yet (server-side apply is not implemented): the body of the request was in an unknown format - accepted media types include: " + accepted), &ctx, ctx.ri.name);
  if (strategic && !res.builtin)
    return error(Status::UnsupportedMediaType("the body of the request was in an unknown format - accepted media types include: " + accepted), &ctx, ctx.ri.name);
  if (type != "application/merge-patch+json" && type != "application/json-patch+json" && !strategic)
    return error(Status::UnsupportedMediaType("the body of the request was in an unknown format - accepted media types include: " + accepted), &ctx, ctx.ri.name);
  auto patch = ParseJson(ctx.req.body);
  if (!patch) return error(patch.error(), &ctx, ctx.ri.name);
  if (type != "application/json-patch+json" && !patch->is_object())
    return error(Status::BadRequest("the body of the request must be a JSON object for " + type), &ctx, ctx.ri.name);
  // A patch that names metadata.resourceVersion makes it a precondition; otherwise the patch is
  // unconditional and is re-applied to the newest version after a write race.
  bool rv_precondition = false;
  if (patch->is_object()) {
    if (const json::object* m = GetObject(patch->get_object(), "metadata")) rv_precondition = m->contains("resourceVersion");
  } else if (patch->is_array()) {
    for (const auto& op : patch->get_array())
      if (op.is_object() && GetStringOr(op.get_object(), "path", "").starts_with("/metadata/resourceVersion")) rv_precondition = true;
  }
  bool lost_race = false;
  for (int attempt = 0; attempt < kMaxConflictRetries; ++attempt) {
    // After losing a race to another writer, re-read from the store: the cache may still lag it.
    auto old = lost_race ? get_fresh(res.key(ctx.ri.ns, ctx.ri.name)) : get_current(res.key(ctx.ri.ns, ctx.ri.name));
    if (!old) return error(NotFound(res, ctx.ri.name), &ctx, ctx.ri.name);
    auto base = ParseCached(*old);
    if (!base) return error(base.error(), &ctx);
    json::value target;
    bool scale = ctx.ri.subresource == "scale";
    if (scale) {
      json::value whole(*base);
      auto spec_r = EvalJsonPath(whole, res.spec_replicas_path);
      json::object s{{"kind", "Scale"}, {"apiVersion", "autoscaling/v1"},
                     {"metadata", {{"name", old->name()}, {"namespace", old->ns()}, {"resourceVersion", std::to_string(old->revision)}}},
                     {"spec", {{"replicas", !spec_r.empty() ? *spec_r[0] : json::value(0)}}}};
      target = std::move(s);
    } else {
      target = *base;
    }
    Result<json::value> patched = type == "application/merge-patch+json" ? api::ApplyMergePatch(target, *patch)
                                  : strategic ? api::ApplyStrategicMergePatch(target, *patch, api::DefaultStrategicMergeSchema())
                                              : api::ApplyJsonPatch(target, *patch);
    if (!patched) return error(patched.error(), &ctx, ctx.ri.name);
    if (!patched->is_object()) return error(Status::BadRequest("the patched object is not a JSON object"), &ctx, ctx.ri.name);
    json::object& pobj = patched->get_object();
    json::object& pmeta = EnsureObject(pobj, "metadata");
    std::string prv(GetStringOr(pmeta, "resourceVersion", ""));
    if (!prv.empty() && prv != std::to_string(old->revision)) {
      auto want = WriteRevision(prv);
      if (!want) return error(want.error(), &ctx, ctx.ri.name);
      // A precondition newer than the cache (the client's own, just-answered write): wait once.
      if (WorthWaitingFor(*want, old->revision) && attempt == 0 && cache_.wait_for(*want, std::chrono::seconds(3))) continue;
      return error(ConflictStatus(res, ctx.ri.name), &ctx, ctx.ri.name);
    }
    if (auto n = GetString(pmeta, "name"); n && *n != ctx.ri.name)
      return error(Status::BadRequest("the name of the object (" + std::string(*n) + ") does not match the name on the URL (" + ctx.ri.name + ")"), &ctx, ctx.ri.name);
    if (auto av = GetString(pobj, "apiVersion"); !scale && av && *av == ctx.api_version())
      pobj["apiVersion"] = res.api_version(res.storage_version);
    if (scale) {
      const json::object* spec = GetObject(pobj, "spec");
      auto replicas = spec ? GetInt(*spec, "replicas") : std::nullopt;
      if (!replicas || *replicas < 0)
        return error(InvalidStatus(res, ctx.ri.name, {{"FieldValueInvalid", "Invalid value: must be greater than or equal to 0", "spec.replicas"}}), &ctx, ctx.ri.name);
      SetPath(*base, res.spec_replicas_path, *replicas);
      pobj = *base;
    }
    auto out = write_update(ctx, old, std::move(pobj), scale ? "" : ctx.ri.subresource);
    if (!out) {
      if (out.error().code() == StatusCode::kConflict && !rv_precondition) {
        // Someone else wrote first: re-read (from the store) and re-apply, as GuaranteedUpdate does.
        lost_race = true;
        continue;
      }
      return error(out.error(), &ctx, ctx.ri.name);
    }
    if (scale) {
      ctx.ri.verb = "get";
      return do_get(ctx);
    }
    if (!out->object) {
      HttpResponse r;
      for (const auto& w : ctx.warnings) r.headers.emplace_back("Warning", "299 - \"" + w + "\"");
      r.body = out->body;
      return r;
    }
    return object_response(ctx, 200, out->object);
  }
  return error(ConflictStatus(res, ctx.ri.name), &ctx, ctx.ri.name);
}

// ---------------------------------------------------------------------------------------------
// delete

Result<ApiHandler::UpdateOutcome> ApiHandler::delete_object(Ctx& ctx, const ResourceInfo& res, const std::string& ns,
                                                            const std::string& name, const json::object& options) {
  // Upstream's NamespaceLifecycle admission: the namespaces the system lives in are immortal (the
  // controller manager's Lease is in kube-system).
  if (res.special == SpecialKind::kNamespace && (name == "default" || name == "kube-system" || name == "kube-public"))
    return Err(Status::Forbidden("namespaces \"" + name + "\" is forbidden: this namespace may not be deleted"));
  std::string key = res.key(ns, name);
  std::string want_uid, want_rv;
  if (const json::object* pre = GetObject(options, "preconditions")) {
    want_uid = std::string(GetStringOr(*pre, "uid", ""));
    want_rv = std::string(GetStringOr(*pre, "resourceVersion", ""));
  }
  store::Revision want_rev = 0;
  if (!want_rv.empty()) {
    auto parsed = WriteRevision(want_rv);
    if (!parsed) return Err(parsed.error());
    want_rev = *parsed;
  }
  for (int attempt = 0; attempt < kMaxConflictRetries; ++attempt) {
    auto old = get_current(key);
    if (!old) return Err(NotFound(res, name));
    auto obj = ParseCached(*old);
    if (!obj) return Err(obj.error());
    json::object& meta = EnsureObject(*obj, "metadata");
    std::string uid(GetStringOr(meta, "uid", ""));
    if (!want_uid.empty() && want_uid != uid)
      return Err(Status::Conflict("Precondition failed: UID in precondition: " + want_uid + ", UID in object meta: " + uid));
    if (want_rev && want_rev != old->revision && attempt == 0 && WorthWaitingFor(want_rev, old->revision) &&
        cache_.wait_for(want_rev, std::chrono::seconds(3)))
      continue;
    if (!want_rv.empty() && want_rv != std::to_string(old->revision))
      return Err(Status::Conflict("Precondition failed: ResourceVersion in precondition: " + want_rv + ", ResourceVersion in object meta: " + std::to_string(old->revision)));
    UpdateOutcome out;
    // Garbage collection: the propagation policy becomes a finalizer the collector acts on
    // (Orphan: `orphan`, Foreground: `foregroundDeletion`; Background: neither), as upstream's
    // deletionFinalizersForGarbageCollection. Without a policy the object keeps what it has.
    std::vector<std::string> finalizers = Finalizers(*obj);
    const bool gc_changed = ApplyPropagationPolicy(PropagationPolicy(options), finalizers);
    const bool ns_blocked = res.special == SpecialKind::kNamespace && HasSpecFinalizers(*obj);
    const bool graceful = !finalizers.empty() || ns_blocked;
    if (IsDeleting(*obj) && (graceful || !gc_changed)) {
      if (!gc_changed) {
        out.object = old;  // deletion already in progress
        return out;
      }
      SetFinalizers(meta, finalizers);  // a new policy for a deletion in progress
    } else if (graceful) {
      SetFinalizers(meta, finalizers);
      meta["deletionTimestamp"] = FormatRfc3339(clock_->now());
      meta["deletionGracePeriodSeconds"] = 0;
      std::int64_t generation = GetInt(meta, "generation").value_or(0);
      if (res.generation || generation > 0) meta["generation"] = generation + 1;
      if (res.special == SpecialKind::kNamespace) EnsureObject(*obj, "status")["phase"] = "Terminating";
      if (res.special == SpecialKind::kCustomResourceDefinition && ctx.reg) apply_crd_status(*obj, *ctx.reg);
    }
    if (graceful) {
      if (ctx.dry_run) {
        out.body = json::serialize(*obj);
        return out;
      }
      store::Bytes stored = store::MakeBytes(EncodeForStorage(*obj));
      auto rev = store_.update(key, stored, old->revision);
      if (!rev) {
        if (rev.error().code() == StatusCode::kConflict || rev.error().code() == StatusCode::kNotFound) {
          wait_consistent();
          continue;
        }
        return Err(rev.error());
      }
      out.object = answer(key, *rev, stored, *obj);
      return out;
    }
    if (ctx.dry_run) {
      out.object = old;
      out.deleted = true;
      return out;
    }
    if (res.special == SpecialKind::kCustomResourceDefinition) {
      // The CRD's custom resources go first (finalizers of custom resources are the lifecycle
      // controller's job; here they are removed with the definition).
      if (auto crd_res = ResourceFromCrd(*obj)) {
        store::Filter all;
        all.prefix = (*crd_res)->key_prefix();
        auto page = cache_.list(all, 0, "", 0);
        if (page)
          for (const auto& item : page->items) {
            auto r = store_.remove(std::string(item->key), 0);
            (void)r;
          }
      }
    }
    auto rev = store_.remove(key, old->revision);
    if (!rev) {
      if (rev.error().code() == StatusCode::kConflict) {
        wait_consistent();
        continue;
      }
      if (rev.error().code() == StatusCode::kNotFound) return Err(NotFound(res, name));
      return Err(rev.error());
    }
    out.object = old;
    out.deleted = true;
    return out;
  }
  return Err(ConflictStatus(res, name));
}

namespace {
Result<json::object> DeleteOptions(const HttpRequest& req, const QueryParams& q) {
  json::object opts;
  if (!req.body.empty()) {
    auto v = ParseJson(req.body);
    if (!v) return Err(v.error());
    if (!v->is_object()) return Err(Status::BadRequest("the body of a delete request must be a DeleteOptions object"));
    opts = std::move(v->get_object());
  }
  if (auto p = q.get("propagationPolicy")) opts["propagationPolicy"] = *p;
  if (auto p = opts.find("propagationPolicy"); p != opts.end() && !p->value().is_null()) {
    std::string v = p->value().is_string() ? std::string(p->value().get_string()) : "";
    if (v != "Orphan" && v != "Background" && v != "Foreground")
      return Err(Status::Invalid("DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"" + v +
                                 "\": supported values: \"Foreground\", \"Background\", \"Orphan\""));
  }
  if (auto g = q.get("gracePeriodSeconds")) {
    std::int64_t v = 0;
    auto [ptr, ec] = std::from_chars(g->data(), g->data() + g->size(), v, 10);
    if (g->empty() || ec != std::errc() || ptr != g->data() + g->size())
      return Err(Status::BadRequest("invalid gracePeriodSeconds: \"" + *g + "\""));
    opts["gracePeriodSeconds"] = v;
  }
  return opts;
}
}  // namespace

HttpResponse ApiHandler::do_delete(Ctx& ctx) {
  const ResourceInfo& res = *ctx.res;
  auto opts = DeleteOptions(ctx.req, ctx.q);
  if (!opts) return error(opts.error(), &ctx, ctx.ri.name);
  if (auto dr = opts->find("dryRun"); dr != opts->end() && dr->value().is_array())
    for (const auto& v : dr->value().get_array())
      if (v == "All") ctx.dry_run = true;
  auto out = delete_object(ctx, res, ctx.ri.ns, ctx.ri.name, *opts);
  if (!out) return error(out.error(), &ctx, ctx.ri.name);
  if (!out->object) {
    HttpResponse r;
    r.body = out->body;
    return r;
  }
  if (out->deleted) {
    json::object details{{"name", ctx.ri.name}, {"kind", res.resource}};
    if (!res.group.empty()) details["group"] = res.group;
    auto parsed = ParseCached(*out->object);
    if (parsed)
      if (const json::object* meta = GetObject(*parsed, "metadata")) details["uid"] = std::string(GetStringOr(*meta, "uid", ""));
    json::object st{{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", json::object()}, {"status", "Success"}, {"details", std::move(details)}};
    return json_response(ctx, 200, st);
  }
  return object_response(ctx, 200, out->object);
}

HttpResponse ApiHandler::do_delete_collection(Ctx& ctx) {
  const ResourceInfo& res = *ctx.res;
  auto opts = DeleteOptions(ctx.req, ctx.q);
  if (!opts) return error(opts.error(), &ctx);
  std::string prefix = res.key_prefix();
  if (res.namespaced && !ctx.ri.ns.empty()) prefix += ctx.ri.ns + "/";
  auto filter = make_filter(ctx, prefix);
  if (!filter) return error(filter.error(), &ctx);
  wait_consistent();
  auto page = cache_.list(*filter, 0, "", 0);
  if (!page) return error(page.error(), &ctx);
  std::string out = "{\"kind\":\"" + res.list_kind + "\",\"apiVersion\":\"" + ctx.api_version() +
                    "\",\"metadata\":{\"resourceVersion\":\"" + std::to_string(page->revision) + "\"},\"items\":[";
  bool first = true;
  std::optional<Status> refused;  // as upstream: the others are still deleted, the answer is the error
  for (const auto& item : page->items) {
    auto r = delete_object(ctx, res, std::string(item->ns()), std::string(item->name()), *opts);
    if (!r && r.error().code() == StatusCode::kForbidden) {
      if (!refused) refused = r.error();
      continue;
    }
    if (!r && r.error().code() != StatusCode::kNotFound) return error(r.error(), &ctx, item->name());
    if (!first) out.push_back(',');
    first = false;
    out += item->json;
  }
  if (refused) return error(*refused, &ctx);
  out += "]}";
  HttpResponse r;
  r.body = std::move(out);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Internal callers

Status ApiHandler::create_internal(const std::string& group, const std::string& resource, const std::string& ns,
                                   json::object object) {
  HttpRequest req;
  Ctx ctx(req, QueryParams::Parse(""));
  ctx.reg = registry_.snapshot();
  ctx.res = ctx.reg->find(group, resource);
  if (!ctx.res) return Status::NotFound("no such resource " + resource);
  ctx.ri.group = group;
  ctx.ri.version = ctx.res->storage_version;
  ctx.ri.resource = resource;
  ctx.ri.ns = ns;
  ctx.ri.verb = "create";
  ctx.ver = ctx.res->version(ctx.ri.version);
  int code = 0;
  auto r = write_create(ctx, std::move(object), code);
  return r ? Status::Ok() : r.error();
}

}  // namespace setpoint::apiserver

// ---------------------------------------------------------------------------------------------
// The non-blocking create path. POST is the hot write path: running it on the I/O thread up to
// the store, and answering from the store's commit callback, saves two thread hand-offs per
// request (a context switch each) against the worker pool. Anything that might block — a CRD
// (the registry wait), a namespace not in the cache yet — goes to the worker pool instead.

namespace setpoint::apiserver {

bool ApiHandler::accepts_async(const HttpRequest& request) const {
  return (request.method == "POST" || request.method == "PUT") && run_blocking_ && !shutting_down_;
}

void ApiHandler::handle_async(HttpRequest& request, std::function<void(HttpResponse)> respond) {
  auto blocking = [this, &request, respond] { respond(handle(request)); };
  auto ri = ParseRequestInfo(request.method, request.path, false);
  if (!ri) return run_blocking_(blocking);
  bool create = ri->verb == "create" && ri->name.empty();
  bool update = ri->verb == "update" && (ri->subresource.empty() || ri->subresource == "status");
  if (!create && !update) return run_blocking_(blocking);
  auto ctx = std::make_shared<Ctx>(request, QueryParams::Parse(request.query));
  ctx->ri = std::move(*ri);
  auto user = authn_->authenticate(request);
  if (!user) return run_blocking_(blocking);
  ctx->user = std::move(*user);
  ctx->reg = registry_.snapshot();
  ctx->res = ctx->reg->find(ctx->ri.group, ctx->ri.resource);
  if (!ctx->res || ctx->res->special == SpecialKind::kCustomResourceDefinition) return run_blocking_(blocking);
  auto finish = [this, ctx, respond](HttpResponse r) {
    metrics_.observe(RequestLabelsOf(ctx->req, ctx.get()), r.status, std::chrono::steady_clock::now() - ctx->started);
    respond(std::move(r));
  };
  try {
    if (auto err = check_resource_request(*ctx, false)) return finish(std::move(*err));
    auto body = DecodeObject(request, ctx->field_validation == "Strict", ctx->res.get());
    if (!body) return finish(error(body.error(), ctx.get(), ctx->ri.name));
    if (update) return update_async(ctx, std::move(*body), blocking, std::move(finish));
    std::string name;
    if (const json::object* meta = GetObject(*body, "metadata")) name = std::string(GetStringOr(*meta, "name", ""));
    json::object obj = std::move(*body);
    auto prepared = prepare_create(*ctx, obj, false);
    if (!prepared) return finish(error(prepared.error(), ctx.get(), name));
    if (!*prepared) return run_blocking_(blocking);  // nothing was written: start over on a worker
    create_async(ctx, std::move(obj), std::move(finish));
  } catch (const std::exception& e) {
    finish(error(Status::Internal(std::string("internal error: ") + e.what()), ctx.get()));
  }
}

void ApiHandler::create_async(std::shared_ptr<Ctx> ctx, json::object obj, std::function<void(HttpResponse)> respond) {
  const ResourceInfo& res = *ctx->res;
  std::string name(GetStringOr(*GetObject(obj, "metadata"), "name", ""));
  std::string key = res.key(ctx->ri.ns, name);
  if (ctx->dry_run) return respond(object_response(*ctx, 201, dry_run_result(key, obj)));
  store::Bytes stored = store::MakeBytes(EncodeForStorage(obj));
  // The callback runs on the store's writer thread; the object moves into it for a retry.
  auto state = std::make_shared<json::object>(std::move(obj));
  store_.create_async(key, stored, [this, ctx, state, key, name, stored, respond](Result<store::Revision> rev) mutable {
    if (rev) return respond(object_response(*ctx, 201, answer(key, *rev, stored, *state)));
    if (rev.error().code() == StatusCode::kAlreadyExists) {
      json::object& meta = EnsureObject(*state, "metadata");
      std::string generate(GetStringOr(meta, "generateName", ""));
      if (ctx->name_generated && !generate.empty() && ++ctx->create_attempts < 8) {
        meta["name"] = generate + RandomNameSuffix();
        return create_async(ctx, std::move(*state), std::move(respond));
      }
      return respond(error(Status::AlreadyExists(ctx->res->qualified() + " \"" + name + "\" already exists"), ctx.get(), name));
    }
    respond(error(rev.error(), ctx.get(), name));
  });
}

void ApiHandler::update_async(std::shared_ptr<Ctx> ctx, json::object body, std::function<void()> blocking,
                              std::function<void(HttpResponse)> respond) {
  const ResourceInfo& res = *ctx->res;
  const std::string& name = ctx->ri.name;
  json::object& meta = EnsureObject(body, "metadata");
  std::string body_name(GetStringOr(meta, "name", ""));
  if (!body_name.empty() && body_name != name)
    return respond(error(Status::BadRequest("the name of the object (" + body_name + ") does not match the name on the URL (" + name + ")"), ctx.get(), name));
  if (res.namespaced) {
    auto ns = GetString(meta, "namespace");
    if (ns && !ns->empty() && *ns != ctx->ri.ns)
      return respond(error(Status::BadRequest("the namespace of the provided object does not match the namespace sent on the request"), ctx.get(), name));
  }
  std::string rv(GetStringOr(meta, "resourceVersion", ""));
  if (rv.empty())
    return respond(error(InvalidStatus(res, name, {{"FieldValueInvalid", "Invalid value: 0x0: must be specified for an update", "metadata.resourceVersion"}}), ctx.get(), name));
  auto parsed_rv = WriteRevision(rv);
  if (!parsed_rv) return respond(error(parsed_rv.error(), ctx.get(), name));
  const store::Revision want = *parsed_rv;
  auto old = cache_.get(res.key(ctx->ri.ns, name));
  // A miss or a different version may only mean the cache is a moment behind: the blocking path
  // waits for it before answering 404 or 409. Removal by the last finalizer also goes there.
  if (!old || old->revision != want || res.special == SpecialKind::kCustomResourceDefinition) return run_blocking_(blocking);
  auto p = prepare_update(*ctx, old, std::move(body), ctx->ri.subresource);
  if (!p) return respond(error(p.error(), ctx.get(), name));
  if (p->stale) return run_blocking_(blocking);  // must wait for the cache: not on this thread
  if (p->finished) {
    if (!p->outcome.object) {
      HttpResponse r;
      r.body = std::move(p->outcome.body);
      return respond(std::move(r));
    }
    return respond(object_response(*ctx, 200, p->outcome.object));
  }
  if (p->finalize) return run_blocking_(blocking);
  auto state = std::make_shared<PreparedUpdate>(std::move(*p));
  store::Revision expected = old->revision;
  store::Bytes stored = store::MakeBytes(std::move(state->bytes));
  store_.update_async(state->key, stored, expected, [this, ctx, state, stored, respond](Result<store::Revision> rev) {
    if (!rev) return respond(error(UpdateError(*ctx->res, ctx->ri.name, rev.error()), ctx.get(), ctx->ri.name));
    respond(object_response(*ctx, 200, answer(state->key, *rev, stored, state->result)));
  });
}

}  // namespace setpoint::apiserver
