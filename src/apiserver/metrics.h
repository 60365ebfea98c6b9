// Request metrics in the Prometheus text format, named and labelled as kube-apiserver's
// (apiserver_request_total, apiserver_request_duration_seconds with verb, dry_run, group, version,
// resource, subresource, scope, component and code), so existing dashboards and alerts work.
//
// Every label value is bounded: a resource the registry does not serve, an unknown subresource or
// a made-up HTTP method is recorded under one fixed value, never under what the client sent —
// otherwise each 404 for a made-up name would add a series for good (a memory attack). Values are
// escaped per the exposition format all the same. Thread-safe: one mutex around small maps.
#pragma once

#include <array>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

#include "apiserver/request_info.h"

namespace setpoint::apiserver {

struct RequestLabels {
  std::string verb;     // GET LIST WATCH POST PUT PATCH APPLY DELETE, or the method for the rest
  std::string dry_run;  // "All" or ""
  std::string group, version, resource, subresource;
  std::string scope;  // resource | namespace | cluster, "" for non-resource requests
  std::string component = "apiserver";
  auto tie() const { return std::tie(verb, dry_run, group, version, resource, subresource, scope, component); }
  bool operator<(const RequestLabels& o) const { return tie() < o.tie(); }
};

// The labels of a request, bounded as above. `ri` is what the router parsed; `served` whether the
// registry has its resource; `watch` and `dry_run` from its query, `content_type` for APPLY.
RequestLabels LabelsFor(std::string_view method, const RequestInfo* ri, bool served, bool watch, bool dry_run,
                        std::string_view content_type);

// A label value escaped for the text exposition format: \ " and newline.
std::string EscapeLabelValue(std::string_view v);

class RequestMetrics {
 public:
  void observe(const RequestLabels& labels, int code, std::chrono::nanoseconds latency);
  // Appends the metric families to `out`.
  void render(std::string& out) const;

  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1,    5};

 private:
  struct Histogram {
    std::array<std::uint64_t, kBuckets.size()> buckets{};
    std::uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::pair<RequestLabels, int>, std::uint64_t> totals_;
  std::map<RequestLabels, Histogram> latency_;
};

}  // namespace setpoint::apiserver
