#include "setpoint/runtime/watcher.h"

#include <algorithm>
#include <condition_variable>
#include <random>

#include <spdlog/spdlog.h>

namespace setpoint::runtime {
namespace {

bool IsGone(const Status& s) { return s.code() == StatusCode::kExpired || s.code() == StatusCode::kGone; }

std::string ResourceVersionOf(const boost::json::object& obj) {
  const auto* meta = obj.if_contains("metadata");
  if (!meta || !meta->is_object()) return {};
  const auto* rv = meta->as_object().if_contains("resourceVersion");
  return rv && rv->is_string() ? std::string(rv->as_string()) : std::string();
}

}  // namespace

void StripManagedFields(boost::json::object& obj) {
  if (auto* meta = obj.if_contains("metadata"); meta && meta->is_object()) meta->as_object().erase("managedFields");
}

void MetadataOnly(boost::json::object& obj) {
  for (auto it = obj.begin(); it != obj.end();) {
    const auto k = it->key();
    if (k == "apiVersion" || k == "kind" || k == "metadata") {
      ++it;
    } else {
      it = obj.erase(it);
    }
  }
  StripManagedFields(obj);
}

std::function<void(boost::json::object&)> MetadataFieldsOnly(std::vector<std::string> fields) {
  return [keep = std::move(fields)](boost::json::object& obj) {
    // Fresh objects rather than erasing in place: an object keeps the table capacity it had,
    // and these live as long as the cache holds them.
    auto wanted = [&](std::string_view k) {
      return k == "name" || k == "namespace" || k == "uid" || k == "resourceVersion" ||
             std::find(keep.begin(), keep.end(), k) != keep.end();
    };
    boost::json::object meta;
    if (auto* m = obj.if_contains("metadata"); m && m->is_object()) {
      boost::json::object& from = m->get_object();
      std::size_t n = 0;
      for (const auto& kv : from) n += wanted(kv.key()) ? 1 : 0;
      meta.reserve(n);
      for (auto& kv : from)
        if (wanted(kv.key())) meta.emplace(kv.key(), std::move(kv.value()));
    }
    boost::json::object out;
    out.reserve(1);
    out.emplace("metadata", std::move(meta));
    obj = std::move(out);
  };
}

std::chrono::milliseconds WatcherBackoff(const WatcherOptions& options, int failures, double random01) {
  using std::chrono::milliseconds;
  const auto max = options.backoff_max.count();
  std::int64_t d = options.backoff_initial.count();
  for (int i = 0; i < failures && d < max; ++i) d *= 2;
  d = std::min(d, max);
  d += static_cast<std::int64_t>(static_cast<double>(d) * std::clamp(random01, 0.0, 1.0));
  return milliseconds(std::min(d, max));
}

Watcher::Watcher(client::DynamicClient& client, WatcherOptions options, Sink sink)
    : client_(client), options_(std::move(options)), sink_(std::move(sink)) {
  rv_ = options_.start_resource_version;
}

Watcher::~Watcher() { stop(); }

void Watcher::start() {
  if (thread_.joinable()) return;
  thread_ = std::jthread([this](std::stop_token st) { run(st); });
}

void Watcher::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  {
    std::lock_guard lock(mu_);
    if (stream_) stream_->cancel();
  }
  thread_.join();
}

std::string Watcher::last_resource_version() const {
  std::lock_guard lock(mu_);
  return rv_;
}

void Watcher::set_rv(std::string rv) {
  std::lock_guard lock(mu_);
  rv_ = std::move(rv);
}

void Watcher::run(std::stop_token stop) {
  bool need_list = options_.start_resource_version.empty();
  int failures = 0;
  const EnvPtr env = options_.env ? options_.env : DefaultEnv();
  auto sleep = [&env](std::chrono::milliseconds d, std::stop_token st) { env->sleep_for(d, st); };
  auto random = [&env] { return env->random(); };
  while (!stop.stop_requested()) {
    Status err;
    bool progressed = false;
    const bool listing = need_list;
    if (listing && using_watch_list()) {
      bool listed = false;
      err = watch_once(stop, progressed, /*initial=*/true, &listed);
      if (listed) need_list = false;
      if (!watch_list_ok_.load()) continue;         // not offered: list at once, and from now on
      if (listed && IsGone(err)) need_list = true;  // cut after the initial state: start again
    } else if (listing) {
      err = list_all(stop);
      if (err.ok()) need_list = false, progressed = true;
    } else {
      err = watch_once(stop, progressed);
      // The rv is gone: retrying it is futile, relist.
      if (IsGone(err)) need_list = true;
    }
    if (progressed) failures = 0;
    if (stop.stop_requested()) break;
    if (!err.ok()) failures_total_.fetch_add(1);
    // After a healthy watch, relist at once; a 410 right at the watch's start backs off like any
    // error, so a server that keeps expiring us cannot drive a list/watch storm.
    if (!listing && IsGone(err) && progressed) continue;
    // A list that worked, or a watch that delivered events and then ended cleanly: go on now.
    if (err.ok() && progressed) continue;
    // Errors, and streams that end without a single event (a server refusing to hold a watch
    // open must not make us spin), wait.
    if (err.ok()) {
      sleep(WatcherBackoff(options_, 0, random()), stop);
    } else {
      sleep(WatcherBackoff(options_, failures, random()), stop);
      ++failures;
    }
  }
}

Status Watcher::list_all(std::stop_token stop) {
  relists_.fetch_add(1);
  client::ListOptions lo;
  lo.label_selector = options_.label_selector;
  lo.field_selector = options_.field_selector;
  lo.limit = options_.page_size;
  lo.metadata_only = options_.metadata_only;
  WatcherEvent ev;
  ev.kind = WatcherEvent::Kind::kRestarted;
  std::string rv;
  do {
    if (stop.stop_requested()) return Status::Unavailable("stopped");
    auto page = client_.list(options_.gvr, options_.ns, lo);
    if (!page) return page.error();
    for (auto& item : page->items) {
      if (options_.transform) options_.transform(item);
      ev.objects.push_back(std::make_shared<const boost::json::object>(std::move(item)));
    }
    if (rv.empty()) rv = page->resource_version;  // every page of one list shares the first's snapshot
    lo.continue_ = page->continue_;
  } while (!lo.continue_.empty());
  ev.resource_version = rv;
  set_rv(rv);
  sink_(std::move(ev));
  return Status::Ok();
}

Status Watcher::watch_once(std::stop_token stop, bool& progressed, bool initial, bool* listed) {
  client::WatchOptions wo;
  wo.resource_version = initial ? std::string() : last_resource_version();
  wo.label_selector = options_.label_selector;
  wo.field_selector = options_.field_selector;
  wo.allow_bookmarks = options_.bookmarks || initial;
  wo.timeout_seconds = options_.watch_timeout_seconds;
  wo.send_initial_events = initial;
  wo.metadata_only = options_.metadata_only;
  watches_.fetch_add(1);
  auto not_offered = [&](const char* why) {
    watch_list_ok_.store(false);
    spdlog::debug("watcher {}: the server does not do WatchList ({}); listing", options_.gvr.resource, why);
    return Status::Ok();
  };
  auto opened = client_.watch(options_.gvr, options_.ns, wo);
  if (!opened) {
    const StatusCode c = opened.error().code();
    if (initial && (c == StatusCode::kBadRequest || c == StatusCode::kInvalid || c == StatusCode::kForbidden ||
                    c == StatusCode::kMethodNotAllowed || c == StatusCode::kNotAcceptable))
      return not_offered("refused");
    return opened.error();
  }
  if (initial) relists_.fetch_add(1);
  // While `collecting`, events are the initial state, gathered until the end marker.
  bool collecting = initial;
  std::vector<ObjectPtr> initial_objects;
  auto idle_since = std::chrono::steady_clock::now();
  client::WatchStreamPtr stream = std::move(*opened);
  {
    std::lock_guard lock(mu_);
    if (stop.stop_requested()) return Status::Ok();
    stream_ = stream.get();
  }
  Status result;
  while (!stop.stop_requested()) {
    auto next = stream->next(std::chrono::milliseconds(collecting ? 200 : 500));
    if (!next) {
      result = next.error();
      if (collecting && !IsGone(result) && result.code() != StatusCode::kUnavailable &&
          result.code() != StatusCode::kInternal && result.code() != StatusCode::kTimeout)
        result = not_offered("error event");
      break;
    }
    if (!next->has_value()) {
      if (stream->ended()) break;
      if (collecting && std::chrono::steady_clock::now() - idle_since > std::chrono::seconds(2)) {
        result = not_offered("no end marker");
        break;
      }
      continue;
    }
    client::WatchEvent& e = **next;
    if (!e.object.is_object()) {
      result = Status::Internal("watch event without an object");
      break;
    }
    idle_since = std::chrono::steady_clock::now();
    if (collecting) {
      if (e.type == "ADDED") {
        if (options_.metadata_only) client::RestoreTypeMeta(options_.gvr, e.object.as_object());
        if (options_.transform) options_.transform(e.object.as_object());
        initial_objects.push_back(std::make_shared<const boost::json::object>(std::move(e.object.as_object())));
        continue;
      }
      const auto* meta = e.object.as_object().if_contains("metadata");
      const auto* ann = meta && meta->is_object() ? meta->as_object().if_contains("annotations") : nullptr;
      const auto* end = ann && ann->is_object() ? ann->as_object().if_contains("k8s.io/initial-events-end") : nullptr;
      if (e.type != "BOOKMARK" || !end || !end->is_string() || end->as_string() != "true") {
        result = not_offered("an event before the end marker");
        break;
      }
      // The initial state is complete, as of the bookmark's resourceVersion.
      collecting = false;
      progressed = true;
      if (listed) *listed = true;
      const std::string rv = ResourceVersionOf(e.object.as_object());
      set_rv(rv);
      WatcherEvent restarted;
      restarted.kind = WatcherEvent::Kind::kRestarted;
      restarted.objects = std::move(initial_objects);
      restarted.resource_version = rv;
      sink_(std::move(restarted));
      continue;
    }
    progressed = true;
    if (options_.metadata_only && e.type != "BOOKMARK") client::RestoreTypeMeta(options_.gvr, e.object.as_object());
    if (options_.transform && e.type != "BOOKMARK") options_.transform(e.object.as_object());
    auto obj = std::make_shared<const boost::json::object>(std::move(e.object.as_object()));
    std::string rv = ResourceVersionOf(*obj);
    WatcherEvent ev;
    if (e.type == "ADDED" || e.type == "MODIFIED") {
      ev.kind = WatcherEvent::Kind::kApplied;
    } else if (e.type == "DELETED") {
      ev.kind = WatcherEvent::Kind::kDeleted;
    } else if (e.type == "BOOKMARK") {
      ev.kind = WatcherEvent::Kind::kBookmark;
      obj.reset();
    } else {
      continue;  // unknown types are skipped, as client-go does
    }
    if (!rv.empty()) set_rv(rv);
    ev.object = std::move(obj);
    ev.resource_version = last_resource_version();
    sink_(std::move(ev));
  }
  {
    std::lock_guard lock(mu_);
    stream_ = nullptr;
  }
  return result;
}

}  // namespace setpoint::runtime
