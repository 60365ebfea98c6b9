// PATCH: merge, JSON and strategic merge patches, re-applied to the newest version after a lost
// race unless the patch names a resourceVersion.

#include <boost/json.hpp>

#include "apiserver/api_context.h"
#include "apiserver/api_handler.h"
#include "apiserver/table.h"
#include "apiserver/write_support.h"
#include "setpoint/api/patch.h"
#include "setpoint/common/json.h"

namespace setpoint::apiserver {

namespace json = boost::json;

HttpResponse ApiHandler::do_patch(const Ctx& ctx) {
  const ResourceInfo& res = *ctx.res;
  std::string type = MediaType(ctx.req.header("content-type"));
  bool strategic = type == "application/strategic-merge-patch+json";
  std::string accepted =
      res.builtin ? "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json"
                  : "application/json-patch+json, application/merge-patch+json";
  if (type == "application/apply-patch+yaml" || type == "application/apply-patch+cbor")
    return error(
        Status::UnsupportedMediaType(type +
                                     " is not supported yet (server-side apply is not implemented): the body of the "
                                     "request was in an unknown format - accepted media types include: " +
                                     accepted),
        &ctx, ctx.ri.name);
  if (strategic && !res.builtin)
    return error(Status::UnsupportedMediaType(
                     "the body of the request was in an unknown format - accepted media types include: " + accepted),
                 &ctx, ctx.ri.name);
  if (type != "application/merge-patch+json" && type != "application/json-patch+json" && !strategic)
    return error(Status::UnsupportedMediaType(
                     "the body of the request was in an unknown format - accepted media types include: " + accepted),
                 &ctx, ctx.ri.name);
  auto patch = ParseJson(ctx.req.body);
  if (!patch) return error(patch.error(), &ctx, ctx.ri.name);
  if (type != "application/json-patch+json" && !patch->is_object())
    return error(Status::BadRequest("the body of the request must be a JSON object for " + type), &ctx, ctx.ri.name);
  // A patch that names metadata.resourceVersion makes it a precondition; otherwise the patch is
  // unconditional and is re-applied to the newest version after a write race.
  bool rv_precondition = false;
  if (patch->is_object()) {
    if (const json::object* m = GetObject(patch->get_object(), "metadata"))
      rv_precondition = m->contains("resourceVersion");
  } else if (patch->is_array()) {
    for (const auto& op : patch->get_array())
      if (op.is_object() && GetStringOr(op.get_object(), "path", "").starts_with("/metadata/resourceVersion"))
        rv_precondition = true;
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
      json::object s{
          {"kind", "Scale"},
          {"apiVersion", "autoscaling/v1"},
          {"metadata",
           {{"name", old->name()}, {"namespace", old->ns()}, {"resourceVersion", std::to_string(old->revision)}}},
          {"spec", {{"replicas", !spec_r.empty() ? *spec_r[0] : json::value(0)}}}};
      target = std::move(s);
    } else {
      target = *base;
    }
    Result<json::value> patched =
        type == "application/merge-patch+json" ? api::ApplyMergePatch(target, *patch)
        : strategic ? api::ApplyStrategicMergePatch(target, *patch, api::DefaultStrategicMergeSchema())
                    : api::ApplyJsonPatch(target, *patch);
    if (!patched) return error(patched.error(), &ctx, ctx.ri.name);
    if (!patched->is_object())
      return error(Status::BadRequest("the patched object is not a JSON object"), &ctx, ctx.ri.name);
    json::object& pobj = patched->get_object();
    json::object& pmeta = EnsureObject(pobj, "metadata");
    std::string prv(GetStringOr(pmeta, "resourceVersion", ""));
    if (!prv.empty() && prv != std::to_string(old->revision)) {
      auto want = WriteRevision(prv);
      if (!want) return error(want.error(), &ctx, ctx.ri.name);
      // A precondition newer than the cache (the client's own, just-answered write): wait once.
      if (WorthWaitingFor(*want, old->revision) && attempt == 0 && cache_.wait_for(*want, std::chrono::seconds(3)))
        continue;
      return error(ConflictStatus(res, ctx.ri.name), &ctx, ctx.ri.name);
    }
    if (auto n = GetString(pmeta, "name"); n && *n != ctx.ri.name)
      return error(Status::BadRequest("the name of the object (" + std::string(*n) +
                                      ") does not match the name on the URL (" + ctx.ri.name + ")"),
                   &ctx, ctx.ri.name);
    if (auto av = GetString(pobj, "apiVersion"); !scale && av && *av == ctx.api_version())
      pobj["apiVersion"] = res.api_version(res.storage_version);
    if (scale) {
      const json::object* spec = GetObject(pobj, "spec");
      auto replicas = spec ? GetInt(*spec, "replicas") : std::nullopt;
      if (!replicas || *replicas < 0)
        return error(InvalidStatus(
                         res, ctx.ri.name,
                         {{"FieldValueInvalid", "Invalid value: must be greater than or equal to 0", "spec.replicas"}}),
                     &ctx, ctx.ri.name);
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
    if (scale) return do_get(ctx);  // the Scale as it is now
    if (!out->object) {
      HttpResponse r;
      for (const auto& w : ctx.warnings()) r.headers.emplace_back("Warning", "299 - \"" + w + "\"");
      r.body = out->body;
      return r;
    }
    return object_response(ctx, 200, out->object);
  }
  return error(ConflictStatus(res, ctx.ri.name), &ctx, ctx.ri.name);
}

}  // namespace setpoint::apiserver
