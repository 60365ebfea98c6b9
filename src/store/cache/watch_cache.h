// WatchCache: the in-memory read path above any Store backend.
//
// It holds every current object, serialised once per revision (with metadata.resourceVersion
// stamped in), and a ring of recent events, both fed from the store's own watch (the commit
// path) — never by polling. Gets, lists (current or at an exact recent revision) and every
// watcher are served from here, and every watcher of an event shares the same bytes.
//
// Thread-safety: all public methods are thread-safe. Events are ingested on the store's notifier
// thread; watcher notify callbacks run there too, under the cache lock, so they must only
// schedule work (post to an executor), never call back into the cache.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "setpoint/store/store.h"

namespace setpoint::store {

// One immutable version of one object. Its key and its JSON share one allocation (assign());
// `key` and `json` view it, so a CachedObject is neither copied nor moved.
struct CachedObject {
  CachedObject() = default;
  CachedObject(const CachedObject&) = delete;
  CachedObject& operator=(const CachedObject&) = delete;

  // Sets the key and the JSON, the JSON being the concatenation of `json_parts`, in one exactly
  // sized allocation (for what the cache keeps).
  void assign(std::string_view key_bytes, std::initializer_list<std::string_view> json_parts);
  // The same, taking over `json_text` and appending the key to it: no copy of the JSON, but the
  // allocation may be larger than needed (for short-lived objects such as write responses).
  void adopt(std::string_view key_bytes, std::string json_text);

  std::string_view key;
  Revision revision = 0;
  std::string_view json;  // the object as served, resourceVersion included
  boost::json::object labels;
  std::vector<std::pair<std::string, std::string>> fields;  // selectable fields beyond name/ns
  // Where `json`'s metadata value is (set by WatchCache::decode; 0/0: not recorded), so that a
  // PartialObjectMetadata answer is a slice of these bytes, not a parse.
  std::uint32_t metadata_offset = 0, metadata_size = 0;

  // metadata.name and metadata.namespace, read from the key ("/registry/<group>/<resource>/"
  // then "<namespace>/<name>" or "<name>"): names cannot contain '/', and the key is kept anyway.
  std::string_view name() const;
  std::string_view ns() const;
  // Value of a field selector path ("metadata.name", "involvedObject.kind", ...).
  std::optional<std::string> field(std::string_view path) const;
  // The metadata object's JSON text (found by a scan when not recorded; "{}" when absent).
  std::string_view metadata_json() const;

 private:
  std::string storage_;  // key, then JSON
};
using CachedObjectPtr = std::shared_ptr<const CachedObject>;

// An object as stored (`text`, without a resourceVersion) as served at `rev`: the stored bytes
// with `"resourceVersion":"<rev>"` spliced in as metadata's first member. Null when that cannot be
// done (no metadata object, or one that already carries a resourceVersion): serialise instead.
CachedObjectPtr SpliceRevision(std::string_view key, std::string_view text, Revision rev);

enum class WatchEventType { kAdded, kModified, kDeleted, kBookmark, kError };

struct CachedEvent {
  Revision revision = 0;
  WatchEventType type = WatchEventType::kAdded;  // added / modified / deleted
  CachedObjectPtr object;                        // for deletes: the last state, stamped with the deletion revision
  CachedObjectPtr prev;                          // the version before this event; null when created here
  bool prev_known = true;                        // false when the previous version predates the cache's memory
  std::chrono::steady_clock::time_point at;
};

// Decides which cached objects a watcher or list sees.
struct Filter {
  std::string prefix;  // key prefix: a resource, or a resource in one namespace, or one key
  std::function<bool(const CachedObject&)> matches;  // null = everything under prefix
  bool accepts(const CachedObject& o) const { return !matches || matches(o); }
};

// What a watcher receives, in order.
struct WatchItem {
  WatchEventType type;
  CachedObjectPtr object;  // null for bookmarks and errors
  Revision revision = 0;
};

// One registered watch. The consumer drains it with take(); the cache appends with a bounded
// queue: a watcher that falls more than `max_pending` events behind is marked overflowed and
// receives nothing more (the consumer then ends the watch with 410 Expired so the client relists).
class CacheWatcher {
 public:
  CacheWatcher(Filter filter, std::size_t max_pending, std::function<void()> notify)
      : filter_(std::move(filter)), max_pending_(max_pending), notify_(std::move(notify)) {}

  // Moves every pending item into `out`; returns false once overflowed.
  bool take(std::vector<WatchItem>& out);
  // Blocks until items are pending or the deadline passes (for thread-based consumers).
  bool wait(std::chrono::steady_clock::time_point deadline);
  Revision last_revision() const;
  bool overflowed() const;

 private:
  friend class WatchCache;
  void push(WatchItem item);  // called with the cache lock held

  const Filter filter_;
  const std::size_t max_pending_;
  const std::function<void()> notify_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<WatchItem> pending_;
  bool overflowed_ = false;
  Revision last_revision_ = 0;
};
using CacheWatcherPtr = std::shared_ptr<CacheWatcher>;

struct WatchCacheOptions {
  std::size_t history_max_events = 100000;
  std::chrono::seconds history_max_age{600};
  std::size_t watcher_max_pending = 10000;
  // Fault injection for tests: hold every batch of store events this long before applying it,
  // so the cache lags the store the way it can under load. Zero in production.
  std::chrono::milliseconds ingest_delay{0};
  // The same, adjustable while running (the test kit's knob, in milliseconds); wins when set.
  std::shared_ptr<const std::atomic<std::int64_t>> ingest_delay_knob;
  // Extracts resource-specific selectable fields (e.g. Event's involvedObject.*) from an object.
  std::function<void(std::string_view key, const boost::json::object& obj,
                     std::vector<std::pair<std::string, std::string>>& out)>
      field_extractor;
  // Whether field_extractor has anything for this key. Objects of other kinds are decoded without
  // parsing more than their metadata; unset with an extractor: every object is parsed whole.
  std::function<bool(std::string_view key)> has_fields;
};

struct ListPage {
  std::vector<CachedObjectPtr> items;
  Revision revision = 0;        // the revision the whole list represents
  std::string continue_after;   // last key returned when more items remain, else empty
  std::int64_t remaining = -1;  // items after this page (when known)
};

class WatchCache final : public WatchSink {
 public:
  // Loads the store's current state and retained history, then follows its watch.
  static Result<std::unique_ptr<WatchCache>> Start(Store& store, WatchCacheOptions options);
  ~WatchCache() override;

  Revision revision() const;
  // The oldest revision a watch or exact list may start from.
  Revision oldest_revision() const;
  // Blocks until the cache has applied `rev`; false on timeout.
  bool wait_for(Revision rev, std::chrono::milliseconds timeout) const;

  CachedObjectPtr get(std::string_view key) const;

  // Lists objects under filter.prefix with key > `after_key`, at revision `at` (0 = current).
  // Errors: kExpired when `at` is older than the cache's memory.
  Result<ListPage> list(const Filter& filter, Revision at, const std::string& after_key, std::size_t limit) const;

  // Registers a watcher starting after `after` (replaying remembered events), or, when
  // `initial_state` is set, starting with ADDED events for the current state (at `after` if
  // nonzero) followed, when `initial_end_bookmark` is set, by a bookmark at that revision.
  // Errors: kExpired when `after` is older than the cache's memory.
  struct WatchStart {
    Revision after = 0;
    bool initial_state = false;
    bool initial_end_bookmark = false;
  };
  Result<CacheWatcherPtr> watch(Filter filter, WatchStart start, std::function<void()> notify);
  void unwatch(const CacheWatcherPtr& watcher);
  std::size_t watcher_count() const;
  std::size_t object_count() const;

  // WatchSink: ingestion from the store.
  void on_events(std::span<const Event> events) override;
  // An Expired error (the store compacted past the watch: etcd after a long disconnection) makes
  // the cache relist and watch again — its watchers get an error and relist too (410), as
  // kube-apiserver's cacher does; any other error leaves it failed (the store is closing).
  void on_error(const Status& status) override;
  bool healthy() const;

  // Builds a CachedObject from stored bytes (exposed for handlers that need one for a write
  // result before the cache has it).
  Result<CachedObjectPtr> decode(const std::string& key, const Bytes& value, Revision rev) const;

 private:
  WatchCache(Store& store, WatchCacheOptions options) : store_(store), options_(std::move(options)) {}
  void apply_locked(const Event& ev, bool history_only);
  void trim_locked();
  static std::string ResourcePrefix(std::string_view key);

  Store& store_;
  const WatchCacheOptions options_;
  mutable std::shared_mutex mu_;
  mutable std::condition_variable_any rev_cv_;
  // Keyed by a view of the object's own key: the key is stored once.
  using ObjectMap = std::map<std::string_view, CachedObjectPtr, std::less<>>;
  ObjectMap objects_;
  std::deque<CachedEvent> ring_;
  Revision revision_ = 0;           // the state in objects_ is at this revision
  Revision ring_revision_ = 0;      // the newest event in ring_
  Revision snapshot_revision_ = 0;  // events at or below it are replayed history (ring only)
  Revision replay_from_ = 0;
  Revision oldest_ = 0;                                            // watches may start after this revision
  std::unordered_map<std::string, CachedObjectPtr> history_last_;  // used while replaying
  // Watchers by resource prefix ("/registry/<group>/<resource>/").
  std::unordered_map<std::string, std::vector<CacheWatcherPtr>> watchers_;
  std::size_t watcher_count_ = 0;
  bool failed_ = false;
  bool relisting_ = false;
  WatchHandlePtr store_watch_;
  // Relists after the store watch expired (the store compacted past it): its own thread, since a
  // sink callback may not call back into the store's watch. Last: stopped first.
  std::jthread relist_thread_;
  void relist(std::stop_token st);
};

}  // namespace setpoint::store
