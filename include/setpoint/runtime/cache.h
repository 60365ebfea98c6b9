// Cache: the informer's local copy of one resource — a store keyed by "namespace/name" with
// indexes (client-go's Indexer, kube-rs's reflector Store).
//
// One writer (the Reflector) and any number of readers. Readers get immutable snapshots
// (ObjectPtr = shared_ptr<const json::object>): an object once handed out never changes, a write
// swaps in a new pointer. replace() swaps the whole contents in one step, so a reader never sees a
// half-applied relist, and returns the deltas (adds, updates and the deletes of objects that
// vanished) for event handlers.
//
// Typed views: view() and list_views() hand out what a ViewDecoder makes of an object (a typed
// resource, runtime::Client::view), decoded on first read and kept with the object until it
// changes — one decode per version of an object, however often it is read. Each object keeps the
// view of one decoder; a second decoder of the same objects takes the slot over (correct, slower).
// Decoding runs outside the lock, so a slow decode never holds up the reflector or other readers.
//
// Indexes: "namespace" (metadata.namespace) and "owner_uid" (every
// metadata.ownerReferences[].uid) always exist; add_index() adds more before the first write.
//
// Freshness: last_sync_rv() is the resource version the cache has reached (the last list, event
// or bookmark). wait_for_rv(rv) blocks until it reaches `rv` (read-your-writes); resource
// versions are compared as integers, which setpoint's are (an opaque one is reached only by
// equality).
//
// Thread-safe: every method may be called from any thread; the writer methods from one.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "setpoint/api/label_selector.h"
#include "setpoint/runtime/watcher.h"

namespace setpoint::runtime {

inline constexpr std::string_view kNamespaceIndex = "namespace";
inline constexpr std::string_view kOwnerUidIndex = "owner_uid";

// The values an object is indexed under (none, one or several).
using IndexFunc = std::function<std::vector<std::string>(const boost::json::object&)>;

// A change to the cache, as handlers see it. Added: old null; Deleted: new null.
struct CacheDelta {
  enum class Kind { kAdded, kUpdated, kDeleted };
  Kind kind;
  ObjectPtr old_object, new_object;
};

// What a reader's type makes of an object, type-erased: `type` is one address per decoded type.
struct ViewDecoder {
  const void* type;
  Result<std::shared_ptr<const void>> (*decode)(const ObjectPtr& object);
};

// "ns/name" or "name" for an object (client-go's MetaNamespaceKeyFunc).
std::string ObjectKey(const boost::json::object& obj);
std::string_view ObjectNamespace(const boost::json::object& obj);
std::string_view ObjectName(const boost::json::object& obj);
std::string_view ObjectResourceVersion(const boost::json::object& obj);

class Cache {
 public:
  Cache();
  Cache(const Cache&) = delete;
  Cache& operator=(const Cache&) = delete;

  // Adds (or replaces) an index and indexes what is already cached.
  void add_index(std::string name, IndexFunc fn);

  // Readers.
  ObjectPtr get(std::string_view ns, std::string_view name) const;
  // Objects in `ns` (empty: every namespace) matching `selector` (null: all), sorted by key.
  std::vector<ObjectPtr> list(std::string_view ns = {}, const api::LabelSelector* selector = nullptr) const;
  // Objects indexed under `value` in index `index` (empty for an unknown index), sorted by key.
  std::vector<ObjectPtr> by_index(std::string_view index, std::string_view value) const;
  // The object decoded by `decoder` (see above); null when absent, the decoder's error when it
  // does not decode.
  Result<std::shared_ptr<const void>> view(std::string_view ns, std::string_view name,
                                           const ViewDecoder& decoder) const;
  // list(ns, selector) and by_index(index, value), decoded by `decoder`; the first object that
  // does not decode fails it.
  Result<std::vector<std::shared_ptr<const void>>> list_views(std::string_view ns, const api::LabelSelector* selector,
                                                              const ViewDecoder& decoder) const;
  Result<std::vector<std::shared_ptr<const void>>> index_views(std::string_view index, std::string_view value,
                                                               const ViewDecoder& decoder) const;
  std::size_t size() const;
  std::string last_sync_rv() const;
  // True once the first complete list is in.
  bool has_synced() const;
  // Waits until the cache reached `rv` (and has synced). False on timeout.
  bool wait_for_rv(std::string_view rv, std::chrono::milliseconds timeout) const;
  bool wait_for_sync(std::chrono::milliseconds timeout) const;

  // Writer side (the Reflector only).
  std::vector<CacheDelta> replace(std::vector<ObjectPtr> objects, std::string rv);
  std::vector<CacheDelta> apply(ObjectPtr object, std::string rv);
  std::vector<CacheDelta> remove(ObjectPtr object, std::string rv);
  void bookmark(std::string rv);

 private:
  // Built on its first by_index() and kept up to date from then on: an informer whose indexes
  // nobody reads (the garbage collector's, over every object) pays nothing for them.
  struct Index {
    IndexFunc fn;
    bool built = false;
    std::map<std::string, std::set<std::string>, std::less<>> values;  // value -> keys
  };
  void index_locked(const std::string& key, const boost::json::object& obj, bool add);
  void build_locked(Index& idx) const;
  void set_rv_locked(std::string rv);
  Result<std::vector<std::shared_ptr<const void>>> views_of(const std::vector<ObjectPtr>& objects,
                                                            const ViewDecoder& decoder) const;
  // Keeps `decoded` as the view of `key` if the cache still holds `object` there. Needs mu_.
  void keep_view_locked(const std::string& key, const ObjectPtr& object, const ViewDecoder& decoder,
                        std::shared_ptr<const void> decoded) const;

  // An object and its view (the view's type, what it decoded to; null until first read).
  struct Entry {
    ObjectPtr object;
    mutable const void* view_type = nullptr;
    mutable std::shared_ptr<const void> view;
  };

  mutable std::mutex mu_;
  mutable std::condition_variable rv_cv_;
  std::map<std::string, Entry, std::less<>> items_;            // GUARDED_BY(mu_)
  mutable std::map<std::string, Index, std::less<>> indexes_;  // GUARDED_BY(mu_)
  std::string rv_;                                             // GUARDED_BY(mu_)
  bool synced_ = false;                                        // GUARDED_BY(mu_)
};

// True if rv `have` is at or after `want` (integers; otherwise equality).
bool ResourceVersionReached(std::string_view have, std::string_view want);

}  // namespace setpoint::runtime
