// PUT: update of an object, its /status or /scale, with resourceVersion preconditions.

#include <boost/json.hpp>

#include "apiserver/api_context.h"
#include "apiserver/api_handler.h"
#include "apiserver/write_support.h"
#include "setpoint/common/json.h"

namespace setpoint::apiserver {

namespace json = boost::json;

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
    if (st != incoming.end())
      result["status"] = st->value();
    else
      result.erase("status");
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
      return Err(Status::BadRequest("the kind of the provided object \"" + std::string(*k) +
                                    "\" does not match the resource kind \"" + res.kind + "\""));
    if (res.status_subresource) {
      auto st = old_obj->find("status");
      if (st != old_obj->end())
        result["status"] = st->value();
      else
        result.erase("status");
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
  auto body = DecodeObject(ctx.req, ctx.strict(), ctx.res.get());
  if (!body) return error(body.error(), &ctx, ctx.ri.name);
  json::object& meta = EnsureObject(*body, "metadata");
  std::string body_name(GetStringOr(meta, "name", ""));
  if (!body_name.empty() && body_name != ctx.ri.name)
    return error(Status::BadRequest("the name of the object (" + body_name + ") does not match the name on the URL (" +
                                    ctx.ri.name + ")"),
                 &ctx, ctx.ri.name);
  if (res.namespaced) {
    auto ns = GetString(meta, "namespace");
    if (ns && !ns->empty() && *ns != ctx.ri.ns)
      return error(
          Status::BadRequest("the namespace of the provided object does not match the namespace sent on the request"),
          &ctx, ctx.ri.name);
  }
  std::string rv(GetStringOr(meta, "resourceVersion", ""));
  if (ctx.ri.subresource == "scale") {
    const json::object* spec = GetObject(*body, "spec");
    auto replicas = spec ? GetInt(*spec, "replicas") : std::nullopt;
    if (!replicas || *replicas < 0)
      return error(
          InvalidStatus(res, ctx.ri.name,
                        {{"FieldValueInvalid", "Invalid value: must be greater than or equal to 0", "spec.replicas"}}),
          &ctx, ctx.ri.name);
    auto old = get_current(res.key(ctx.ri.ns, ctx.ri.name));
    if (!old) return error(NotFound(res, ctx.ri.name), &ctx, ctx.ri.name);
    if (!rv.empty() && rv != std::to_string(old->revision))
      return error(ConflictStatus(res, ctx.ri.name), &ctx, ctx.ri.name);
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
    return error(InvalidStatus(res, ctx.ri.name,
                               {{"FieldValueInvalid", "Invalid value: 0x0: must be specified for an update",
                                 "metadata.resourceVersion"}}),
                 &ctx, ctx.ri.name);
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

}  // namespace setpoint::apiserver
