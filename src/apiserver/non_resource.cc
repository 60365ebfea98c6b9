// The requests that name no resource: /healthz, /livez, /readyz (with its named checks),
// /version, /metrics, discovery (legacy and aggregated) and /openapi/v3.
#include <algorithm>

#include <boost/json.hpp>

#include "apiserver/api_context.h"
#include "setpoint/common/json.h"

namespace setpoint::apiserver {

namespace json = boost::json;

namespace {

// One unlabelled metric family in the text exposition format: HELP, TYPE and its sample.
void AppendMetric(std::string& out, std::string_view name, std::string_view type, std::string_view help,
                  const std::string& value) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
  out.append(name).append(" ").append(value).append("\n");
}

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
      std::lock_guard lock(hooks_mu_);
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
    r.body = json::serialize(json::object{{"major", "1"},
                                          {"minor", "32"},
                                          {"gitVersion", "v1.32.0-setpoint.0.1.0"},
                                          {"gitCommit", ""},
                                          {"gitTreeState", "clean"},
                                          {"buildDate", ""},
                                          {"goVersion", "n/a (C++)"},
                                          {"compiler", "gcc"},
                                          {"platform", "linux/amd64"}});
    return r;
  }
  if (p == "/metrics") {
    std::string out;
    metrics_.render(out);
    {
      store::StoreHealth h = store_.health();
      out +=
          "# HELP setpoint_store_reachable Whether the store backend answers (1) or not (0).\n"
          "# TYPE setpoint_store_reachable gauge\nsetpoint_store_reachable " +
          std::string(h.reachable ? "1" : "0") + "\n";
      out +=
          "# HELP setpoint_store_alarm An alarm the store backend raised (etcd: NOSPACE, CORRUPT).\n"
          "# TYPE setpoint_store_alarm gauge\n";
      for (const auto& a : h.alarms) out += "setpoint_store_alarm{alarm=\"" + a + "\"} 1\n";
    }
    {
      std::function<std::string()> extra;
      std::function<ConnectionStats()> connections;
      {
        std::lock_guard lock(hooks_mu_);
        extra = extra_metrics_;
        connections = connection_stats_;
      }
      if (extra) out += extra();
      if (connections) {
        const ConnectionStats c = connections();
        auto family = [&out](const char* name, const char* type, const char* help, std::uint64_t v) {
          AppendMetric(out, name, type, help, std::to_string(v));
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
    AppendMetric(out, "setpoint_store_commits_total", "counter", "Store transactions committed.",
                 std::to_string(st.commits));
    AppendMetric(out, "setpoint_store_writes_total", "counter", "Writes committed (a commit batches several).",
                 std::to_string(st.writes));
    AppendMetric(out, "setpoint_store_write_failures_total", "counter",
                 "Writes the store could not commit for a reason of its own (a full disk, an I/O error, etcd away "
                 "or out of quota).",
                 std::to_string(st.failed_writes));
    AppendMetric(out, "setpoint_store_commit_batch_size_average", "gauge", "Average writes per commit.",
                 std::to_string(st.commits ? static_cast<double>(st.writes) / static_cast<double>(st.commits) : 0.0));
    out +=
        "# HELP setpoint_store_commit_duration_seconds Latency of store commits (fsync included).\n# TYPE "
        "setpoint_store_commit_duration_seconds histogram\n";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < 12; ++i) {
      cumulative += st.commit_micros_buckets[i];
      out += "setpoint_store_commit_duration_seconds_bucket{le=\"" +
             std::to_string(static_cast<double>(store::kCommitBucketsMicros[i]) / 1e6) + "\"} " +
             std::to_string(cumulative) + "\n";
    }
    out += "setpoint_store_commit_duration_seconds_bucket{le=\"+Inf\"} " + std::to_string(st.commits) + "\n";
    out += "setpoint_store_commit_duration_seconds_sum " +
           std::to_string(static_cast<double>(st.commit_micros_sum) / 1e6) + "\n";
    out += "setpoint_store_commit_duration_seconds_count " + std::to_string(st.commits) + "\n";
    AppendMetric(out, "apiserver_registered_watchers", "gauge", "Open watch streams.", std::to_string(open_watches()));
    AppendMetric(out, "setpoint_store_objects", "gauge", "Objects in the watch cache.",
                 std::to_string(cache_.object_count()));
    AppendMetric(out, "setpoint_store_revision", "gauge", "Current store revision.", std::to_string(cache_.revision()));
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
    json::array paths{"/api",     "/api/v1",     "/apis",   "/healthz", "/livez",
                      "/metrics", "/openapi/v3", "/readyz", "/version"};
    for (auto& [k, _] : reg->group_docs) paths.emplace_back(k);
    for (auto& [k, _] : reg->resource_lists) paths.emplace_back(k);
    r.body = json::serialize(json::object{{"paths", std::move(paths)}});
    return r;
  }
  // /openapi/v2 (JSON or protobuf) is deliberately absent: kubectl 1.29+ tolerates the 404.
  return error(Status::NotFound("the server could not find the requested resource"), nullptr);
}
}  // namespace setpoint::apiserver
