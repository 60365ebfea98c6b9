// GET of an object, a list (pages, selectors, resourceVersion semantics, Table and metadata-only
// renderings, the body gathered from cached bytes) and a watch.
#include <algorithm>
#include <limits>

#include <boost/json.hpp>

#include "apiserver/api_context.h"
#include "apiserver/codec.h"
#include "apiserver/table.h"
#include "apiserver/watch_stream.h"
#include "setpoint/common/base64.h"
#include "setpoint/common/json.h"

namespace setpoint::apiserver {

namespace json = boost::json;

namespace {

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

HttpResponse ApiHandler::do_get(const Ctx& ctx) {
  const ResourceInfo& res = *ctx.res;
  auto rv = ctx.q.get("resourceVersion");
  if (!rv || rv->empty())
    wait_consistent();
  else if (auto parsed = ReadRevision(*rv, cache_.revision()); !parsed)
    return error(parsed.error(), &ctx);
  auto obj = cache_.get(res.key(ctx.ri.ns, ctx.ri.name));
  if (!obj)
    return error(Status::NotFound(QualifiedResource(res) + " \"" + ctx.ri.name + "\" not found"), &ctx, ctx.ri.name);
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

HttpResponse ApiHandler::do_list(const Ctx& ctx) {
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
    return error(InvalidStatus(res, "",
                               {{"FieldValueForbidden",
                                 "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
                                 "resourceVersionMatch"}}),
                 &ctx);
  if (auto cont = ctx.q.get("continue"); cont && !cont->empty()) {
    if (rv_param && !rv_param->empty())
      return error(Status::BadRequest("specifying resource version is not allowed when using continue"), &ctx);
    auto decoded = Base64Decode(*cont);
    auto token = decoded ? ParseJson(*decoded) : Result<json::value>(Err(decoded.error()));
    if (!token || !token->is_object())
      return error(Status::BadRequest(
                       "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"),
                   &ctx);
    auto rv = GetInt(token->get_object(), "rv");
    auto start = GetString(token->get_object(), "start");
    if (!rv || !start || *rv <= 0)
      return error(Status::BadRequest(
                       "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"),
                   &ctx);
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
                                   "You can start a new list without the continue parameter."),
                   &ctx);
    return error(page.error(), &ctx);
  }
  std::string cont;
  if (!page->continue_after.empty()) {
    json::object token{{"v", "meta.k8s.io/v1"},
                       {"rv", page->revision},
                       {"start", page->continue_after.substr(prefix.size()) + std::string(1, '\0')}};
    cont = Base64Encode(json::serialize(token));
  }
  HttpResponse r;
  if (ctx.accept.as == "Table") {
    r.body = table(ctx, page->items, page->revision, cont);
    return r;
  }
  const std::optional<std::string> meta_version = MetadataVersion(ctx.accept, true);
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
    if (meta_version)
      AppendPartialMetadata(out, *o, *meta_version);
    else
      out += RenderForVersion(*ctx.res, ctx.ri.version, *o);
  }
  out += "]}";
  return r;
}

HttpResponse ApiHandler::do_watch(const Ctx& ctx) {
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
      return error(InvalidStatus(res, "",
                                 {{"FieldValueForbidden",
                                   "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
                                   "sendInitialEvents"}}),
                   &ctx);
    if (send_initial && !opts.bookmarks)
      return error(
          InvalidStatus(res, "",
                        {{"FieldValueForbidden", "Forbidden: sendInitialEvents requires allowWatchBookmarks=true",
                          "allowWatchBookmarks"}}),
          &ctx);
  } else if (!match.empty()) {
    return error(
        InvalidStatus(res, "",
                      {{"FieldValueForbidden",
                        "Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
                        "resourceVersionMatch"}}),
        &ctx);
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
  opts.table = ctx.accept.as == "Table";
  opts.kind = res.kind;
  opts.api_version = ctx.api_version();
  if (auto meta_version = MetadataVersion(ctx.accept, false)) {
    opts.metadata_only = true;
    opts.kind = "PartialObjectMetadata";
    opts.api_version = *meta_version;
  }
  opts.convert_version = ctx.ri.version != res.storage_version;
  opts.columns = ctx.ver->columns;
  opts.include_object = ctx.q.get("includeObject").value_or("Metadata") != "None";
  auto stream =
      std::make_shared<WatchStream>([this](WatchStream* s) { forget_watch(s); }, cache_, clock_, std::move(opts));
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
