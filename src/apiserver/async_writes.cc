// The non-blocking write path. POST (create) and PUT (update of an object or its /status) are the
// hot writes: running them on the I/O thread up to the store, and answering from the store's
// commit callback, saves two thread hand-offs per request (a context switch each) against the
// worker pool. Anything that might block — a CRD (the registry wait), a namespace or object not in
// the cache yet — goes to the worker pool instead.
#include <charconv>
#include <limits>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "apiserver/api_context.h"
#include "apiserver/api_handler.h"
#include "apiserver/write_support.h"
#include "setpoint/common/json.h"
#include "setpoint/common/uuid.h"

namespace setpoint::apiserver {

namespace json = boost::json;

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
    auto body = DecodeObject(request, ctx->strict(), ctx->res.get());
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
      return respond(
          error(Status::AlreadyExists(ctx->res->qualified() + " \"" + name + "\" already exists"), ctx.get(), name));
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
    return respond(error(Status::BadRequest("the name of the object (" + body_name +
                                            ") does not match the name on the URL (" + name + ")"),
                         ctx.get(), name));
  if (res.namespaced) {
    auto ns = GetString(meta, "namespace");
    if (ns && !ns->empty() && *ns != ctx->ri.ns)
      return respond(error(
          Status::BadRequest("the namespace of the provided object does not match the namespace sent on the request"),
          ctx.get(), name));
  }
  std::string rv(GetStringOr(meta, "resourceVersion", ""));
  if (rv.empty())
    return respond(error(InvalidStatus(res, name,
                                       {{"FieldValueInvalid", "Invalid value: 0x0: must be specified for an update",
                                         "metadata.resourceVersion"}}),
                         ctx.get(), name));
  auto parsed_rv = WriteRevision(rv);
  if (!parsed_rv) return respond(error(parsed_rv.error(), ctx.get(), name));
  const store::Revision want = *parsed_rv;
  auto old = cache_.get(res.key(ctx->ri.ns, name));
  // A miss or a different version may only mean the cache is a moment behind: the blocking path
  // waits for it before answering 404 or 409. Removal by the last finalizer also goes there.
  if (!old || old->revision != want || res.special == SpecialKind::kCustomResourceDefinition)
    return run_blocking_(blocking);
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
