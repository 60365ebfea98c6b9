#include "apiserver/watch_stream.h"

#include <boost/json.hpp>

#include "apiserver/table.h"
#include "setpoint/common/json.h"

namespace setpoint::apiserver {

namespace json = boost::json;
using SteadyClock = std::chrono::steady_clock;

namespace {
const auto kAdded = std::make_shared<const std::string>("{\"type\":\"ADDED\",\"object\":");
const auto kModified = std::make_shared<const std::string>("{\"type\":\"MODIFIED\",\"object\":");
const auto kDeleted = std::make_shared<const std::string>("{\"type\":\"DELETED\",\"object\":");
const auto kSuffix = std::make_shared<const std::string>("}\n");
}  // namespace

WatchStream::WatchStream(std::function<void(WatchStream*)> on_close, store::WatchCache& cache, ClockPtr clock,
                         WatchOptions options)
    : on_close_(std::move(on_close)), cache_(cache), clock_(std::move(clock)), options_(std::move(options)) {
  auto now = SteadyClock::now();
  deadline_ = now + options_.timeout;
  next_bookmark_ = now + options_.bookmark_period;
}

WatchStream::~WatchStream() { close(); }

Status WatchStream::start(store::Filter filter, store::WatchCache::WatchStart start) {
  std::weak_ptr<WatchStream> weak = weak_from_this();
  auto watcher = cache_.watch(std::move(filter), start, [weak] {
    if (auto self = weak.lock()) self->wake();
  });
  if (!watcher) return watcher.error();
  watcher_ = std::move(*watcher);
  last_sent_ = start.after;
  return Status::Ok();
}

void WatchStream::fail_with(const Status& status) { pending_error_ = error_event(status); }

void WatchStream::end() {
  ended_ = true;
  wake();
}

void WatchStream::set_waker(std::function<void()> waker) {
  std::lock_guard lock(waker_mu_);
  waker_ = std::move(waker);
  if (woken_early_) waker_();
}

void WatchStream::wake() {
  std::lock_guard lock(waker_mu_);
  if (waker_)
    waker_();
  else
    woken_early_ = true;
}

std::chrono::steady_clock::time_point WatchStream::next_deadline() const {
  return options_.bookmarks ? std::min(deadline_, next_bookmark_) : deadline_;
}

std::shared_ptr<const std::string> WatchStream::bookmark(store::Revision rev, bool initial_end) const {
  json::object meta{{"resourceVersion", std::to_string(rev)}};
  if (initial_end) meta["annotations"] = {{"k8s.io/initial-events-end", "true"}};
  json::object obj{{"kind", options_.kind}, {"apiVersion", options_.api_version}, {"metadata", std::move(meta)}};
  return std::make_shared<const std::string>(
      json::serialize(json::object{{"type", "BOOKMARK"}, {"object", std::move(obj)}}) + "\n");
}

std::shared_ptr<const std::string> WatchStream::error_event(const Status& status) const {
  json::object st{{"kind", "Status"},          {"apiVersion", "v1"},          {"metadata", json::object()},
                  {"status", "Failure"},       {"message", status.message()}, {"reason", std::string(status.reason())},
                  {"code", status.http_code()}};
  return std::make_shared<const std::string>(
      json::serialize(json::object{{"type", "ERROR"}, {"object", std::move(st)}}) + "\n");
}

void WatchStream::emit(const store::WatchItem& item, std::vector<SharedBytes>& out) {
  if (item.type == store::WatchEventType::kBookmark) {
    // Only the initial-events-end bookmark is queued by the cache.
    out.push_back(bookmark(item.revision, true));
    last_sent_ = std::max(last_sent_, item.revision);
    return;
  }
  if (item.type == store::WatchEventType::kError) {
    pending_error_ = error_event(Status::Unavailable("the watch cache stopped; please re-list"));
    return;
  }
  const char* type = item.type == store::WatchEventType::kAdded      ? "ADDED"
                     : item.type == store::WatchEventType::kModified ? "MODIFIED"
                                                                     : "DELETED";
  last_sent_ = std::max(last_sent_, item.revision);
  if (options_.table) {
    auto parsed = ParseJson(item.object->json);
    if (!parsed || !parsed->is_object()) return;
    json::object table{{"kind", "Table"},
                       {"apiVersion", "meta.k8s.io/v1"},
                       {"metadata", {{"resourceVersion", std::to_string(item.revision)}}}};
    table["columnDefinitions"] = columns_sent_ ? json::array() : TableColumns(options_.columns);
    columns_sent_ = true;
    table["rows"] =
        json::array{TableRow(options_.columns, parsed->get_object(), clock_->now(), options_.include_object)};
    out.push_back(std::make_shared<const std::string>(
        json::serialize(json::object{{"type", type}, {"object", std::move(table)}}) + "\n"));
    return;
  }
  if (options_.metadata_only) {
    auto event = std::make_shared<std::string>();
    const std::string_view meta = item.object->metadata_json();
    event->reserve(meta.size() + 128);
    *event += "{\"type\":\"";
    *event += type;
    *event += "\",\"object\":{\"kind\":\"PartialObjectMetadata\",\"apiVersion\":\"";
    *event += options_.api_version;
    *event += "\",\"metadata\":";
    *event += meta;
    *event += "}}\n";
    out.push_back(std::move(event));
    return;
  }
  if (options_.convert_version) {
    auto parsed = ParseJson(item.object->json);
    if (!parsed || !parsed->is_object()) return;
    parsed->get_object()["apiVersion"] = options_.api_version;
    out.push_back(std::make_shared<const std::string>(
        json::serialize(json::object{{"type", type}, {"object", std::move(*parsed)}}) + "\n"));
    return;
  }
  out.push_back(item.type == store::WatchEventType::kAdded      ? kAdded
                : item.type == store::WatchEventType::kModified ? kModified
                                                                : kDeleted);
  out.emplace_back(item.object, item.object->json);
  out.push_back(kSuffix);
}

StreamSource::Poll WatchStream::poll(std::vector<SharedBytes>& out) {
  if (pending_error_) {
    out.push_back(std::move(pending_error_));
    pending_error_.reset();
    return Poll::kEnd;
  }
  if (ended_ || !watcher_) return Poll::kEnd;
  // Read the revision before draining: every event at or below it is then in items_.
  store::Revision cache_rev = cache_.revision();
  items_.clear();
  bool ok = watcher_->take(items_);
  for (const auto& item : items_) {
    emit(item, out);
    if (pending_error_) break;
  }
  if (pending_error_) {
    out.push_back(std::move(pending_error_));
    pending_error_.reset();
    return Poll::kEnd;
  }
  if (!ok) {
    // Fell too far behind: the client must relist.
    out.push_back(
        error_event(Status::Expired("the watch fell too far behind; please re-list (too old resource version)")));
    return Poll::kEnd;
  }
  auto now = SteadyClock::now();
  if (now >= deadline_) {
    if (options_.bookmarks) out.push_back(bookmark(std::max(last_sent_, cache_rev), false));
    return Poll::kEnd;
  }
  if (options_.bookmarks && now >= next_bookmark_) {
    last_sent_ = std::max(last_sent_, cache_rev);
    out.push_back(bookmark(last_sent_, false));
    next_bookmark_ = now + options_.bookmark_period;
  }
  return out.empty() ? Poll::kWait : Poll::kData;
}

void WatchStream::close() {
  if (closed_) return;
  closed_ = true;
  if (watcher_) cache_.unwatch(watcher_);
  {
    std::lock_guard lock(waker_mu_);
    waker_ = nullptr;
  }
  if (on_close_) on_close_(this);
}

}  // namespace setpoint::apiserver
