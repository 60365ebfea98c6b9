// Request metrics in the Prometheus text format, named as kube-apiserver names them
// (apiserver_request_total, apiserver_request_duration_seconds). Thread-safe: one mutex around
// small maps; the per-request cost is one lock and two map lookups.
#pragma once

#include <array>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace setpoint::apiserver {

class RequestMetrics {
 public:
  void observe(const std::string& verb, const std::string& group, const std::string& resource,
               int code, std::chrono::nanoseconds latency);
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
  std::map<std::tuple<std::string, std::string, std::string, int>, std::uint64_t> totals_;
  std::map<std::tuple<std::string, std::string, std::string>, Histogram> latency_;
};

}  // namespace setpoint::apiserver
