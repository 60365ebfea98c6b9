#include "apiserver/api_handler.h"

#include <algorithm>
#include <limits>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "apiserver/api_context.h"
#include "apiserver/table.h"
#include "apiserver/watch_stream.h"
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

constexpr std::string_view kAggV2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
constexpr std::string_view kAggV2beta1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";

// Which aggregated discovery version the Accept header asks for, exactly (0 = legacy).
int AggregatedVersion(std::string_view accept) {
  std::string a;
  for (char c : accept)
    if (c != ' ') a.push_back(c);
  // Walk the comma separated media ranges in order; the first one we can serve wins.
  std::size_t i = 0;
  while (i <= a.size()) {
    std::size_t j = a.find(',', i);
    if (j == std::string::npos) j = a.size();
    std::string_view range(a.data() + i, j - i);
    if (range.find("as=APIGroupDiscoveryList") != std::string_view::npos &&
        range.find("g=apidiscovery.k8s.io") != std::string_view::npos) {
      if (range.find("v=v2beta1") != std::string_view::npos) return 1;
      if (range.find("v=v2;") != std::string_view::npos || range.ends_with("v=v2")) return 2;
    } else if (range.rfind("application/json", 0) == 0 || range == "*/*" || range.empty()) {
      return 0;
    }
    if (j == a.size()) break;
    i = j + 1;
  }
  return 0;
}

}  // namespace

AcceptedAs ParseAccept(std::string_view accept) {
  std::size_t i = 0;
  while (i <= accept.size()) {
    std::size_t j = accept.find(',', i);
    if (j == std::string_view::npos) j = accept.size();
    std::string_view range = accept.substr(i, j - i);
    AcceptedAs out;
    std::string_view type, group;
    std::size_t k = 0;
    for (bool first = true; k <= range.size(); first = false) {
      std::size_t e = range.find(';', k);
      if (e == std::string_view::npos) e = range.size();
      std::string_view part = range.substr(k, e - k);
      while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
      while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
      if (first) type = part;
      else if (part.starts_with("as=")) out.as = std::string(part.substr(3));
      else if (part.starts_with("g=")) group = part.substr(2);
      else if (part.starts_with("v=")) out.version = std::string(part.substr(2));
      k = e + 1;
    }
    const bool json_type = type.empty() || type == "application/json" || type == "*/*" || type == "application/*";
    if (json_type && (out.as.empty() || group == "meta.k8s.io")) {
      if (out.as.empty()) out.version = "v1";
      return out;
    }
    if (j == accept.size()) break;
    i = j + 1;
  }
  return {};
}

namespace {

// `{"kind":"PartialObjectMetadata",...,"metadata":<the object's metadata bytes>}`.
void AppendPartialMetadata(std::string& out, const store::CachedObject& obj, std::string_view api_version) {
  out += "{\"kind\":\"PartialObjectMetadata\",\"apiVersion\":\"";
  out += api_version;
  out += "\",\"metadata\":";
  out += obj.metadata_json();
  out += '}';
}

// Upstream's answer to a resourceVersion the server has not reached within 3 s: the reflector
// relists from scratch.
Status TooLargeResourceVersion(const std::string& rv, std::int64_t current) {
  return Status::Timeout("Too large resource version: " + rv + ", current: " + std::to_string(current))
      .add_cause({"ResourceVersionTooLarge", "Too large resource version", ""})
      .set_retry_after(1);
}

// The revision a read's resourceVersion names. Not a uint64: 400 at once. A uint64 beyond any
// revision the store can reach (int64): the too-large answer at once, with no wait that cannot end
// well.
Result<store::Revision> ReadRevision(const std::string& rv, store::Revision current) {
  auto v = ParseResourceVersion(rv);
  if (!v) return Err(Status::BadRequest("invalid resource version: \"" + rv + "\""));
  if (*v > static_cast<std::uint64_t>(std::numeric_limits<store::Revision>::max()))
    return Err(TooLargeResourceVersion(rv, current));
  return static_cast<store::Revision>(*v);
}

}  // namespace

std::unique_ptr<Authenticator> NewLocalAdminAuthenticator() { return std::make_unique<LocalAdminAuthenticator>(); }
std::unique_ptr<Authorizer> NewAllowAllAuthorizer() { return std::make_unique<AllowAllAuthorizer>(); }

std::string EncodeForStorage(const json::object& obj) {
  const json::object* meta = GetObject(obj, "metadata");
  if (!meta || !meta->contains("resourceVersion")) return json::serialize(obj);
  json::object copy = obj;
  if (json::object* meta = GetObject(copy, "metadata")) meta->erase("resourceVersion");
  return json::serialize(copy);
}

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
  json::object body;
  body["kind"] = "Status";
  body["apiVersion"] = "v1";
  body["metadata"] = json::object();
  body["status"] = "Failure";
  body["message"] = status.message();
  body["reason"] = std::string(status.reason());
  json::object details;
  if (!name.empty()) details["name"] = std::string(name);
  if (ctx && ctx->res) {
    if (!ctx->res->group.empty()) details["group"] = ctx->res->group;
    // Invalid errors name the kind (kubectl prints "The Widget "x" is invalid"); others the resource.
    details["kind"] = status.code() == StatusCode::kInvalid ? ctx->res->kind : ctx->res->resource;
  }
  if (!status.causes().empty()) {
    json::array causes;
    for (const auto& c : status.causes()) {
      json::object co;
      if (!c.reason.empty()) co["reason"] = c.reason;
      if (!c.message.empty()) co["message"] = c.message;
      if (!c.field.empty()) co["field"] = c.field;
      causes.push_back(std::move(co));
    }
    details["causes"] = std::move(causes);
  }
  if (status.retry_after_seconds()) details["retryAfterSeconds"] = status.retry_after_seconds();
  if (!details.empty()) body["details"] = std::move(details);
  body["code"] = status.http_code();
  HttpResponse r;
  r.status = status.http_code();
  r.body = json::serialize(body);
  if (status.retry_after_seconds()) r.headers.emplace_back("Retry-After", std::to_string(status.retry_after_seconds()));
  if (ctx)
    for (const auto& w : ctx->warnings) r.headers.emplace_back("Warning", "299 - \"" + w + "\"");
  return r;
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
  auto start = std::chrono::steady_clock::now();
  Ctx* ctx = nullptr;
  std::unique_ptr<Ctx> holder;
  HttpResponse resp;
  try {
    resp = route(request, ctx, holder);
  } catch (const std::exception& e) {
    // Handlers return errors as values; this only guards against a bug taking the server down.
    spdlog::error("internal error serving {} {}: {}", request.method, request.target, e.what());
    resp = error(Status::Internal(std::string("internal error: ") + e.what()), ctx);
  }
  metrics_.observe(RequestLabelsOf(request, ctx), resp.status, std::chrono::steady_clock::now() - start);
  return resp;
}

HttpResponse ApiHandler::route(HttpRequest& request, Ctx*& ctx_out, std::unique_ptr<Ctx>& holder) {
  QueryParams q = QueryParams::Parse(request.query);
  bool watch = q.flag("watch");
  auto ri = ParseRequestInfo(request.method, request.path, watch);
  if (!ri) return non_resource(request);
  holder = std::make_unique<Ctx>(request, std::move(q));
  Ctx& ctx = *holder;
  ctx_out = &ctx;
  ctx.ri = std::move(*ri);
  auto user = authn_->authenticate(request);
  if (!user) return error(user.error(), &ctx);
  ctx.user = std::move(*user);
  ctx.reg = registry_.snapshot();
  return resource_request(ctx);
}

HttpResponse ApiHandler::non_resource(HttpRequest& request) {
  const std::string& p = request.path;
  auto text = [](int code, std::string body) {
    HttpResponse r;
    r.status = code;
    r.content_type = "text/plain; charset=utf-8";
    r.body = std::move(body);
    return r;
  };
  if (request.method != "GET" && request.method != "HEAD")
    return error(Status::MethodNotAllowed("the server does not allow this method on the requested resource"), nullptr);
  if (p == "/healthz" || p == "/livez") return text(200, "ok");
  if (p == "/readyz") {
    if (!ready_ || shutting_down_ || !cache_.healthy()) return text(503, "[-]store not ready\nreadyz check failed");
    // A store that cannot be reached or has raised an alarm (etcd's NOSPACE) takes no writes.
    if (store::StoreHealth h = store_.health(); !h.ok()) {
      std::string why = h.reachable ? "alarm " + h.alarms.front() + " raised" : h.detail;
      return text(503, "[-]etcd failed: " + why + "\nreadyz check failed");
    }
    std::map<std::string, ReadyCheck> checks;
    {
      std::lock_guard lock(extra_metrics_mu_);
      checks = ready_checks_;
    }
    std::string failed;
    for (const auto& [name, check] : checks)
      if (auto why = check()) failed += "[-]" + name + " failed: " + *why + "\n";
    if (!failed.empty()) return text(503, failed + "readyz check failed");
    return text(200, "ok");
  }
  if (p == "/version" || p == "/version/") {
    HttpResponse r;
    r.body = json::serialize(json::object{{"major", "1"}, {"minor", "32"}, {"gitVersion", "v1.32.0-setpoint.0.1.0"},
                                          {"gitCommit", ""}, {"gitTreeState", "clean"}, {"buildDate", ""},
                                          {"goVersion", "n/a (C++)"}, {"compiler", "gcc"}, {"platform", "linux/amd64"}});
    return r;
  }
  if (p == "/metrics") {
    std::string out;
    metrics_.render(out);
    {
      store::StoreHealth h = store_.health();
      out += "# HELP setpoint_store_reachable Whether the store backend answers (1) or not (0).\n"
             "# TYPE setpoint_store_reachable gauge\nsetpoint_store_reachable " + std::string(h.reachable ? "1" : "0") + "\n";
      out += "# HELP setpoint_store_alarm An alarm the store backend raised (etcd: NOSPACE, CORRUPT).\n"
             "# TYPE setpoint_store_alarm gauge\n";
      for (const auto& a : h.alarms) out += "setpoint_store_alarm{alarm=\"" + a + "\"} 1\n";
    }
    {
      std::function<std::string()> extra;
      std::function<ConnectionStats()> connections;
      {
        std::lock_guard lock(extra_metrics_mu_);
        extra = extra_metrics_;
        connections = connection_stats_;
      }
      if (extra) out += extra();
      if (connections) {
        const ConnectionStats c = connections();
        auto family = [&out](const char* name, const char* type, const char* help, std::uint64_t v) {
          out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
                 std::to_string(v) + "\n";
        };
        family("setpoint_http_connections_open", "gauge", "Client connections open.", c.open);
        family("setpoint_http_connections_max", "gauge", "The limit on client connections open at once.", c.max);
        family("setpoint_http_connections_refused_total", "counter",
               "Connections refused with 503 because a connection limit was reached.", c.refused);
        family("setpoint_http_connections_reclaimed_total", "counter",
               "Idle keep-alive connections closed to make room for new ones.", c.reclaimed);
        family("setpoint_http_accept_failures_total", "counter",
               "accept() failures (out of descriptors, say), each followed by a pause.", c.accept_failures);
      }
    }
    auto st = store_.commit_stats();
    out += "# HELP setpoint_store_commits_total Store transactions committed.\n# TYPE setpoint_store_commits_total counter\n";
    out += "setpoint_store_commits_total " + std::to_string(st.commits) + "\n";
    out += "# HELP setpoint_store_writes_total Writes committed (a commit batches several).\n# TYPE setpoint_store_writes_total counter\n";
    out += "setpoint_store_writes_total " + std::to_string(st.writes) + "\n";
    out += "# HELP setpoint_store_write_failures_total Writes the store could not commit for a reason of its own "
           "(a full disk, an I/O error, etcd away or out of quota).\n# TYPE setpoint_store_write_failures_total counter\n";
    out += "setpoint_store_write_failures_total " + std::to_string(st.failed_writes) + "\n";
    out += "# HELP setpoint_store_commit_batch_size_average Average writes per commit.\n# TYPE setpoint_store_commit_batch_size_average gauge\n";
    out += "setpoint_store_commit_batch_size_average " +
           std::to_string(st.commits ? static_cast<double>(st.writes) / static_cast<double>(st.commits) : 0.0) + "\n";
    out += "# HELP setpoint_store_commit_duration_seconds Latency of store commits (fsync included).\n# TYPE setpoint_store_commit_duration_seconds histogram\n";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < 12; ++i) {
      cumulative += st.commit_micros_buckets[i];
      out += "setpoint_store_commit_duration_seconds_bucket{le=\"" + std::to_string(static_cast<double>(store::kCommitBucketsMicros[i]) / 1e6) +
             "\"} " + std::to_string(cumulative) + "\n";
    }
    out += "setpoint_store_commit_duration_seconds_bucket{le=\"+Inf\"} " + std::to_string(st.commits) + "\n";
    out += "setpoint_store_commit_duration_seconds_sum " + std::to_string(static_cast<double>(st.commit_micros_sum) / 1e6) + "\n";
    out += "setpoint_store_commit_duration_seconds_count " + std::to_string(st.commits) + "\n";
    out += "# HELP apiserver_registered_watchers Open watch streams.\n# TYPE apiserver_registered_watchers gauge\n";
    out += "apiserver_registered_watchers " + std::to_string(open_watches()) + "\n";
    out += "# HELP setpoint_store_objects Objects in the watch cache.\n# TYPE setpoint_store_objects gauge\n";
    out += "setpoint_store_objects " + std::to_string(cache_.object_count()) + "\n";
    out += "# HELP setpoint_store_revision Current store revision.\n# TYPE setpoint_store_revision gauge\n";
    out += "setpoint_store_revision " + std::to_string(cache_.revision()) + "\n";
    HttpResponse r = text(200, std::move(out));
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return r;
  }
  auto reg = registry_.snapshot();
  std::string_view accept = request.header("accept");
  auto serve = [&](const std::string& legacy, const std::string& v2, const std::string& v2beta1) {
    HttpResponse r;
    int agg = AggregatedVersion(accept);
    if (agg == 2) {
      r.body = v2;
      r.content_type = std::string(kAggV2);
    } else if (agg == 1) {
      r.body = v2beta1;
      r.content_type = std::string(kAggV2beta1);
    } else {
      r.body = legacy;
    }
    r.headers.emplace_back("Vary", "Accept");
    return r;
  };
  std::string path = p;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  if (path == "/api") return serve(reg->api_legacy, reg->api_aggregated_v2, reg->api_aggregated_v2beta1);
  if (path == "/apis") return serve(reg->apis_legacy, reg->apis_aggregated_v2, reg->apis_aggregated_v2beta1);
  if (auto it = reg->resource_lists.find(path); it != reg->resource_lists.end()) {
    HttpResponse r;
    r.body = it->second;
    return r;
  }
  if (auto it = reg->group_docs.find(path); it != reg->group_docs.end()) {
    HttpResponse r;
    r.body = it->second;
    return r;
  }
  if (path == "/openapi/v3") {
    HttpResponse r;
    r.body = reg->openapi_root;
    return r;
  }
  if (path.rfind("/openapi/v3/", 0) == 0) {
    auto it = reg->openapi_docs.find(path.substr(12));
    if (it != reg->openapi_docs.end()) {
      HttpResponse r;
      r.body = it->second;
      return r;
    }
  }
  if (path == "/") {
    HttpResponse r;
    json::array paths{"/api", "/api/v1", "/apis", "/healthz", "/livez", "/metrics", "/openapi/v3", "/readyz", "/version"};
    for (auto& [k, _] : reg->group_docs) paths.emplace_back(k);
    for (auto& [k, _] : reg->resource_lists) paths.emplace_back(k);
    r.body = json::serialize(json::object{{"paths", std::move(paths)}});
    return r;
  }
  // /openapi/v2 (JSON or protobuf) is deliberately absent: kubectl 1.29+ tolerates the 404.
  return error(Status::NotFound("the server could not find the requested resource"), nullptr);
}

std::optional<HttpResponse> ApiHandler::check_resource_request(Ctx& ctx, bool may_block) {
  ctx.res = ctx.reg->find(ctx.ri.group, ctx.ri.resource);
  if (!ctx.res && may_block) {
    // Maybe a CRD was just created: wait for the registry to catch up with the store once.
    if (registry_.wait_for(store_.current_revision(), std::chrono::milliseconds(500))) {
      ctx.reg = registry_.snapshot();
      ctx.res = ctx.reg->find(ctx.ri.group, ctx.ri.resource);
    }
  }
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
    if (*dr == "All") ctx.dry_run = true;
    else if (!dr->empty())
      return error(Status::BadRequest("Invalid dryRun value: \"" + *dr + "\"; supported values: \"All\""), &ctx);
  }
  if (auto fv = ctx.q.get("fieldValidation")) {
    if (*fv == "Strict" || *fv == "Warn" || *fv == "Ignore") ctx.field_validation = *fv;
    else if (!fv->empty())
      return error(Status::BadRequest("fieldValidation must be one of \"Ignore\", \"Warn\" or \"Strict\", got \"" + *fv + "\""), &ctx);
  } else {
    ctx.field_validation = "Warn";
  }
  return std::nullopt;
}

HttpResponse ApiHandler::resource_request(Ctx& ctx) {
  if (auto err = check_resource_request(ctx, true)) return std::move(*err);
  const std::string& verb = ctx.ri.verb;
  if (verb == "get" || verb == "list" || verb == "watch")
    if (auto bad = unacceptable(ctx, verb == "list")) return error(*bad, &ctx);
  if (verb == "get") return do_get(ctx);
  if (verb == "list") return do_list(ctx);
  if (verb == "watch") return do_watch(ctx);
  if (verb == "create") {
    if (!ctx.ri.name.empty())
      return error(Status::MethodNotAllowed("the server does not allow this method on the requested resource"), &ctx);
    return do_create(ctx);
  }
  if (verb == "update") return do_update(ctx);
  if (verb == "patch") return do_patch(ctx);
  if (verb == "delete") return do_delete(ctx);
  if (verb == "deletecollection") return do_delete_collection(ctx);
  return error(Status::MethodNotAllowed("the server does not allow this method on the requested resource"), &ctx);
}

void ApiHandler::wait_consistent() {
  cache_.wait_for(store_.current_revision(), std::chrono::seconds(3));
}

bool ApiHandler::wants_table(const Ctx& ctx) const { return ctx.accept.as == "Table"; }

std::optional<std::string> ApiHandler::wants_metadata(const Ctx& ctx, bool list) const {
  const AcceptedAs& a = ctx.accept;
  if (a.as != (list ? "PartialObjectMetadataList" : "PartialObjectMetadata")) return std::nullopt;
  return "meta.k8s.io/" + a.version;
}

std::optional<Status> ApiHandler::unacceptable(const Ctx& ctx, bool list) const {
  const AcceptedAs& a = ctx.accept;
  if (a.as.empty() || a.as == "Table") return std::nullopt;
  const std::string_view want = list ? "PartialObjectMetadataList" : "PartialObjectMetadata";
  if (a.as == want && (a.version == "v1" || a.version == "v1beta1")) return std::nullopt;
  return Status::NotAcceptable("only the following media types are accepted: application/json, "
                               "application/json;as=Table;g=meta.k8s.io;v=v1, application/json;as=" +
                               std::string(want) + ";g=meta.k8s.io;v=v1");
}

std::string ApiHandler::render_for_version(const Ctx& ctx, const store::CachedObject& obj) const {
  if (ctx.ri.version == ctx.res->storage_version) return std::string(obj.json);
  // Conversion strategy None: only apiVersion changes.
  auto parsed = ParseJson(obj.json);
  if (!parsed || !parsed->is_object()) return std::string(obj.json);
  parsed->get_object()["apiVersion"] = ctx.api_version();
  return json::serialize(*parsed);
}

HttpResponse ApiHandler::object_response(Ctx& ctx, int code, const store::CachedObjectPtr& obj) {
  HttpResponse r;
  r.status = code;
  for (const auto& w : ctx.warnings) r.headers.emplace_back("Warning", "299 - \"" + w + "\"");
  if (wants_table(ctx) && ctx.ri.verb == "get") {
    std::string out;
    if (Status s = table_from(ctx, {obj}, obj->revision, "", out); !s.ok()) return error(s, &ctx);
    r.body = std::move(out);
    return r;
  }
  if (auto meta_version = wants_metadata(ctx, false)) {
    AppendPartialMetadata(r.body, *obj, *meta_version);
    return r;
  }
  if (ctx.ri.version == ctx.res->storage_version)
    r.shared_body = SharedBytes(obj, obj->json);
  else
    r.body = render_for_version(ctx, *obj);
  return r;
}

HttpResponse ApiHandler::json_response(Ctx& ctx, int code, const json::object& obj) {
  HttpResponse r;
  r.status = code;
  for (const auto& w : ctx.warnings) r.headers.emplace_back("Warning", "299 - \"" + w + "\"");
  r.body = json::serialize(obj);
  return r;
}

Status ApiHandler::table_from(Ctx& ctx, const std::vector<store::CachedObjectPtr>& items, store::Revision rv,
                              const std::string& cont, std::string& out) {
  json::object table;
  table["kind"] = "Table";
  table["apiVersion"] = "meta.k8s.io/v1";
  json::object meta{{"resourceVersion", std::to_string(rv)}};
  if (!cont.empty()) meta["continue"] = cont;
  table["metadata"] = std::move(meta);
  table["columnDefinitions"] = TableColumns(ctx.ver->columns);
  bool include_object = ctx.q.get("includeObject").value_or("Metadata") != "None";
  json::array rows;
  WallTime now = clock_->now();
  for (const auto& o : items) {
    auto parsed = ParseJson(o->json);
    if (!parsed || !parsed->is_object()) continue;
    rows.push_back(TableRow(ctx.ver->columns, parsed->get_object(), now, include_object));
  }
  table["rows"] = std::move(rows);
  out = json::serialize(table);
  return Status::Ok();
}

Result<store::Filter> ApiHandler::make_filter(Ctx& ctx, const std::string& prefix) {
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
      if (req.field != "metadata.name" && req.field != "metadata.namespace" && !ctx.res->selectable_fields.count(req.field))
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

// ---------------------------------------------------------------------------------------------
// Reads

HttpResponse ApiHandler::do_get(Ctx& ctx) {
  const ResourceInfo& res = *ctx.res;
  auto rv = ctx.q.get("resourceVersion");
  if (!rv || rv->empty()) wait_consistent();
  else if (auto parsed = ReadRevision(*rv, cache_.revision()); !parsed) return error(parsed.error(), &ctx);
  auto obj = cache_.get(res.key(ctx.ri.ns, ctx.ri.name));
  if (!obj) return error(Status::NotFound(QualifiedResource(res) + " \"" + ctx.ri.name + "\" not found"), &ctx, ctx.ri.name);
  if (ctx.ri.subresource == "log") return do_log(ctx, obj->json);
  if (ctx.ri.subresource == "scale") {
    auto parsed = ParseJson(obj->json);
    if (!parsed) return error(parsed.error(), &ctx);
    json::object scale;
    const json::object& o = parsed->get_object();
    scale["kind"] = "Scale";
    scale["apiVersion"] = "autoscaling/v1";
    const json::object* meta = GetObject(o, "metadata");
    json::object smeta;
    for (const char* k : {"name", "namespace", "uid", "resourceVersion", "creationTimestamp"})
      if (meta && meta->contains(k)) smeta[k] = meta->at(k);
    scale["metadata"] = std::move(smeta);
    auto spec_r = EvalJsonPath(*parsed, res.spec_replicas_path);
    auto status_r = EvalJsonPath(*parsed, res.status_replicas_path);
    scale["spec"] = {{"replicas", !spec_r.empty() && spec_r[0]->is_number() ? *spec_r[0] : json::value(0)}};
    json::object status{{"replicas", !status_r.empty() && status_r[0]->is_number() ? *status_r[0] : json::value(0)}};
    if (!res.label_selector_path.empty()) {
      auto sel = EvalJsonPath(*parsed, res.label_selector_path);
      if (!sel.empty() && sel[0]->is_string()) status["selector"] = *sel[0];
    }
    scale["status"] = std::move(status);
    return json_response(ctx, 200, scale);
  }
  return object_response(ctx, 200, obj);
}

HttpResponse ApiHandler::do_list(Ctx& ctx) {
  const ResourceInfo& res = *ctx.res;
  std::string prefix = res.key_prefix();
  if (res.namespaced && !ctx.ri.ns.empty()) prefix += ctx.ri.ns + "/";
  auto filter = make_filter(ctx, prefix);
  if (!filter) return error(filter.error(), &ctx);

  std::size_t limit = 0;
  if (auto l = ctx.q.get("limit"); l && !l->empty()) {
    auto v = ParseUnsigned(*l);
    if (!v) return error(Status::BadRequest("invalid limit: \"" + *l + "\""), &ctx);
    limit = static_cast<std::size_t>(std::min<std::uint64_t>(*v, std::numeric_limits<std::size_t>::max()));
  }
  auto rv_param = ctx.q.get("resourceVersion");
  auto match = ctx.q.get("resourceVersionMatch").value_or("");
  store::Revision at = 0;
  std::string after_key;
  if (!match.empty() && match != "Exact" && match != "NotOlderThan")
    return error(Status::BadRequest("resourceVersionMatch: Unsupported value: \"" + match + "\""), &ctx);
  if (!match.empty() && (!rv_param || rv_param->empty()))
    return error(InvalidStatus(res, "", {{"FieldValueForbidden", "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided", "resourceVersionMatch"}}), &ctx);
  if (auto cont = ctx.q.get("continue"); cont && !cont->empty()) {
    if (rv_param && !rv_param->empty())
      return error(Status::BadRequest("specifying resource version is not allowed when using continue"), &ctx);
    auto decoded = Base64Decode(*cont);
    auto token = decoded ? ParseJson(*decoded) : Result<json::value>(Err(decoded.error()));
    if (!token || !token->is_object())
      return error(Status::BadRequest("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"), &ctx);
    auto rv = GetInt(token->get_object(), "rv");
    auto start = GetString(token->get_object(), "start");
    if (!rv || !start || *rv <= 0)
      return error(Status::BadRequest("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"), &ctx);
    at = *rv;
    after_key = prefix + std::string(*start);
  } else if (rv_param && !rv_param->empty()) {
    auto parsed = ReadRevision(*rv_param, cache_.revision());
    if (!parsed) return error(parsed.error(), &ctx);
    const store::Revision v = *parsed;
    if (v > 0) {
      if (!cache_.wait_for(v, std::chrono::seconds(3)))
        return error(TooLargeResourceVersion(*rv_param, cache_.revision()), &ctx);
      // An RV with a limit means Exact in the legacy semantics (KEP-2523).
      if (match == "Exact" || (match.empty() && limit > 0)) at = v;
    }
  } else {
    wait_consistent();
  }
  if (at && at == cache_.revision()) at = 0;
  auto page = cache_.list(*filter, at, after_key, limit);
  if (!page) {
    if (page.error().code() == StatusCode::kExpired && ctx.q.has("continue"))
      return error(Status::Expired("The provided continue parameter is too old to display a consistent list result. "
                                   "You can start a new list without the continue parameter."), &ctx);
    return error(page.error(), &ctx);
  }
  std::string cont;
  if (!page->continue_after.empty()) {
    json::object token{{"v", "meta.k8s.io/v1"}, {"rv", page->revision}, {"start", page->continue_after.substr(prefix.size()) + std::string(1, '\0')}};
    cont = Base64Encode(json::serialize(token));
  }
  HttpResponse r;
  if (wants_table(ctx)) {
    if (Status s = table_from(ctx, page->items, page->revision, cont, r.body); !s.ok()) return error(s, &ctx);
    return r;
  }
  const std::optional<std::string> meta_version = wants_metadata(ctx, true);
  std::string head = "{\"kind\":\"" + (meta_version ? std::string("PartialObjectMetadataList") : res.list_kind) +
                     "\",\"apiVersion\":\"" + (meta_version ? *meta_version : ctx.api_version()) +
                     "\",\"metadata\":{\"resourceVersion\":\"" + std::to_string(page->revision) + "\"";
  if (!cont.empty()) {
    head += ",\"continue\":\"" + cont + "\"";
    if (page->remaining >= 0) head += ",\"remainingItemCount\":" + std::to_string(page->remaining);
  }
  head += "},\"items\":[";
  if (!meta_version && ctx.ri.version == res.storage_version) {
    // The cached bytes of each object as they are: the body is gathered from them when written,
    // so a list of any size is neither copied nor held twice.
    static const auto kComma = std::make_shared<const std::string>(",");
    static const auto kTail = std::make_shared<const std::string>("]}");
    r.pieces.reserve(page->items.size() * 2 + 2);
    r.pieces.push_back(std::make_shared<const std::string>(std::move(head)));
    for (std::size_t i = 0; i < page->items.size(); ++i) {
      if (i) r.pieces.push_back(kComma);
      r.pieces.emplace_back(page->items[i], page->items[i]->json);
    }
    r.pieces.push_back(kTail);
    return r;
  }
  std::string& out = r.body;
  std::size_t total = head.size() + 2;
  for (const auto& o : page->items) total += (meta_version ? o->metadata_json().size() + 80 : o->json.size()) + 1;
  out.reserve(total);
  out += head;
  bool first = true;
  for (const auto& o : page->items) {
    if (!first) out.push_back(',');
    first = false;
    if (meta_version) AppendPartialMetadata(out, *o, *meta_version);
    else out += render_for_version(ctx, *o);
  }
  out += "]}";
  return r;
}

HttpResponse ApiHandler::do_watch(Ctx& ctx) {
  if (shutting_down_) return error(Status::Unavailable("the server is shutting down"), &ctx);
  const ResourceInfo& res = *ctx.res;
  std::string prefix = res.key_prefix();
  if (res.namespaced && !ctx.ri.ns.empty()) prefix += ctx.ri.ns + "/";
  auto filter = make_filter(ctx, prefix);
  if (!filter) return error(filter.error(), &ctx);
  if (!ctx.ri.name.empty()) {
    // GET .../widgets/foo?watch=true: the old per-object watch form.
    std::string name = ctx.ri.name;
    auto inner = filter->matches;
    filter->matches = [name, inner](const store::CachedObject& o) { return o.name() == name && (!inner || inner(o)); };
  }
  WatchOptions opts;
  opts.bookmarks = ctx.q.flag("allowWatchBookmarks");
  auto rv_param = ctx.q.get("resourceVersion").value_or("");
  auto match = ctx.q.get("resourceVersionMatch").value_or("");
  bool send_initial = ctx.q.flag("sendInitialEvents");
  if (auto t = ctx.q.get("timeoutSeconds"); t && !t->empty()) {
    auto v = ParseUnsigned(*t);
    if (!v) return error(Status::BadRequest("invalid timeoutSeconds: \"" + *t + "\""), &ctx);
    opts.timeout = std::chrono::seconds(std::min<std::uint64_t>(*v, 10ULL * 365 * 24 * 3600));
  } else {
    opts.timeout = std::chrono::seconds(1800);
  }
  store::Revision rv = 0;
  if (!rv_param.empty()) {
    auto parsed = ReadRevision(rv_param, cache_.revision());
    if (!parsed) return error(parsed.error(), &ctx);
    rv = *parsed;
  }
  store::WatchCache::WatchStart start;
  if (ctx.q.has("sendInitialEvents")) {
    if (match != "NotOlderThan")
      return error(InvalidStatus(res, "", {{"FieldValueForbidden", "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan", "sendInitialEvents"}}), &ctx);
    if (send_initial && !opts.bookmarks)
      return error(InvalidStatus(res, "", {{"FieldValueForbidden", "Forbidden: sendInitialEvents requires allowWatchBookmarks=true", "allowWatchBookmarks"}}), &ctx);
  } else if (!match.empty()) {
    return error(InvalidStatus(res, "", {{"FieldValueForbidden", "Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided", "resourceVersionMatch"}}), &ctx);
  }
  if (send_initial || rv_param.empty() || rv == 0) {
    // Current state first: an empty RV means a consistent snapshot, "0" any recent state.
    if (rv > 0 && !cache_.wait_for(rv, std::chrono::seconds(3)))
      return error(TooLargeResourceVersion(rv_param, cache_.revision()), &ctx);
    if (rv_param.empty()) wait_consistent();
    if (send_initial || !ctx.q.has("sendInitialEvents")) {
      start.initial_state = true;
      start.initial_end_bookmark = send_initial;
    } else {
      // sendInitialEvents=false: start watching from the given (or current) revision.
      start.after = rv ? rv : cache_.revision();
    }
  } else {
    if (!cache_.wait_for(rv, std::chrono::seconds(3)))
      return error(TooLargeResourceVersion(rv_param, cache_.revision()), &ctx);
    start.after = rv;
  }
  opts.table = wants_table(ctx);
  opts.kind = res.kind;
  opts.api_version = ctx.api_version();
  if (auto meta_version = wants_metadata(ctx, false)) {
    opts.metadata_only = true;
    opts.kind = "PartialObjectMetadata";
    opts.api_version = *meta_version;
  }
  opts.convert_version = ctx.ri.version != res.storage_version;
  opts.columns = ctx.ver->columns;
  opts.include_object = ctx.q.get("includeObject").value_or("Metadata") != "None";
  auto stream = std::make_shared<WatchStream>(*this, cache_, clock_, std::move(opts));
  auto started = stream->start(std::move(*filter), start);
  HttpResponse r;
  r.status = 200;
  r.content_type = "application/json";
  r.headers.emplace_back("Transfer-Encoding", "chunked");
  if (!started.ok()) {
    if (started.code() != StatusCode::kExpired) return error(started, &ctx);
    // Upstream answers 200 and then an ERROR event with the 410 Status.
    stream->fail_with(started);
  }
  {
    std::lock_guard lock(watches_mu_);
    watches_.insert(stream.get());
  }
  r.headers.clear();
  r.stream = stream;
  return r;
}

}  // namespace setpoint::apiserver
