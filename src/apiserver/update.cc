// PUT: update of an object, its /status or /scale, with resourceVersion preconditions. Written
// once, non-blocking: a cache that may lag, a removal by the last finalizer and /scale go to
// ctx.offload; write_update is the same path waited for, for verbs already on a worker.

#include <boost/json.hpp>

#include "apiserver/admission.h"
#include "apiserver/api_context.h"
#include "apiserver/api_handler.h"
#include "apiserver/write_support.h"
#include "setpoint/common/json.h"

namespace setpoint::apiserver {

namespace json = boost::json;

// ---------------------------------------------------------------------------------------------
// update / patch

Result<ApiHandler::PreparedUpdate> ApiHandler::prepare_update(const Ctx& ctx, const store::CachedObjectPtr& old,
                                                              json::object incoming, const std::string& sub) {
  const ResourceInfo& res = *ctx.res;
  auto old_obj = ParseCached(*old);
  if (!old_obj) return Err(old_obj.error());
  AdmissionReport report;
  auto admitted = AdmitUpdate(attributes(ctx, sub), *old_obj, std::move(incoming), report);
  PreparedUpdate p;
  p.warnings_added = report.warnings.size();
  for (auto& w : report.warnings) ctx.warn(std::move(w));
  if (!admitted) return Err(admitted.error());
  json::object result = std::move(*admitted);
  EnsureObject(result, "metadata")["resourceVersion"] = std::to_string(old->revision);
  p.key = old->key;
  // Answers that write nothing (a no-op, a dry run) are only as good as the version they were
  // computed from: the store's compare-and-swap never checks them (write_update_async does).
  bool no_op = SameIgnoringVersion(result, *old_obj);
  p.writes_nothing = no_op || ctx.dry_run;
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

void ApiHandler::write_update_async(const Ctx& ctx, store::CachedObjectPtr old, json::object incoming, std::string sub,
                                    UpdateDone done) {
  if (ctx.res->admit_reads_others && !ctx.progress->lookups_consistent) {  // as create_object
    auto state = std::make_shared<json::object>(std::move(incoming));
    return ctx.offload([this, &ctx, old, state, sub, done = std::move(done)]() mutable {
      wait_consistent();
      ctx.progress->lookups_consistent = true;
      write_update_async(ctx, std::move(old), std::move(*state), std::move(sub), std::move(done));
    });
  }
  auto p = prepare_update(ctx, old, incoming, sub);
  if (!p) return done(Err(p.error()));
  if (!p->writes_nothing) return commit_update(ctx, std::move(old), std::move(*p), std::move(done));
  // An answer that writes nothing holds only if the cache is not behind the store (writes are
  // answered before the cache applies them). Asking the store may be a round trip (etcd), and
  // waiting for the cache is a wait: both are a worker's.
  auto prepared = std::make_shared<PreparedUpdate>(std::move(*p));
  auto state = std::make_shared<json::object>(std::move(incoming));
  const std::size_t warnings = ctx.warnings().size() - std::min(ctx.warnings().size(), prepared->warnings_added);
  ctx.offload([this, &ctx, old, prepared, state, sub, warnings, done = std::move(done)]() mutable {
    if (cache_.revision() >= store_.current_revision()) return commit_update(ctx, old, std::move(*prepared), done);
    // Decide again once the cache has caught up: if the object moved on, the caller's version
    // is outdated (a PUT gets 409, a patch re-applies itself to the newer version).
    wait_consistent();
    ctx.progress->warnings.resize(warnings);  // admission runs again and says them again
    auto fresh = cache_.get(old->key);
    if (!fresh) return done(Err(NotFound(*ctx.res, old->name())));
    if (fresh->revision != old->revision) return done(Err(ConflictStatus(*ctx.res, old->name())));
    auto again = prepare_update(ctx, fresh, std::move(*state), sub);
    if (!again) return done(Err(again.error()));
    if (again->writes_nothing && cache_.revision() < store_.current_revision())
      return done(Err(Status::Timeout("the cache did not catch up with the store")));
    commit_update(ctx, fresh, std::move(*again), std::move(done));
  });
}

void ApiHandler::commit_update(const Ctx& ctx, store::CachedObjectPtr old, PreparedUpdate p, UpdateDone done) {
  if (p.finished) return done(std::move(p.outcome));
  auto state = std::make_shared<PreparedUpdate>(std::move(p));
  if (state->finalize) {
    // The last finalizer is gone from an object being deleted: the object goes now.
    return ctx.offload([this, &ctx, old, state, done = std::move(done)] {
      auto rev = store_.remove(state->key, old->revision);
      if (!rev) return done(Err(UpdateError(*ctx.res, std::string(old->name()), rev.error())));
      UpdateOutcome out;
      out.object = written(state->key, *rev, state->result);
      out.deleted = true;
      done(std::move(out));
    });
  }
  store::Bytes stored = store::MakeBytes(std::move(state->bytes));
  // The callback runs on the store's writer thread: it must not block.
  store_.update_async(state->key, stored, old->revision,
                      [this, &ctx, old, state, stored, done = std::move(done)](Result<store::Revision> rev) {
                        if (!rev) return done(Err(UpdateError(*ctx.res, std::string(old->name()), rev.error())));
                        UpdateOutcome out;
                        out.object = answer(state->key, *rev, stored, state->result);
                        done(std::move(out));
                      });
}

Result<ApiHandler::UpdateOutcome> ApiHandler::write_update(const Ctx& ctx, const store::CachedObjectPtr& old,
                                                           json::object incoming, const std::string& sub) {
  // The blocking form, for verbs that already run on a worker: its offloaded steps run here.
  Awaiting<Result<UpdateOutcome>> updated;
  Offload outer = std::exchange(ctx.progress->offload, updated.offload());
  write_update_async(ctx, old, std::move(incoming), sub, updated.done());
  auto out = updated.wait();
  ctx.progress->offload = std::move(outer);
  return out;
}

HttpResponse ApiHandler::update_scale(const Ctx& ctx, const json::object& body) {
  const ResourceInfo& res = *ctx.res;
  const json::object* spec = GetObject(body, "spec");
  auto replicas = spec ? GetInt(*spec, "replicas") : std::nullopt;
  if (!replicas || *replicas < 0)
    return error(
        InvalidStatus(res, ctx.ri.name,
                      {{"FieldValueInvalid", "Invalid value: must be greater than or equal to 0", "spec.replicas"}}),
        &ctx, ctx.ri.name);
  auto old = get_current(res.key(ctx.ri.ns, ctx.ri.name));
  if (!old) return error(NotFound(res, ctx.ri.name), &ctx, ctx.ri.name);
  const json::object* meta = GetObject(body, "metadata");
  std::string rv(meta ? GetStringOr(*meta, "resourceVersion", "") : "");
  if (!rv.empty() && rv != std::to_string(old->revision))
    return error(ConflictStatus(res, ctx.ri.name), &ctx, ctx.ri.name);
  auto obj = ParseCached(*old);
  if (!obj) return error(obj.error(), &ctx);
  SetPath(*obj, res.spec_replicas_path, *replicas);
  auto out = write_update(ctx, old, std::move(*obj), "");
  if (!out) return error(out.error(), &ctx, ctx.ri.name);
  return do_get(ctx);  // the Scale as it is now
}

void ApiHandler::do_update(const Ctx& ctx, Respond respond) {
  const ResourceInfo& res = *ctx.res;
  auto body = DecodeObject(ctx.req, ctx.strict(), ctx.res.get());
  if (!body) return respond(error(body.error(), &ctx, ctx.ri.name));
  json::object& meta = EnsureObject(*body, "metadata");
  std::string body_name(GetStringOr(meta, "name", ""));
  if (!body_name.empty() && body_name != ctx.ri.name)
    return respond(error(Status::BadRequest("the name of the object (" + body_name +
                                            ") does not match the name on the URL (" + ctx.ri.name + ")"),
                         &ctx, ctx.ri.name));
  if (res.namespaced) {
    auto ns = GetString(meta, "namespace");
    if (ns && !ns->empty() && *ns != ctx.ri.ns)
      return respond(error(
          Status::BadRequest("the namespace of the provided object does not match the namespace sent on the request"),
          &ctx, ctx.ri.name));
  }
  if (ctx.ri.subresource == "scale") {
    auto state = std::make_shared<json::object>(std::move(*body));
    return ctx.offload([this, &ctx, state, respond = std::move(respond)] { respond(update_scale(ctx, *state)); });
  }
  std::string rv(GetStringOr(meta, "resourceVersion", ""));
  if (rv.empty())
    return respond(error(InvalidStatus(res, ctx.ri.name,
                                       {{"FieldValueInvalid", "Invalid value: 0x0: must be specified for an update",
                                         "metadata.resourceVersion"}}),
                         &ctx, ctx.ri.name));
  auto parsed_rv = WriteRevision(rv);
  if (!parsed_rv) return respond(error(parsed_rv.error(), &ctx, ctx.ri.name));
  const store::Revision want = *parsed_rv;
  auto write = [this, &ctx, respond](store::CachedObjectPtr old, json::object incoming) {
    write_update_async(ctx, std::move(old), std::move(incoming), ctx.ri.subresource,
                       [this, &ctx, respond](Result<UpdateOutcome> out) {
                         if (!out) return respond(error(out.error(), &ctx, ctx.ri.name));
                         if (!out->object) {
                           HttpResponse r;
                           r.body = std::move(out->body);
                           return respond(std::move(r));
                         }
                         respond(object_response(ctx, 200, out->object));
                       });
  };
  // The store's compare-and-swap decides; the cache only has to be as new as the version the
  // client names.
  const std::string key = res.key(ctx.ri.ns, ctx.ri.name);
  auto old = cache_.get(key);
  if (old && old->revision == want) return write(std::move(old), std::move(*body));
  // A miss or another version may only mean the cache is a moment behind: wait for it before
  // answering 404 or 409.
  auto state = std::make_shared<json::object>(std::move(*body));
  ctx.offload([this, &ctx, key, want, state, write, respond] {
    auto old = get_current(key);
    if (!old) return respond(error(NotFound(*ctx.res, ctx.ri.name), &ctx, ctx.ri.name));
    if (WorthWaitingFor(want, old->revision) && cache_.wait_for(want, std::chrono::seconds(3))) {
      // The client knows a newer version than the cache has applied yet (its own write, answered
      // before the cache caught up): read again once the cache has it.
      old = cache_.get(key);
      if (!old) return respond(error(NotFound(*ctx.res, ctx.ri.name), &ctx, ctx.ri.name));
    }
    if (want != old->revision) return respond(error(ConflictStatus(*ctx.res, ctx.ri.name), &ctx, ctx.ri.name));
    write(std::move(old), std::move(*state));
  });
}

}  // namespace setpoint::apiserver
