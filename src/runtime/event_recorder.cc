#include "setpoint/runtime/event_recorder.h"

#include <cstdio>

#include "setpoint/common/json.h"

namespace setpoint::runtime {
namespace {

// client-go names events "<object name>.<unix nanoseconds in hex>".
std::string EventName(std::string_view object_name, WallTime at) {
  char buf[32];
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(at.time_since_epoch()).count();
  std::snprintf(buf, sizeof buf, ".%llx", static_cast<unsigned long long>(ns));
  return std::string(object_name) + buf;
}

}  // namespace

EventRecorder::EventRecorder(client::DynamicClient& client, EventRecorderOptions options)
    : client_(client), options_(std::move(options)), clock_((options_.env ? options_.env : DefaultEnv())->wall()) {
  thread_ = std::jthread([this](std::stop_token st) { run(st); });
}

EventRecorder::~EventRecorder() {
  flush(std::chrono::seconds(5));
  thread_.request_stop();
  cv_.notify_all();
}

void EventRecorder::event(const boost::json::object& object, std::string_view type, std::string_view reason,
                          std::string message) {
  const auto* meta = GetObject(object, "metadata");
  if (!meta) return;
  Report r;
  r.involved = {{"apiVersion", GetStringOr(object, "apiVersion", "")},
                {"kind", GetStringOr(object, "kind", "")},
                {"name", GetStringOr(*meta, "name", "")},
                {"uid", GetStringOr(*meta, "uid", "")},
                {"resourceVersion", GetStringOr(*meta, "resourceVersion", "")}};
  const std::string_view obj_ns = GetStringOr(*meta, "namespace", "");
  if (!obj_ns.empty()) r.involved["namespace"] = obj_ns;
  r.ns = obj_ns.empty() ? "default" : std::string(obj_ns);
  r.involved_key = std::string(GetStringOr(*meta, "uid", "")) + "/" + std::string(obj_ns) + "/" +
                   std::string(GetStringOr(*meta, "name", ""));
  r.type = type;
  r.reason = reason;
  r.message = std::move(message);
  r.at = clock_->now();
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= options_.queue_limit) {
      dropped_.fetch_add(1);
      return;
    }
    queue_.push_back(std::move(r));
    ++queued_;
  }
  cv_.notify_all();
}

bool EventRecorder::flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  const std::uint64_t target = queued_;
  return cv_.wait_for(lock, timeout, [&] { return written_ >= target; });
}

void EventRecorder::run(std::stop_token stop) {
  while (true) {
    Report r;
    {
      std::unique_lock lock(mu_);
      if (!cv_.wait(lock, stop, [&] { return !queue_.empty(); })) return;
      r = std::move(queue_.front());
      queue_.pop_front();
    }
    write(r);
    {
      std::lock_guard lock(mu_);
      ++written_;
    }
    cv_.notify_all();
  }
}

void EventRecorder::write(const Report& r) {
  const std::string key = r.involved_key + "\x1f" + r.type + "\x1f" + r.reason + "\x1f" + r.message;
  const std::string stamp = FormatRfc3339(r.at);
  if (auto it = seen_.find(key); it != seen_.end() && r.at - it->second.first <= options_.aggregation_window) {
    Seen& s = it->second;
    boost::json::object patch{{"count", s.count + 1}, {"lastTimestamp", stamp}};
    auto done = client_.patch(kEventsResource, s.ns, s.name, client::PatchType::kMerge, ToJson(patch));
    if (done) {
      ++s.count;
      s.last = r.at;
      lru_.splice(lru_.begin(), lru_, s.lru);
      return;
    }
    if (done.error().code() != StatusCode::kNotFound) {
      write_errors_.fetch_add(1);
      return;
    }
    // The Event expired or was deleted: start a new one.
    lru_.erase(s.lru);
    seen_.erase(it);
  }
  const std::string name = EventName(std::string_view(r.involved.at("name").as_string()), r.at);
  boost::json::object ev{
      {"apiVersion", "v1"},
      {"kind", "Event"},
      {"metadata", {{"name", name}, {"namespace", r.ns}}},
      {"involvedObject", r.involved},
      {"type", r.type},
      {"reason", r.reason},
      {"message", r.message},
      {"count", 1},
      {"firstTimestamp", stamp},
      {"lastTimestamp", stamp},
      {"eventTime", nullptr},
      {"source", {{"component", options_.component}}},
      {"reportingComponent", options_.component},
      {"reportingInstance", options_.instance},
  };
  auto created = client_.create(kEventsResource, r.ns, ev);
  if (!created) {
    write_errors_.fetch_add(1);
    return;
  }
  lru_.push_front(key);
  seen_[key] = Seen{r.ns, name, 1, r.at, r.at, lru_.begin()};
  while (seen_.size() > options_.aggregation_entries) {
    seen_.erase(lru_.back());
    lru_.pop_back();
  }
}

}  // namespace setpoint::runtime
