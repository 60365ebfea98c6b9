// CachedClient: the manager's client. Reads come from shared informer caches; writes go to the
// API server and are remembered, so that a reconciler never acts on a cache older than its own
// writes (read-your-writes).
//
// Every successful write records what it produced: the resourceVersion of the object it returned,
// or, for a delete that removed the object, its uid. A cached get() of that object afterwards
// waits (up to `read_your_writes_timeout`) until the cache holds that version or no longer holds
// that uid; a cached list() waits until the cache has reached every write to its resource. When the
// cache does not catch up in time the read fails with Unavailable (the reconcile is retried with
// backoff) rather than answering from a cache known to be stale. uncached() reads the server.
//
// The controller uses the same records: writes made while reconciling a request (this thread,
// inside a WriteScope) are kept with the request, and the next reconcile of it is skipped and
// requeued while any cache has not yet seen them (`stale_sync_skips_total`). That is what stops a
// reconciler from creating a second child because the first is not yet in the cache.
//
// resourceVersions are compared as integers, as etcd's and setpoint's are; a server with opaque
// versions degrades to waiting for the exact version.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "setpoint/client/dynamic_client.h"
#include "setpoint/runtime/env.h"
#include "setpoint/runtime/monotonic_clock.h"
#include "setpoint/runtime/object_client.h"
#include "setpoint/runtime/shared_informers.h"

namespace setpoint::runtime {

struct WriteRecord {
  std::string resource_key;      // ResourceKey(gvr)
  std::string object_key;        // "ns/name" or "name"
  std::string resource_version;  // the cache must reach it, or
  std::string deleted_uid;       // the cache must no longer hold this uid under object_key
  SteadyTime at{};
};

// Collects the WriteRecords of this thread while alive (the controller wraps each reconcile in
// one). Scopes nest; the innermost collects.
class WriteScope {
 public:
  explicit WriteScope(std::vector<WriteRecord>& sink);
  ~WriteScope();
  WriteScope(const WriteScope&) = delete;
  WriteScope& operator=(const WriteScope&) = delete;
  // Appends to the innermost scope of this thread, if any.
  static void Record(const WriteRecord& record);

 private:
  std::vector<WriteRecord>* previous_;
};

// Whether `informer`'s cache has seen `write`.
bool CacheHasSeen(const Informer& informer, const WriteRecord& write);

struct CachedClientOptions {
  std::chrono::milliseconds read_your_writes_timeout{5000};
  // Records older than this are forgotten (a healthy cache catches up in milliseconds).
  std::chrono::milliseconds record_ttl{10000};
  std::chrono::milliseconds cache_sync_timeout{60000};
  EnvPtr env;  // its steady clock ages the records; null: DefaultEnv()
};

class CachedClient final : public ObjectClient {
 public:
  // Both borrowed; they must outlive the client.
  CachedClient(client::DynamicClient& api, SharedInformers& informers, CachedClientOptions options = {});

  // Cached reads. The informer for gvr is created (and pinned) on first use, which waits for its
  // first list. NotFound as the API would say it.
  Result<ObjectPtr> get(const client::GroupVersionResource& gvr, std::string_view ns, std::string_view name) override;
  Result<std::vector<ObjectPtr>> list(const client::GroupVersionResource& gvr, std::string_view ns = {},
                                      const api::LabelSelector* selector = nullptr) override;
  // Kept with the cached object: decoded once per version of it.
  Result<std::shared_ptr<const void>> view(const client::GroupVersionResource& gvr, std::string_view ns,
                                           std::string_view name, const ViewDecoder& decoder) override;
  Result<std::vector<std::shared_ptr<const void>>> list_views(const client::GroupVersionResource& gvr,
                                                              std::string_view ns, const api::LabelSelector* selector,
                                                              const ViewDecoder& decoder) override;
  Result<std::vector<std::shared_ptr<const void>>> index_views(const client::GroupVersionResource& gvr,
                                                               std::string_view index, std::string_view value,
                                                               const ViewDecoder& decoder) override;
  // Objects indexed under `value` in the cache's index `index` (kOwnerUidIndex: the children of
  // an owner), after every write to the resource was seen.
  Result<std::vector<ObjectPtr>> by_index(const client::GroupVersionResource& gvr, std::string_view index,
                                          std::string_view value);

  // Writes, recorded on success.
  Result<boost::json::object> create(const client::GroupVersionResource& gvr, std::string_view ns,
                                     const boost::json::object& obj) override;
  Result<boost::json::object> update(const client::GroupVersionResource& gvr, std::string_view ns,
                                     const boost::json::object& obj) override;
  Result<boost::json::object> update_status(const client::GroupVersionResource& gvr, std::string_view ns,
                                            const boost::json::object& obj) override;
  Result<boost::json::object> patch(const client::GroupVersionResource& gvr, std::string_view ns, std::string_view name,
                                    client::PatchType type, std::string_view body,
                                    std::string_view subresource = {}) override;
  Result<boost::json::object> remove(const client::GroupVersionResource& gvr, std::string_view ns,
                                     std::string_view name, const client::DeleteOptions& options = {}) override;

  // Reads and writes straight to the server, bypassing caches and records.
  client::DynamicClient& uncached() { return api_; }

  // Whether every cache of the write's resource has seen it (true when none exists, or when the
  // record is older than record_ttl). A record found seen is forgotten.
  bool seen(const WriteRecord& write);
  // Records a write done elsewhere (by uncached(), say) so that reads wait for it.
  void record(WriteRecord write);

 private:
  void record_result(const client::GroupVersionResource& gvr, std::string_view ns, const boost::json::object& obj);
  Result<SharedInformer> informer_for(const client::GroupVersionResource& gvr);
  // Waits until `informer` has seen the recorded writes to `key` (exact), or to every key starting
  // with `prefix` when `key` is empty; Unavailable on timeout.
  Status wait_fresh(const Informer& informer, std::string_view key, std::string_view prefix);
  // Drops the record of `w` if it is still the latest for its object.
  void forget(const WriteRecord& w);

  client::DynamicClient& api_;
  SharedInformers& informers_;
  const CachedClientOptions options_;
  const MonotonicClockPtr clock_;

  mutable std::mutex mu_;
  // resource key -> object key -> the last write to it. Records go when a cache is seen to have
  // them (reads and the controller's guard check), or, oldest first, past record_ttl.
  std::map<std::string, std::map<std::string, WriteRecord, std::less<>>, std::less<>> writes_;  // GUARDED_BY(mu_)
  struct Aged {
    SteadyTime at;
    std::string resource_key, object_key;
  };
  std::deque<Aged> by_age_;                       // GUARDED_BY(mu_); in record order, so oldest first
  std::map<std::string, SharedInformer> pinned_;  // GUARDED_BY(mu_)
};

}  // namespace setpoint::runtime
