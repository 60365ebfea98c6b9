#include "apiserver/metrics.h"

#include <fmt/format.h>

namespace setpoint::apiserver {

namespace {

// The methods recorded by name; any other is "other" (Beast accepts any token as a method).
std::string_view KnownMethod(std::string_view m) {
  for (std::string_view known : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"})
    if (m == known) return known;
  return "other";
}

bool KnownSubresource(std::string_view s) {
  return s.empty() || s == "status" || s == "scale" || s == "log" || s == "finalize";
}

std::string Labels(const RequestLabels& l) {
  return fmt::format(
      "verb=\"{}\",dry_run=\"{}\",group=\"{}\",version=\"{}\",resource=\"{}\",subresource=\"{}\","
      "scope=\"{}\",component=\"{}\"",
      EscapeLabelValue(l.verb), EscapeLabelValue(l.dry_run), EscapeLabelValue(l.group), EscapeLabelValue(l.version),
      EscapeLabelValue(l.resource), EscapeLabelValue(l.subresource), EscapeLabelValue(l.scope),
      EscapeLabelValue(l.component));
}

}  // namespace

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out.push_back(c);
  }
  return out;
}

RequestLabels LabelsFor(std::string_view method, const RequestInfo* ri, bool served, bool watch, bool dry_run,
                        std::string_view content_type) {
  RequestLabels l;
  l.verb = std::string(KnownMethod(method));
  l.dry_run = dry_run ? "All" : "";
  if (!ri || !ri->is_resource || !served || !KnownSubresource(ri->subresource)) return l;
  l.group = ri->group;
  l.version = ri->version;
  l.resource = ri->resource;
  l.subresource = ri->subresource;
  l.scope = !ri->name.empty() ? "resource" : !ri->ns.empty() ? "namespace" : "cluster";
  // kube-apiserver's reported verb: GET of a collection is LIST, a watch is WATCH, an apply
  // patch is APPLY; the rest is the method.
  if (method == "GET" || method == "HEAD")
    l.verb = watch ? "WATCH" : ri->name.empty() ? "LIST" : "GET";
  else if (method == "PATCH" && content_type.starts_with("application/apply-patch"))
    l.verb = "APPLY";
  return l;
}

void RequestMetrics::observe(const RequestLabels& labels, int code, std::chrono::nanoseconds latency) {
  double secs = std::chrono::duration<double>(latency).count();
  std::lock_guard lock(mu_);
  ++totals_[{labels, code}];
  Histogram& h = latency_[labels];
  ++h.count;
  h.sum += secs;
  for (std::size_t i = 0; i < kBuckets.size(); ++i)
    if (secs <= kBuckets[i]) ++h.buckets[i];
}

void RequestMetrics::render(std::string& out) const {
  std::lock_guard lock(mu_);
  out +=
      "# HELP apiserver_request_total Counter of apiserver requests broken out for each verb, dry run value, "
      "group, version, resource, scope, component, and HTTP response code.\n";
  out += "# TYPE apiserver_request_total counter\n";
  for (const auto& [k, v] : totals_)
    out += fmt::format("apiserver_request_total{{{},code=\"{}\"}} {}\n", Labels(k.first), k.second, v);
  out +=
      "# HELP apiserver_request_duration_seconds Response latency distribution in seconds for each verb, dry run "
      "value, group, version, resource, subresource, scope and component.\n";
  out += "# TYPE apiserver_request_duration_seconds histogram\n";
  for (const auto& [k, h] : latency_) {
    const std::string labels = Labels(k);
    for (std::size_t i = 0; i < kBuckets.size(); ++i)  // observe() keeps the buckets cumulative
      out += fmt::format("apiserver_request_duration_seconds_bucket{{{},le=\"{}\"}} {}\n", labels, kBuckets[i],
                         h.buckets[i]);
    out += fmt::format("apiserver_request_duration_seconds_bucket{{{},le=\"+Inf\"}} {}\n", labels, h.count);
    out += fmt::format("apiserver_request_duration_seconds_sum{{{}}} {}\n", labels, h.sum);
    out += fmt::format("apiserver_request_duration_seconds_count{{{}}} {}\n", labels, h.count);
  }
}

}  // namespace setpoint::apiserver
