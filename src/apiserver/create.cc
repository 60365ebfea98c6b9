// POST: create, generateName, dry run; and create_internal for the server's own objects.

#include <boost/json.hpp>

#include "apiserver/api_context.h"
#include "apiserver/api_handler.h"
#include "apiserver/write_support.h"
#include "setpoint/api/finalizers.h"
#include "setpoint/common/json.h"
#include "setpoint/common/uuid.h"

namespace setpoint::apiserver {

namespace json = boost::json;

// ---------------------------------------------------------------------------------------------
// create

Result<bool> ApiHandler::prepare_create(Ctx& ctx, json::object& obj, bool may_block) {
  const ResourceInfo& res = *ctx.res;
  if (auto k = GetString(obj, "kind"); k && *k != res.kind)
    return Err(Status::BadRequest("the kind of the provided object \"" + std::string(*k) +
                                  "\" does not match the resource kind \"" + res.kind + "\""));
  if (auto av = GetString(obj, "apiVersion"); av && *av != ctx.api_version())
    return Err(Status::BadRequest("the API version in the data (" + std::string(*av) +
                                  ") does not match the expected API version (" + ctx.api_version() + ")"));
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
      return Err(
          Status::BadRequest("the namespace of the provided object does not match the namespace sent on the request"));
    meta["namespace"] = ctx.ri.ns;
  } else {
    meta.erase("namespace");
  }
  if (auto rv = GetString(meta, "resourceVersion"); rv && !rv->empty())
    return Err(Status::BadRequest("resourceVersion should not be set on objects to be created"));
  meta.erase("resourceVersion");
  for (const char* k : {"uid", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "managedFields"})
    meta.erase(k);
  meta["uid"] = NewUuid();
  meta["creationTimestamp"] = FormatRfc3339(clock_->now());
  if (res.generation) meta["generation"] = 1;
  std::string name(GetStringOr(meta, "name", ""));
  std::string generate(GetStringOr(meta, "generateName", ""));
  if (name.empty() && generate.empty())
    return Err(InvalidStatus(
        res, "", {{"FieldValueRequired", "Required value: name or generateName is required", "metadata.name"}}));
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
      return Err(Status::Forbidden(res.qualified() + " \"" +
                                   std::string(GetStringOr(EnsureObject(obj, "metadata"), "name", "")) +
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
  auto body = DecodeObject(ctx.req, ctx.strict(), ctx.res.get());
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
