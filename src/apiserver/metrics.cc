#include "apiserver/metrics.h"

#include <fmt/format.h>

namespace setpoint::apiserver {

void RequestMetrics::observe(const std::string& verb, const std::string& group,
                             const std::string& resource, int code, std::chrono::nanoseconds latency) {
  double secs = std::chrono::duration<double>(latency).count();
  std::lock_guard lock(mu_);
  ++totals_[{verb, group, resource, code}];
  Histogram& h = latency_[{verb, group, resource}];
  ++h.count;
  h.sum += secs;
  for (std::size_t i = 0; i < kBuckets.size(); ++i)
    if (secs <= kBuckets[i]) ++h.buckets[i];
}

void RequestMetrics::render(std::string& out) const {
  std::lock_guard lock(mu_);
  out += "# HELP apiserver_request_total Counter of apiserver requests broken out by verb, group, resource and HTTP response code.\n";
  out += "# TYPE apiserver_request_total counter\n";
  for (const auto& [k, v] : totals_) {
    const auto& [verb, group, resource, code] = k;
    out += fmt::format("apiserver_request_total{{verb=\"{}\",group=\"{}\",resource=\"{}\",code=\"{}\"}} {}\n",
                       verb, group, resource, code, v);
  }
  out += "# HELP apiserver_request_duration_seconds Response latency distribution in seconds for each verb, group and resource.\n";
  out += "# TYPE apiserver_request_duration_seconds histogram\n";
  for (const auto& [k, h] : latency_) {
    const auto& [verb, group, resource] = k;
    std::string labels = fmt::format("verb=\"{}\",group=\"{}\",resource=\"{}\"", verb, group, resource);
    for (std::size_t i = 0; i < kBuckets.size(); ++i)
      out += fmt::format("apiserver_request_duration_seconds_bucket{{{},le=\"{}\"}} {}\n", labels, kBuckets[i], h.buckets[i]);
    out += fmt::format("apiserver_request_duration_seconds_bucket{{{},le=\"+Inf\"}} {}\n", labels, h.count);
    out += fmt::format("apiserver_request_duration_seconds_sum{{{}}} {}\n", labels, h.sum);
    out += fmt::format("apiserver_request_duration_seconds_count{{{}}} {}\n", labels, h.count);
  }
}

}  // namespace setpoint::apiserver
