#include "setpoint/runtime/workqueue_metrics.h"

#include <cstdio>

namespace setpoint::runtime {
namespace {

void AppendNumber(std::string& out, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  out += buf;
}

void AppendLabels(std::string& out, std::string_view name, std::string_view extra = {}) {
  // Queue names are controller names chosen by the program; escape the three characters the
  // text format reserves in label values anyway.
  std::string escaped;
  for (char c : name) {
    if (c == '\\' || c == '"') escaped += '\\';
    if (c == '\n') {
      escaped += "\\n";
      continue;
    }
    escaped += c;
  }
  out += "{name=\"" + escaped + "\",controller=\"" + escaped + "\"";
  if (!extra.empty()) {
    out += ',';
    out += extra;
  }
  out += '}';
}

void Header(std::string& out, std::string_view family, std::string_view type, std::string_view help) {
  out += "# HELP ";
  out += family;
  out += ' ';
  out += help;
  out += '\n';
  out += "# TYPE ";
  out += family;
  out += ' ';
  out += type;
  out += '\n';
}

template <typename Get>
void Scalar(std::string& out, std::span<const NamedWorkQueueMetrics> qs, std::string_view family, std::string_view type,
            std::string_view help, Get get) {
  Header(out, family, type, help);
  for (const auto& q : qs) {
    out += family;
    AppendLabels(out, q.name);
    out += ' ';
    AppendNumber(out, static_cast<double>(get(q.metrics)));
    out += '\n';
  }
}

template <typename Get>
void Histogram(std::string& out, std::span<const NamedWorkQueueMetrics> qs, std::string_view family,
               std::string_view help, Get get) {
  Header(out, family, "histogram", help);
  for (const auto& q : qs) {
    const LatencyHistogram& h = get(q.metrics);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < h.kBounds.size(); ++i) {
      cumulative += h.buckets[i];
      std::string le = "le=\"";
      char buf[32];
      std::snprintf(buf, sizeof buf, "%g", h.kBounds[i]);
      le += buf;
      le += '"';
      out += family;
      out += "_bucket";
      AppendLabels(out, q.name, le);
      out += ' ';
      AppendNumber(out, static_cast<double>(cumulative));
      out += '\n';
    }
    out += family;
    out += "_bucket";
    AppendLabels(out, q.name, "le=\"+Inf\"");
    out += ' ';
    AppendNumber(out, static_cast<double>(h.count));
    out += '\n';
    out += family;
    out += "_sum";
    AppendLabels(out, q.name);
    out += ' ';
    AppendNumber(out, h.sum);
    out += '\n';
    out += family;
    out += "_count";
    AppendLabels(out, q.name);
    out += ' ';
    AppendNumber(out, static_cast<double>(h.count));
    out += '\n';
  }
}

}  // namespace

void LatencyHistogram::observe(double seconds) {
  ++count;
  sum += seconds;
  for (std::size_t i = 0; i < kBounds.size(); ++i) {
    if (seconds <= kBounds[i]) {
      ++buckets[i];
      return;
    }
  }
  // Above the last bound: counted only in +Inf (= count).
}

void WorkQueueMetrics::render_prometheus(std::string& out, std::string_view name) const {
  const NamedWorkQueueMetrics one{std::string(name), *this};
  RenderPrometheus(out, std::span<const NamedWorkQueueMetrics>(&one, 1));
}

void RenderPrometheus(std::string& out, std::span<const NamedWorkQueueMetrics> qs) {
  using M = WorkQueueMetrics;
  Scalar(out, qs, "workqueue_depth", "gauge", "Current depth of workqueue", [](const M& m) { return m.depth; });
  Scalar(out, qs, "workqueue_adds_total", "counter", "Total number of adds handled by workqueue",
         [](const M& m) { return m.adds_total; });
  Histogram(out, qs, "workqueue_queue_duration_seconds",
            "How long in seconds an item stays in workqueue before being requested",
            [](const M& m) -> const LatencyHistogram& { return m.queue_duration_seconds; });
  Histogram(out, qs, "workqueue_work_duration_seconds", "How long in seconds processing an item from workqueue takes",
            [](const M& m) -> const LatencyHistogram& { return m.work_duration_seconds; });
  Scalar(out, qs, "workqueue_unfinished_work_seconds", "gauge",
         "How many seconds of work has been done that is in progress and hasn't been observed by "
         "work_duration. Large values indicate stuck threads.",
         [](const M& m) { return m.unfinished_work_seconds; });
  Scalar(out, qs, "workqueue_longest_running_processor_seconds", "gauge",
         "How many seconds has the longest running processor for workqueue been running.",
         [](const M& m) { return m.longest_running_processor_seconds; });
  Scalar(out, qs, "workqueue_retries_total", "counter", "Total number of retries handled by workqueue",
         [](const M& m) { return m.retries_total; });
}

}  // namespace setpoint::runtime
