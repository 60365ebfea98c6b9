#include "store/cache/watch_cache.h"

#include <thread>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include "setpoint/common/json.h"

namespace setpoint::store {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;
constexpr std::string_view kWideWatchers = "*";

void CachedObject::assign(std::string_view key_bytes, std::initializer_list<std::string_view> json_parts) {
  std::size_t size = key_bytes.size();
  for (auto p : json_parts) size += p.size();
  storage_.clear();
  storage_.reserve(size);
  storage_.append(key_bytes);
  for (auto p : json_parts) storage_.append(p);
  key = std::string_view(storage_).substr(0, key_bytes.size());
  json = std::string_view(storage_).substr(key_bytes.size());
}

void CachedObject::adopt(std::string_view key_bytes, std::string json_text) {
  const std::size_t n = json_text.size();
  json_text.append(key_bytes);
  storage_ = std::move(json_text);
  json = std::string_view(storage_).substr(0, n);
  key = std::string_view(storage_).substr(n);
}

std::string_view CachedObject::name() const {
  const std::size_t last = key.rfind('/');
  return last == std::string::npos ? key : key.substr(last + 1);
}

std::string_view CachedObject::ns() const {
  std::size_t pos = 0;
  for (int i = 0; i < 4; ++i) {
    pos = key.find('/', pos);
    if (pos == std::string::npos) return {};
    ++pos;
  }
  const std::size_t last = key.rfind('/');
  return last < pos ? std::string_view() : key.substr(pos, last - pos);
}

std::optional<std::string> CachedObject::field(std::string_view path) const {
  if (path == "metadata.name") return std::string(name());
  if (path == "metadata.namespace") return std::string(ns());
  for (const auto& [k, v] : fields)
    if (k == path) return v;
  return std::nullopt;
}

std::string_view CachedObject::metadata_json() const {
  if (metadata_size) return json.substr(metadata_offset, metadata_size);
  auto range = FindTopLevelMember(json, "metadata");
  return range ? json.substr(range->first, range->second) : std::string_view("{}");
}

// ---------------------------------------------------------------------------------------------
// CacheWatcher

void CacheWatcher::push(WatchItem item) {
  bool was_empty;
  {
    std::lock_guard lock(mu_);
    if (overflowed_) return;
    if (item.revision) last_revision_ = item.revision;
    if (pending_.size() >= max_pending_) {
      overflowed_ = true;
      pending_.clear();
      was_empty = true;
    } else {
      was_empty = pending_.empty();
      pending_.push_back(std::move(item));
    }
  }
  cv_.notify_all();
  if (was_empty && notify_) notify_();
}

bool CacheWatcher::take(std::vector<WatchItem>& out) {
  std::lock_guard lock(mu_);
  if (overflowed_) return false;
  for (auto& item : pending_) out.push_back(std::move(item));
  pending_.clear();
  return true;
}

bool CacheWatcher::overflowed() const {
  std::lock_guard lock(mu_);
  return overflowed_;
}

bool CacheWatcher::wait(Clock::time_point deadline) {
  std::unique_lock lock(mu_);
  return cv_.wait_until(lock, deadline, [&] { return !pending_.empty() || overflowed_; });
}

Revision CacheWatcher::last_revision() const {
  std::lock_guard lock(mu_);
  return last_revision_;
}

// ---------------------------------------------------------------------------------------------
// WatchCache

std::string WatchCache::ResourcePrefix(std::string_view key) {
  // "/registry/<group>/<resource>/..." -> "/registry/<group>/<resource>/"; anything shorter is
  // wider than one resource.
  std::size_t pos = 0;
  for (int i = 0; i < 4; ++i) {
    pos = key.find('/', pos);
    if (pos == std::string_view::npos) return std::string(kWideWatchers);
    ++pos;
  }
  return std::string(key.substr(0, pos));
}

// The object parses only its metadata (for the labels) instead of the whole document, and nothing
// is serialised again.
CachedObjectPtr SpliceRevision(std::string_view key, std::string_view text, Revision rev) {
  auto range = FindTopLevelMember(text, "metadata");
  if (!range || range->second < 2 || text[range->first] != '{' || text.size() > UINT32_MAX / 2) return nullptr;
  auto meta = ParseJson(text.substr(range->first, range->second));
  if (!meta || !meta->is_object() || meta->get_object().contains("resourceVersion")) return nullptr;
  auto out = std::make_shared<CachedObject>();
  out->revision = rev;
  if (const json::object* labels = GetObject(meta->get_object(), "labels")) out->labels = *labels;
  const std::string member =
      "\"resourceVersion\":\"" + std::to_string(rev) + "\"" + (meta->get_object().empty() ? "" : ",");
  out->assign(key, {text.substr(0, range->first + 1), member, text.substr(range->first + 1)});
  out->metadata_offset = static_cast<std::uint32_t>(range->first);
  out->metadata_size = static_cast<std::uint32_t>(range->second + member.size());
  return out;
}

Result<CachedObjectPtr> WatchCache::decode(const std::string& key, const Bytes& value, Revision rev) const {
  // Fast path: kinds without extracted fields need nothing from the object but its metadata.
  if (value && (!options_.field_extractor || (options_.has_fields && !options_.has_fields(key))))
    if (auto spliced = SpliceRevision(key, *value, rev)) return spliced;
  auto parsed = ParseJson(value ? std::string_view(*value) : std::string_view("{}"));
  if (!parsed) return Err(Status::Internal("stored object " + key + " is not valid JSON"));
  if (!parsed->is_object()) return Err(Status::Internal("stored object " + key + " is not an object"));
  json::object& obj = parsed->get_object();
  json::object& meta = EnsureObject(obj, "metadata");
  meta["resourceVersion"] = std::to_string(rev);
  auto out = std::make_shared<CachedObject>();
  out->revision = rev;
  if (const json::object* labels = GetObject(meta, "labels")) out->labels = *labels;
  if (options_.field_extractor) options_.field_extractor(key, obj, out->fields);
  out->assign(key, {json::serialize(obj)});
  if (auto range = FindTopLevelMember(out->json, "metadata"); range && out->json.size() <= UINT32_MAX) {
    out->metadata_offset = static_cast<std::uint32_t>(range->first);
    out->metadata_size = static_cast<std::uint32_t>(range->second);
  }
  return CachedObjectPtr(std::move(out));
}

Result<std::unique_ptr<WatchCache>> WatchCache::Start(Store& store, WatchCacheOptions options) {
  std::unique_ptr<WatchCache> cache(new WatchCache(store, std::move(options)));
  for (int attempt = 0; attempt < 10; ++attempt) {
    Revision compacted = store.compacted_revision();
    auto snapshot = store.list("", 0);
    if (!snapshot) return Err(snapshot.error());
    {
      std::unique_lock lock(cache->mu_);
      cache->objects_.clear();
      cache->ring_.clear();
      for (auto& kv : snapshot->items) {
        auto obj = cache->decode(kv.key, kv.value, kv.revision);
        if (!obj) {
          spdlog::error("watch cache: skipping {}: {}", kv.key, obj.error().message());
          continue;
        }
        CachedObjectPtr o = std::move(*obj);
        const std::string_view key = o->key;
        cache->objects_.emplace(key, std::move(o));
      }
      cache->revision_ = snapshot->revision;
      cache->snapshot_revision_ = snapshot->revision;
      cache->oldest_ = compacted;
      cache->replay_from_ = compacted;
      cache->ring_revision_ = compacted;
      cache->history_last_.clear();
    }
    auto handle = store.watch(compacted, *cache);
    if (!handle) {
      if (handle.error().code() == StatusCode::kExpired) continue;  // compacted meanwhile
      return Err(handle.error());
    }
    cache->store_watch_ = std::move(*handle);
    // Wait until the retained history up to the snapshot is in the ring.
    std::unique_lock lock(cache->mu_);
    bool done = cache->rev_cv_.wait_for(lock, std::chrono::seconds(60), [&] {
      return cache->failed_ || cache->ring_revision_ >= cache->snapshot_revision_;
    });
    if (cache->failed_) return Err(Status::Unavailable("watch cache: store watch failed"));
    if (!done) return Err(Status::Timeout("watch cache: replaying history took too long"));
    cache->history_last_.clear();
    return cache;
  }
  return Err(Status::Unavailable("watch cache: store compacts faster than it can be loaded"));
}

WatchCache::~WatchCache() {
  if (relist_thread_.joinable()) {
    relist_thread_.request_stop();
    relist_thread_.join();
  }
  store_watch_.reset();
}

Revision WatchCache::revision() const {
  std::shared_lock lock(mu_);
  return revision_;
}

Revision WatchCache::oldest_revision() const {
  std::shared_lock lock(mu_);
  return oldest_;
}

bool WatchCache::healthy() const {
  std::shared_lock lock(mu_);
  return !failed_;
}

bool WatchCache::wait_for(Revision rev, std::chrono::milliseconds timeout) const {
  std::shared_lock lock(mu_);
  return rev_cv_.wait_for(lock, timeout, [&] { return revision_ >= rev || failed_; }) && revision_ >= rev;
}

CachedObjectPtr WatchCache::get(std::string_view key) const {
  std::shared_lock lock(mu_);
  auto it = objects_.find(key);
  return it == objects_.end() ? nullptr : it->second;
}

std::size_t WatchCache::watcher_count() const {
  std::shared_lock lock(mu_);
  return watcher_count_;
}

std::size_t WatchCache::object_count() const {
  std::shared_lock lock(mu_);
  return objects_.size();
}

void WatchCache::on_error(const Status& status) {
  spdlog::warn("watch cache: store watch ended: {}", status.to_string());
  const bool expired = status.code() == StatusCode::kExpired;
  {
    std::unique_lock lock(mu_);
    failed_ = true;
    for (auto& [prefix, list] : watchers_)
      for (auto& w : list) w->push({WatchEventType::kError, nullptr, 0});
    if (expired && !relisting_) {
      relisting_ = true;
      if (relist_thread_.joinable()) relist_thread_.detach();  // a finished earlier relist
      relist_thread_ = std::jthread([this](std::stop_token st) { relist(st); });
    }
  }
  rev_cv_.notify_all();
}

// The store compacted past the cache's watch: what happened in between is gone, so start over
// from a fresh list, as at start-up but without history (watchers from older revisions get 410).
void WatchCache::relist(std::stop_token st) {
  store_watch_.reset();  // the ended watch; its sink calls are over
  for (int attempt = 0; !st.stop_requested(); ++attempt) {
    if (attempt > 0) {
      std::unique_lock lock(mu_);
      rev_cv_.wait_for(lock, st, std::chrono::milliseconds(std::min(5000, 100 << std::min(attempt, 6))),
                       [] { return false; });
    }
    auto snapshot = store_.list("", 0);
    if (!snapshot) {
      spdlog::warn("watch cache: relist failed: {}", snapshot.error().to_string());
      continue;
    }
    ObjectMap objects;
    for (auto& kv : snapshot->items) {
      auto obj = decode(kv.key, kv.value, kv.revision);
      if (!obj) continue;
      CachedObjectPtr o = std::move(*obj);
      const std::string_view key = o->key;
      objects.emplace(key, std::move(o));
    }
    {
      std::unique_lock lock(mu_);
      objects_.swap(objects);
      ring_.clear();
      history_last_.clear();
      revision_ = snapshot->revision;
      snapshot_revision_ = snapshot->revision;
      ring_revision_ = snapshot->revision;
      replay_from_ = snapshot->revision;
      oldest_ = snapshot->revision;
    }
    auto handle = store_.watch(snapshot->revision, *this);
    if (!handle) {
      spdlog::warn("watch cache: watching again failed: {}", handle.error().to_string());
      continue;
    }
    {
      std::unique_lock lock(mu_);
      store_watch_ = std::move(*handle);
      failed_ = false;
      relisting_ = false;
    }
    rev_cv_.notify_all();
    spdlog::info("watch cache: relisted {} objects at revision {}", snapshot->items.size(), snapshot->revision);
    return;
  }
}

void WatchCache::on_events(std::span<const Event> events) {
  // Tests only: make the cache lag the store.
  const std::chrono::milliseconds delay = options_.ingest_delay_knob
                                              ? std::chrono::milliseconds(options_.ingest_delay_knob->load())
                                              : options_.ingest_delay;
  if (delay.count() > 0) std::this_thread::sleep_for(delay);
  {
    std::unique_lock lock(mu_);
    for (const Event& ev : events) {
      if (ev.revision <= ring_revision_) continue;  // already seen
      apply_locked(ev, ev.revision <= snapshot_revision_);
    }
    trim_locked();
  }
  rev_cv_.notify_all();
}

void WatchCache::apply_locked(const Event& ev, bool history_only) {
  auto decoded = decode(ev.key, ev.value, ev.revision);
  if (!decoded) {
    spdlog::error("watch cache: dropping undecodable event at {}: {}", ev.revision, decoded.error().message());
    ring_revision_ = ev.revision;
    if (!history_only) revision_ = ev.revision;
    return;
  }
  CachedEvent ce;
  ce.revision = ev.revision;
  ce.object = std::move(*decoded);
  ce.at = Clock::now();
  ce.type = ev.type == EventType::kCreate   ? WatchEventType::kAdded
            : ev.type == EventType::kUpdate ? WatchEventType::kModified
                                            : WatchEventType::kDeleted;
  if (history_only) {
    // Replaying retained history: the current state already includes it; only the ring and
    // the previous versions (for exact lists and selector transitions) are built here.
    auto it = history_last_.find(ev.key);
    if (it != history_last_.end()) {
      ce.prev = it->second;
    } else {
      ce.prev_known = ev.type == EventType::kCreate;
    }
    if (ev.type == EventType::kDelete)
      history_last_[ev.key] = nullptr;
    else
      history_last_[ev.key] = ce.object;
    ring_revision_ = ev.revision;
    ring_.push_back(std::move(ce));
    return;
  }

  auto it = objects_.find(ev.key);
  if (it != objects_.end()) ce.prev = it->second;
  if (ev.type == EventType::kDelete) {
    if (it != objects_.end()) objects_.erase(it);
  } else if (it != objects_.end()) {
    // The map's key is a view of the old version's key: point it at the new version's.
    auto node = objects_.extract(it);
    node.key() = ce.object->key;
    node.mapped() = ce.object;
    objects_.insert(std::move(node));
  } else {
    objects_.emplace(std::string_view(ce.object->key), ce.object);
  }
  revision_ = ev.revision;
  ring_revision_ = ev.revision;

  auto dispatch = [&](const std::vector<CacheWatcherPtr>& list) {
    for (const CacheWatcherPtr& w : list) {
      if (ev.key.compare(0, w->filter_.prefix.size(), w->filter_.prefix) != 0) continue;
      bool now = ce.type != WatchEventType::kDeleted && w->filter_.accepts(*ce.object);
      bool before = ce.prev && w->filter_.accepts(*ce.prev);
      if (ce.type == WatchEventType::kDeleted) {
        if (w->filter_.accepts(*ce.object)) w->push({WatchEventType::kDeleted, ce.object, ce.revision});
      } else if (now && before) {
        w->push({WatchEventType::kModified, ce.object, ce.revision});
      } else if (now) {
        w->push({WatchEventType::kAdded, ce.object, ce.revision});
      } else if (before) {
        // Moved out of the selector: upstream reports it as deleted, at the new revision.
        w->push({WatchEventType::kDeleted, ce.object, ce.revision});
      }
    }
  };
  if (auto wit = watchers_.find(ResourcePrefix(ev.key)); wit != watchers_.end()) dispatch(wit->second);
  // Watchers wider than one resource (a prefix such as "/registry/") see every event.
  if (auto wit = watchers_.find(std::string(kWideWatchers)); wit != watchers_.end()) dispatch(wit->second);
  ring_.push_back(std::move(ce));
}

void WatchCache::trim_locked() {
  auto now = Clock::now();
  while (!ring_.empty() &&
         (ring_.size() > options_.history_max_events || now - ring_.front().at > options_.history_max_age)) {
    oldest_ = std::max(oldest_, ring_.front().revision);
    ring_.pop_front();
  }
}

Result<ListPage> WatchCache::list(const Filter& filter, Revision at, const std::string& after_key,
                                  std::size_t limit) const {
  std::shared_lock lock(mu_);
  ListPage page;
  page.revision = at ? at : revision_;
  if (at && at > revision_) return Err(Status::Timeout("Too large resource version"));
  // Versions that differ at `at` from the current state, for keys under the prefix.
  std::map<std::string, CachedObjectPtr, std::less<>> overrides;
  if (at && at < revision_) {
    if (at < oldest_)
      return Err(
          Status::Expired("too old resource version: " + std::to_string(at) + " (" + std::to_string(oldest_) + ")"));
    auto first = std::upper_bound(ring_.begin(), ring_.end(), at,
                                  [](Revision r, const CachedEvent& e) { return r < e.revision; });
    for (auto it = first; it != ring_.end(); ++it) {
      const std::string_view key = it->object->key;
      if (key.compare(0, filter.prefix.size(), filter.prefix) != 0) continue;
      if (overrides.count(key)) continue;  // the first event after `at` holds the old version
      if (!it->prev_known)
        return Err(Status::Expired("too old resource version: " + std::to_string(at) + " (" +
                                   std::to_string(it->revision) + ")"));
      overrides.emplace(std::string(key), it->prev);
    }
  }
  auto cur = after_key.empty() ? objects_.lower_bound(filter.prefix) : objects_.upper_bound(after_key);
  auto ovr = after_key.empty() ? overrides.lower_bound(filter.prefix) : overrides.upper_bound(after_key);
  auto in_prefix = [&](std::string_view k) { return k.starts_with(filter.prefix); };
  std::string last_key;
  bool more = false;
  while (true) {
    bool cur_ok = cur != objects_.end() && in_prefix(cur->first);
    bool ovr_ok = ovr != overrides.end() && in_prefix(ovr->first);
    if (!cur_ok && !ovr_ok) break;
    CachedObjectPtr obj;
    std::string_view key;
    if (ovr_ok && (!cur_ok || ovr->first <= cur->first)) {
      if (cur_ok && cur->first == ovr->first) ++cur;
      obj = ovr->second;  // may be null: absent at `at`
      key = ovr->first;
      ++ovr;
    } else {
      obj = cur->second;
      key = cur->first;
      ++cur;
    }
    if (!obj || !filter.accepts(*obj)) continue;
    if (limit && page.items.size() >= limit) {
      // One more item proves there is a next page; counting the rest would make every page cost
      // as much as a full list, so remainingItemCount is left out.
      more = true;
      break;
    }
    page.items.push_back(obj);
    last_key = std::string(key);
  }
  if (more) {
    page.continue_after = last_key;
    page.remaining = -1;
  } else {
    page.remaining = 0;
  }
  return page;
}

Result<CacheWatcherPtr> WatchCache::watch(Filter filter, WatchStart start, std::function<void()> notify) {
  std::unique_lock lock(mu_);
  auto watcher = std::make_shared<CacheWatcher>(std::move(filter), options_.watcher_max_pending, std::move(notify));
  const Filter& f = watcher->filter_;
  auto in_prefix = [&](std::string_view k) { return k.starts_with(f.prefix); };
  if (start.initial_state) {
    // The current state, as synthetic ADDED events, then (optionally) the end bookmark.
    std::vector<WatchItem> items;
    for (auto it = objects_.lower_bound(f.prefix); it != objects_.end() && in_prefix(it->first); ++it)
      if (f.accepts(*it->second)) items.push_back({WatchEventType::kAdded, it->second, it->second->revision});
    // Initial events are not subject to the pending bound.
    {
      std::lock_guard wl(watcher->mu_);
      for (auto& i : items) watcher->pending_.push_back(std::move(i));
      if (start.initial_end_bookmark) watcher->pending_.push_back({WatchEventType::kBookmark, nullptr, revision_});
      watcher->last_revision_ = revision_;
    }
  } else {
    if (start.after < oldest_)
      return Err(Status::Expired("too old resource version: " + std::to_string(start.after) + " (" +
                                 std::to_string(oldest_) + ")"));
    auto first = std::upper_bound(ring_.begin(), ring_.end(), start.after,
                                  [](Revision r, const CachedEvent& e) { return r < e.revision; });
    std::lock_guard wl(watcher->mu_);
    for (auto it = first; it != ring_.end(); ++it) {
      const CachedEvent& ce = *it;
      if (!in_prefix(ce.object->key)) continue;
      bool now = ce.type != WatchEventType::kDeleted && f.accepts(*ce.object);
      bool before = ce.prev && f.accepts(*ce.prev);
      WatchEventType t;
      if (ce.type == WatchEventType::kDeleted) {
        if (!f.accepts(*ce.object)) continue;
        t = WatchEventType::kDeleted;
      } else if (now && before) {
        t = WatchEventType::kModified;
      } else if (now) {
        t = (ce.type == WatchEventType::kModified && !ce.prev_known) ? WatchEventType::kModified
                                                                     : WatchEventType::kAdded;
      } else if (before) {
        t = WatchEventType::kDeleted;
      } else {
        continue;
      }
      watcher->pending_.push_back({t, ce.object, ce.revision});
    }
    watcher->last_revision_ = revision_;
  }
  watchers_[ResourcePrefix(f.prefix)].push_back(watcher);
  ++watcher_count_;
  return watcher;
}

void WatchCache::unwatch(const CacheWatcherPtr& watcher) {
  std::unique_lock lock(mu_);
  auto it = watchers_.find(ResourcePrefix(watcher->filter_.prefix));
  if (it == watchers_.end()) return;
  auto& list = it->second;
  for (auto w = list.begin(); w != list.end(); ++w) {
    if (*w == watcher) {
      list.erase(w);
      --watcher_count_;
      break;
    }
  }
  if (list.empty()) watchers_.erase(it);
}

}  // namespace setpoint::store
