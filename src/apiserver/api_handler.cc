#include "apiserver/api_handler.h"

#include <algorithm>
#include <limits>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "apiserver/api_context.h"
#include "apiserver/codec.h"
#include "apiserver/table.h"
#include "apiserver/watch_stream.h"
#include "apiserver/write_support.h"
#include "setpoint/api/field_selector.h"
#include "setpoint/api/label_selector.h"
#include "setpoint/common/base64.h"
#include "setpoint/common/json.h"

namespace setpoint::apiserver {

namespace json = boost::json;

namespace {

class LocalAdminAuthenticator final : public Authenticator {
 public:
  Result<UserInfo> authenticate(const HttpRequest&) override {
    return UserInfo{"admin", {"system:masters", "system:authenticated"}};
  }
};

class AllowAllAuthorizer final : public Authorizer {
 public:
  Status authorize(const UserInfo&, const RequestInfo&) override { return Status::Ok(); }
};

}  // namespace

std::unique_ptr<Authenticator> NewLocalAdminAuthenticator() { return std::make_unique<LocalAdminAuthenticator>(); }
std::unique_ptr<Authorizer> NewAllowAllAuthorizer() { return std::make_unique<AllowAllAuthorizer>(); }

Status InvalidStatus(const ResourceInfo& r, std::string_view name, std::vector<StatusCause> causes) {
  std::string kind = r.group.empty() ? r.kind : r.kind + "." + r.group;
  std::string msg = kind + " \"" + std::string(name) + "\" is invalid: ";
  if (causes.size() == 1) {
    msg += causes[0].field.empty() ? causes[0].message : causes[0].field + ": " + causes[0].message;
  } else {
    msg += "[";
    for (std::size_t i = 0; i < causes.size(); ++i) {
      if (i) msg += ", ";
      msg += causes[i].field.empty() ? causes[i].message : causes[i].field + ": " + causes[i].message;
    }
    msg += "]";
  }
  Status s = Status::Invalid(msg);
  for (auto& c : causes) s.add_cause(std::move(c));
  return s;
}

ApiHandler::ApiHandler(store::Store& store, store::WatchCache& cache, Registry& registry, ClockPtr clock)
    : store_(store),
      cache_(cache),
      registry_(registry),
      clock_(std::move(clock)),
      authn_(NewLocalAdminAuthenticator()),
      authz_(NewAllowAllAuthorizer()) {}

ApiHandler::~ApiHandler() = default;

std::size_t ApiHandler::open_watches() const {
  std::lock_guard lock(watches_mu_);
  return watches_.size();
}

void ApiHandler::forget_watch(WatchStream* stream) {
  std::lock_guard lock(watches_mu_);
  watches_.erase(stream);
}

void ApiHandler::shutdown() {
  shutting_down_ = true;
  std::lock_guard lock(watches_mu_);
  for (auto* w : watches_) w->end();
}

HttpResponse ApiHandler::error(const Status& status, const Ctx* ctx, std::string_view name) {
  static const std::vector<std::string> kNone;
  return StatusResponse(status, ctx ? ctx->res.get() : nullptr, name, ctx ? ctx->warnings() : kNone);
}

HttpResponse ApiHandler::transport_error(int http_code, std::string_view message) {
  // The body's code is the status line's, whatever the transport refused.
  Status s = http_code == 413   ? Status::TooLarge(std::string(message))
             : http_code == 431 ? Status::HeadersTooLarge(std::string(message))
             : http_code == 503 ? Status::Unavailable(std::string(message))
                                : Status::BadRequest(std::string(message));
  return error(s, nullptr);
}

RequestLabels ApiHandler::RequestLabelsOf(const HttpRequest& request, const Ctx* ctx) {
  if (!ctx) return LabelsFor(request.method, nullptr, false, false, false, "");
  return LabelsFor(request.method, &ctx->ri, ctx->res != nullptr, ctx->q.flag("watch") || ctx->ri.verb == "watch",
                   ctx->dry_run, request.header("content-type"));
}

HttpResponse ApiHandler::handle(HttpRequest& request) {
  // The blocking form: the same path, its offloaded steps run on this (worker) thread.
  Awaiting<HttpResponse> answered;
  serve(request, answered.offload(), answered.done());
  return answered.wait();
}

bool ApiHandler::accepts_async(const HttpRequest& request) const {
  // POST and PUT are the hot writes: run on the I/O thread up to the store and answered from the
  // store's commit callback, they save two thread hand-offs (a context switch each).
  return (request.method == "POST" || request.method == "PUT") && run_blocking_ && !shutting_down_;
}

void ApiHandler::handle_async(HttpRequest& request, Respond respond) {
  serve(request, run_blocking_, std::move(respond));
}

void ApiHandler::serve(HttpRequest& request, Offload offload, Respond respond) {
  const auto started = std::chrono::steady_clock::now();
  QueryParams q = QueryParams::Parse(request.query);
  auto ri = ParseRequestInfo(request.method, request.path, q.flag("watch"));
  if (!ri) {
    return offload([this, &request, started, respond = std::move(respond)] {
      HttpResponse r = guarded(request, nullptr, [&] { return non_resource(request); });
      metrics_.observe(RequestLabelsOf(request, nullptr), r.status, std::chrono::steady_clock::now() - started);
      respond(std::move(r));
    });
  }
  auto ctx = std::make_shared<Ctx>(request, std::move(q));
  ctx->ri = std::move(*ri);
  ctx->started = started;
  Ctx* raw = ctx.get();
  // The request's one answer: the first call counts, so that a step that throws after answering
  // cannot answer twice. It does not hold the Ctx (the Ctx holds it).
  ctx->progress->answer = [this, raw, answered = std::make_shared<std::atomic<bool>>(false),
                           respond = std::move(respond)](HttpResponse r) {
    if (answered->exchange(true)) return;
    metrics_.observe(RequestLabelsOf(raw->req, raw), r.status, std::chrono::steady_clock::now() - raw->started);
    respond(std::move(r));
  };
  // A step that throws (a bug) is answered with a 500 instead of ending the thread it ran on. The
  // Ctx is alive while a step runs: the step holds the continuation, which holds `finish`.
  ctx->progress->offload = [this, raw, offload = std::move(offload)](std::function<void()> step) {
    offload([this, raw, step = std::move(step)] {
      try {
        step();
      } catch (const std::exception& e) {
        raw->progress->answer(internal_error(*raw, e));
      }
    });
  };
  // Every exit of the request goes through here; it holds the request's context until then, so
  // the steps in between may refer to it.
  Respond finish = [ctx](HttpResponse r) { ctx->progress->answer(std::move(r)); };
  Ctx& c = *ctx;
  try {
    auto user = authn_->authenticate(request);
    if (!user) return finish(error(user.error(), &c));
    c.user = std::move(*user);
    c.reg = registry_.snapshot();
    c.res = c.reg->find(c.ri.group, c.ri.resource);
    if (c.res) return dispatch(c, std::move(finish));
  } catch (const std::exception& e) {
    return finish(internal_error(c, e));
  }
  // Maybe a CRD was just created: wait for the registry to catch up with the store once.
  c.offload([this, &c, finish = std::move(finish)]() mutable {
    try {
      if (registry_.wait_for(store_.current_revision(), std::chrono::milliseconds(500))) {
        c.reg = registry_.snapshot();
        c.res = c.reg->find(c.ri.group, c.ri.resource);
      }
    } catch (const std::exception& e) {
      return finish(internal_error(c, e));
    }
    dispatch(c, std::move(finish));
  });
}

HttpResponse ApiHandler::internal_error(const Ctx& ctx, const std::exception& e) {
  // Handlers return errors as values; this only guards against a bug taking the server down.
  spdlog::error("internal error serving {} {}: {}", ctx.req.method, ctx.req.target, e.what());
  return error(Status::Internal(std::string("internal error: ") + e.what()), &ctx);
}

HttpResponse ApiHandler::guarded(HttpRequest& request, const Ctx* ctx, const std::function<HttpResponse()>& step) {
  try {
    return step();
  } catch (const std::exception& e) {
    spdlog::error("internal error serving {} {}: {}", request.method, request.target, e.what());
    return error(Status::Internal(std::string("internal error: ") + e.what()), ctx);
  }
}

void ApiHandler::dispatch(Ctx& ctx, Respond respond) {
  try {
    if (auto err = check_resource_request(ctx)) return respond(std::move(*err));
    const std::string& verb = ctx.ri.verb;
    if (verb == "create") {
      if (!ctx.ri.name.empty())
        return respond(
            error(Status::MethodNotAllowed("the server does not allow this method on the requested resource"), &ctx));
      return do_create(ctx, std::move(respond));
    }
    if (verb == "update") return do_update(ctx, std::move(respond));
  } catch (const std::exception& e) {
    return respond(internal_error(ctx, e));
  }
  // The verbs that block as they go (reads wait for the cache; patch and delete retry lost races).
  ctx.offload([this, &ctx, respond = std::move(respond)] {
    respond(guarded(ctx.req, &ctx, [&] { return blocking_verb(ctx); }));
  });
}

std::optional<HttpResponse> ApiHandler::check_resource_request(Ctx& ctx) {
  if (!ctx.res) return error(Status::NotFound("the server could not find the requested resource"), &ctx);
  ctx.ver = ctx.res->version(ctx.ri.version);
  if (!ctx.ver) {
    ResourceInfoPtr res = std::move(ctx.res);
    return error(Status::NotFound("the server could not find the requested resource"), &ctx);
  }
  const ResourceInfo& res = *ctx.res;
  if (!res.namespaced && !ctx.ri.ns.empty())
    return error(Status::NotFound("the server could not find the requested resource"), &ctx);
  if (res.namespaced && ctx.ri.ns.empty() && ctx.ri.verb != "list" && ctx.ri.verb != "watch")
    return error(Status::NotFound("the server could not find the requested resource"), &ctx);
  const std::string& sub = ctx.ri.subresource;
  if (!sub.empty()) {
    bool ok = (sub == "status" && res.status_subresource) || (sub == "scale" && res.scale_subresource) ||
              (sub == "finalize" && res.special == SpecialKind::kNamespace) ||
              (sub == "log" && res.group == "setpoint.dev" && res.resource == "processes");
    if (sub == "log" && ok && ctx.ri.verb != "get")
      return error(Status::MethodNotAllowed("the server does not allow this method on the requested resource"), &ctx);
    if (!ok) return error(Status::NotFound("the server could not find the requested resource"), &ctx);
    if (sub == "finalize" && ctx.ri.verb != "update")
      return error(Status::MethodNotAllowed("the server does not allow this method on the requested resource"), &ctx);
    if (ctx.ri.verb != "get" && ctx.ri.verb != "update" && ctx.ri.verb != "patch")
      return error(Status::MethodNotAllowed("the server does not allow this method on the requested resource"), &ctx);
  }
  if (Status s = authz_->authorize(ctx.user, ctx.ri); !s.ok()) return error(s, &ctx, ctx.ri.name);
  if (auto dr = ctx.q.get("dryRun")) {
    if (*dr == "All")
      ctx.dry_run = true;
    else if (!dr->empty())
      return error(Status::BadRequest("Invalid dryRun value: \"" + *dr + "\"; supported values: \"All\""), &ctx);
  }
  if (auto fv = ctx.q.get("fieldValidation")) {
    if (*fv == "Strict")
      ctx.field_validation = FieldValidation::kStrict;
    else if (*fv == "Warn")
      ctx.field_validation = FieldValidation::kWarn;
    else if (*fv == "Ignore")
      ctx.field_validation = FieldValidation::kIgnore;
    else if (!fv->empty())
      return error(
          Status::BadRequest("fieldValidation must be one of \"Ignore\", \"Warn\" or \"Strict\", got \"" + *fv + "\""),
          &ctx);
  } else {
    ctx.field_validation = FieldValidation::kWarn;
  }
  return std::nullopt;
}

AdmissionAttributes ApiHandler::attributes(const Ctx& ctx, const std::string& subresource) const {
  AdmissionAttributes a;
  a.resource = ctx.res.get();
  a.version = ctx.ver;
  a.api_version = ctx.api_version();
  a.ns = ctx.ri.ns;
  a.subresource = subresource;
  a.field_validation = ctx.field_validation;
  a.now = clock_->now();
  a.registry = ctx.reg.get();
  // Only a native kind's own rules look other objects up: other writes skip making the function.
  if (!ctx.res || (!ctx.res->admit && !ctx.res->admit_delete)) return a;
  a.lookup = [this, reg = ctx.reg](std::string_view group, std::string_view resource, std::string_view ns,
                                   std::string_view name) -> std::optional<json::object> {
    auto res = reg->find(group, resource);
    if (!res) return std::nullopt;
    auto cached = cache_.get(res->key(ns, name));
    if (!cached) return std::nullopt;
    auto obj = ParseCached(*cached);
    if (!obj) return std::nullopt;
    return std::move(*obj);
  };
  return a;
}

HttpResponse ApiHandler::blocking_verb(const Ctx& ctx) {
  const std::string& verb = ctx.ri.verb;
  if (verb == "get" || verb == "list" || verb == "watch")
    if (auto bad = Unacceptable(ctx.accept, verb == "list")) return error(*bad, &ctx);
  if (verb == "get") return do_get(ctx);
  if (verb == "list") return do_list(ctx);
  if (verb == "watch") return do_watch(ctx);
  if (verb == "patch") return do_patch(ctx);
  if (verb == "delete") return do_delete(ctx);
  if (verb == "deletecollection") return do_delete_collection(ctx);
  return error(Status::MethodNotAllowed("the server does not allow this method on the requested resource"), &ctx);
}

HttpResponse ApiHandler::object_response(const Ctx& ctx, int code, const store::CachedObjectPtr& obj) {
  HttpResponse r;
  r.status = code;
  AddWarnings(r, ctx.warnings());
  if (ctx.accept.as == "Table" && ctx.ri.verb == "get") {
    r.body = table(ctx, {obj}, obj->revision, "");
    return r;
  }
  if (auto meta_version = MetadataVersion(ctx.accept, false)) {
    AppendPartialMetadata(r.body, *obj, *meta_version);
    return r;
  }
  if (ctx.ri.version == ctx.res->storage_version)
    r.shared_body = SharedBytes(obj, obj->json);
  else
    r.body = RenderForVersion(*ctx.res, ctx.ri.version, *obj);
  return r;
}

HttpResponse ApiHandler::json_response(const Ctx& ctx, int code, const json::object& obj) {
  HttpResponse r;
  r.status = code;
  AddWarnings(r, ctx.warnings());
  r.body = json::serialize(obj);
  return r;
}

std::string ApiHandler::table(const Ctx& ctx, const std::vector<store::CachedObjectPtr>& items, store::Revision rv,
                              const std::string& cont) const {
  const bool include_object = ctx.q.get("includeObject").value_or("Metadata") != "None";
  return RenderTable(ctx.ver->columns, items, rv, cont, include_object, clock_->now());
}

Result<store::Filter> ApiHandler::make_filter(const Ctx& ctx, const std::string& prefix) {
  store::Filter filter;
  filter.prefix = prefix;
  std::shared_ptr<api::LabelSelector> labels;
  std::shared_ptr<api::FieldSelector> fields;
  if (auto ls = ctx.q.get("labelSelector"); ls && !ls->empty()) {
    auto parsed = api::LabelSelector::Parse(*ls);
    if (!parsed) return Err(parsed.error());
    if (!parsed->empty()) labels = std::make_shared<api::LabelSelector>(std::move(*parsed));
  }
  if (auto fs = ctx.q.get("fieldSelector"); fs && !fs->empty()) {
    auto parsed = api::FieldSelector::Parse(*fs);
    if (!parsed) return Err(parsed.error());
    for (const auto& req : parsed->requirements()) {
      if (req.field != "metadata.name" && req.field != "metadata.namespace" &&
          !ctx.res->selectable_fields.count(req.field))
        return Err(Status::BadRequest("field label not supported: " + req.field));
    }
    if (!parsed->empty()) fields = std::make_shared<api::FieldSelector>(std::move(*parsed));
  }
  if (labels || fields) {
    filter.matches = [labels, fields](const store::CachedObject& o) {
      if (labels && !labels->matches(&o.labels)) return false;
      if (fields && !fields->matches([&o](std::string_view f) { return o.field(f); })) return false;
      return true;
    };
  }
  return filter;
}

}  // namespace setpoint::apiserver
