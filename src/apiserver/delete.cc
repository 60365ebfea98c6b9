// DELETE and deletecollection: preconditions, propagation policies as finalizers, immortal
// namespaces, and removal once the last finalizer is gone.
#include <charconv>

#include <boost/json.hpp>

#include "apiserver/admission.h"
#include "apiserver/api_context.h"
#include "apiserver/api_handler.h"
#include "apiserver/write_support.h"
#include "setpoint/common/json.h"

namespace setpoint::apiserver {

namespace json = boost::json;

// ---------------------------------------------------------------------------------------------
// delete

Result<ApiHandler::UpdateOutcome> ApiHandler::delete_object(const Ctx& ctx, const ResourceInfo& res,
                                                            const std::string& ns, const std::string& name,
                                                            const json::object& options) {
  if (Status s = AdmitDelete(res, name); !s.ok()) return Err(s);
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
  // The query's dryRun or the DeleteOptions' (["All"]).
  bool dry_run = ctx.dry_run;
  if (auto dr = options.find("dryRun"); dr != options.end() && dr->value().is_array())
    for (const auto& v : dr->value().get_array())
      if (v == "All") dry_run = true;
  for (int attempt = 0; attempt < kMaxConflictRetries; ++attempt) {
    auto old = get_current(key);
    if (!old) return Err(NotFound(res, name));
    auto obj = ParseCached(*old);
    if (!obj) return Err(obj.error());
    if (res.admit_delete && !IsDeleting(*obj)) {
      AdmissionAttributes a = attributes(ctx, "");
      a.resource = &res;
      a.ns = ns;
      if (Status s = res.admit_delete(a, *obj); !s.ok()) return Err(s);
    }
    json::object& meta = EnsureObject(*obj, "metadata");
    std::string uid(GetStringOr(meta, "uid", ""));
    if (!want_uid.empty() && want_uid != uid)
      return Err(
          Status::Conflict("Precondition failed: UID in precondition: " + want_uid + ", UID in object meta: " + uid));
    if (want_rev && want_rev != old->revision && attempt == 0 && WorthWaitingFor(want_rev, old->revision) &&
        cache_.wait_for(want_rev, std::chrono::seconds(3)))
      continue;
    if (!want_rv.empty() && want_rv != std::to_string(old->revision))
      return Err(Status::Conflict("Precondition failed: ResourceVersion in precondition: " + want_rv +
                                  ", ResourceVersion in object meta: " + std::to_string(old->revision)));
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
      if (res.special == SpecialKind::kCustomResourceDefinition && ctx.reg) SetCrdStatus(*obj, *ctx.reg, clock_->now());
    }
    if (graceful) {
      if (dry_run) {
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
    if (dry_run) {
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
    if (rev) note_written(key, *rev);
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
      return Err(Status::Invalid("DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"" +
                                 v + "\": supported values: \"Foreground\", \"Background\", \"Orphan\""));
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

HttpResponse ApiHandler::do_delete(const Ctx& ctx) {
  const ResourceInfo& res = *ctx.res;
  auto opts = DeleteOptions(ctx.req, ctx.q);
  if (!opts) return error(opts.error(), &ctx, ctx.ri.name);
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
      if (const json::object* meta = GetObject(*parsed, "metadata"))
        details["uid"] = std::string(GetStringOr(*meta, "uid", ""));
    json::object st{{"kind", "Status"},
                    {"apiVersion", "v1"},
                    {"metadata", json::object()},
                    {"status", "Success"},
                    {"details", std::move(details)}};
    return json_response(ctx, 200, st);
  }
  return object_response(ctx, 200, out->object);
}

HttpResponse ApiHandler::do_delete_collection(const Ctx& ctx) {
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

}  // namespace setpoint::apiserver
