// POST: create, generateName, dry run; and create_internal for the server's own objects.
// Written once, non-blocking: the steps that may block (the namespace's lookup when the cache may
// lag, the registry's catching up with a new CRD) go to ctx.offload.

#include <boost/json.hpp>

#include "apiserver/admission.h"
#include "apiserver/api_context.h"
#include "apiserver/api_handler.h"
#include "apiserver/write_support.h"
#include "setpoint/common/json.h"
#include "setpoint/common/uuid.h"

namespace setpoint::apiserver {

namespace json = boost::json;

// ---------------------------------------------------------------------------------------------
// create

Status ApiHandler::prepare_create(const Ctx& ctx, json::object& obj, bool& name_generated) {
  AdmissionReport report;
  Status s = AdmitCreate(attributes(ctx, ""), obj, report);
  name_generated = report.name_generated;
  for (auto& w : report.warnings) ctx.warn(std::move(w));
  return s;
}

Status ApiHandler::check_namespace(const Ctx& ctx, const json::object& obj, const store::CachedObjectPtr& ns) {
  const json::object* meta = GetObject(obj, "metadata");
  std::string name(meta ? GetStringOr(*meta, "name", "") : "");
  if (!ns) return AdmitNamespaceLifecycle(*ctx.res, ctx.ri.ns, name, nullptr);
  // Only its metadata matters (deletionTimestamp): parse that slice, not the whole namespace.
  auto ns_meta = ParseJson(ns->metadata_json());
  if (!ns_meta || !ns_meta->is_object()) return Status::Internal("the namespace's metadata does not parse");
  const json::object namespace_object{{"metadata", std::move(*ns_meta)}};
  return AdmitNamespaceLifecycle(*ctx.res, ctx.ri.ns, name, &namespace_object);
}

store::CachedObjectPtr ApiHandler::dry_run_result(const std::string& key, const json::object& obj) {
  auto out = std::make_shared<store::CachedObject>();
  out->adopt(key, json::serialize(obj));  // a dry run has no resourceVersion
  return out;
}

void ApiHandler::create_object(const Ctx& ctx, json::object obj, CreateDone done) {
  // A kind whose admission reads other objects (accounting's) reads them from a cache that has
  // applied every write answered before this request: a wait, so a worker's.
  if (ctx.res->admit_reads_others && !ctx.progress->lookups_consistent) {
    auto state = std::make_shared<json::object>(std::move(obj));
    return ctx.offload([this, &ctx, state, done = std::move(done)]() mutable {
      wait_consistent();
      ctx.progress->lookups_consistent = true;
      create_object(ctx, std::move(*state), std::move(done));
    });
  }
  bool name_generated = false;
  if (Status s = prepare_create(ctx, obj, name_generated); !s.ok()) return done(Err(s));
  // A name made from generateName that is taken already is made again, up to 8 names in all.
  const int renames = name_generated ? 7 : 0;
  if (!ctx.res->namespaced) return commit_create(ctx, std::move(obj), renames, std::move(done));
  // A namespace missing from the cache may have been created a moment ago (writes are answered
  // before the cache applies them): wait for the cache to reach the store's head before
  // concluding that it is missing.
  // Nor is a namespace in the cache believed while a namespace write this server answered (its
  // deletion, say) has not reached the cache yet.
  const std::string ns_key = std::string(kNamespacesPrefix) + ctx.ri.ns;
  auto ns = namespaces_current() ? cache_.get(ns_key) : nullptr;
  if (ns) {
    if (Status s = check_namespace(ctx, obj, ns); !s.ok()) return done(Err(s));
    return commit_create(ctx, std::move(obj), renames, std::move(done));
  }
  auto state = std::make_shared<json::object>(std::move(obj));
  ctx.offload([this, &ctx, state, ns_key, renames, done = std::move(done)]() mutable {
    wait_consistent();
    if (Status s = check_namespace(ctx, *state, cache_.get(ns_key)); !s.ok()) return done(Err(s));
    commit_create(ctx, std::move(*state), renames, std::move(done));
  });
}

void ApiHandler::commit_create(const Ctx& ctx, json::object obj, int renames, CreateDone done) {
  const ResourceInfo& res = *ctx.res;
  std::string name(GetStringOr(*GetObject(obj, "metadata"), "name", ""));
  std::string key = res.key(ctx.ri.ns, name);
  if (ctx.dry_run) return done(dry_run_result(key, obj));
  store::Bytes stored = store::MakeBytes(EncodeForStorage(obj));
  // The callback runs on the store's writer thread: it must not block. The object moves into it
  // for a retry under another generated name.
  auto state = std::make_shared<json::object>(std::move(obj));
  store_.create_async(
      key, stored,
      [this, &ctx, state, key, name, stored, renames, done = std::move(done)](Result<store::Revision> rev) mutable {
        if (rev) {
          auto created = answer(key, *rev, stored, *state);
          if (ctx.res->special != SpecialKind::kCustomResourceDefinition) return done(std::move(created));
          // Answered once the registry serves the new resource (or has given it two seconds).
          return ctx.offload([this, created = std::move(created), done = std::move(done)]() mutable {
            registry_.wait_for(created->revision, std::chrono::seconds(2));
            done(std::move(created));
          });
        }
        if (rev.error().code() == StatusCode::kAlreadyExists) {
          json::object& meta = EnsureObject(*state, "metadata");
          std::string generate(GetStringOr(meta, "generateName", ""));
          if (renames > 0 && !generate.empty()) {
            meta["name"] = generate + RandomNameSuffix();
            return commit_create(ctx, std::move(*state), renames - 1, std::move(done));
          }
          return done(Err(Status::AlreadyExists(ctx.res->qualified() + " \"" + name + "\" already exists")));
        }
        done(Err(rev.error()));
      });
}

void ApiHandler::do_create(const Ctx& ctx, Respond respond) {
  auto body = DecodeObject(ctx.req, ctx.strict(), ctx.res.get());
  if (!body) return respond(error(body.error(), &ctx));
  std::string name;
  if (const json::object* meta = GetObject(*body, "metadata")) name = std::string(GetStringOr(*meta, "name", ""));
  create_object(ctx, std::move(*body),
                [this, &ctx, name, respond = std::move(respond)](Result<store::CachedObjectPtr> created) {
                  if (!created) return respond(error(created.error(), &ctx, name));
                  respond(object_response(ctx, 201, *created));
                });
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
  Awaiting<Status> created;
  ctx.progress->offload = created.offload();
  create_object(ctx, std::move(object),
                [done = created.done()](Result<store::CachedObjectPtr> r) { done(r ? Status::Ok() : r.error()); });
  return created.wait();
}

}  // namespace setpoint::apiserver
