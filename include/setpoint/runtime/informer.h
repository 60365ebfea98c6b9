// Informer: one resource's Watcher → Reflector → Cache, plus event handlers (client-go's
// SharedIndexInformer). The Manager shares one informer between every controller that watches the
// same resource with the same options.
//
// Handlers run on the informer's one dispatch thread, in the order the cache changed, never
// concurrently with each other; they see the cache at least as new as the delta they get. Keep
// them short (enqueue keys): a slow handler delays the others, not the cache, because deltas queue
// up unbounded between the reflector and the dispatcher (as client-go's listener buffers do).
// A relist delivers on_add for new objects, on_update for every object still present (a resync,
// with possibly equal versions) and on_delete for objects that vanished while the watch was down.
//
// Handlers may be added before or after start(). Added after the cache has synced, they first get
// on_add for every cached object (a snapshot), then the changes after it; a change racing with the
// registration may arrive twice, none is missed. remove_handlers() returns once no callback of
// that registration runs or will run. Neither may be called from inside a handler.
//
// Thread-safety: add_index() before start(); start()/stop() from the owning thread; everything
// else from any thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "setpoint/runtime/cache.h"
#include "setpoint/runtime/reflector.h"
#include "setpoint/runtime/watcher.h"

namespace setpoint::runtime {

struct EventHandlers {
  std::function<void(const ObjectPtr& obj)> on_add;
  std::function<void(const ObjectPtr& old_obj, const ObjectPtr& new_obj)> on_update;
  // The object's last state: the server's final copy, or the cached one when a relist found it gone.
  std::function<void(const ObjectPtr& obj)> on_delete;
};

using HandlerId = std::uint64_t;

class Informer {
 public:
  // `client` is borrowed and must outlive the informer.
  Informer(client::DynamicClient& client, WatcherOptions options);
  ~Informer();
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  HandlerId add_handlers(EventHandlers handlers);
  void remove_handlers(HandlerId id);
  void add_index(std::string name, IndexFunc fn) { cache_.add_index(std::move(name), std::move(fn)); }

  void start();
  void stop();
  bool started() const;

  const Cache& cache() const { return cache_; }
  const Watcher& watcher() const { return *watcher_; }
  const client::GroupVersionResource& gvr() const { return gvr_; }
  // True once the first list has been delivered to every handler registered before it.
  bool has_synced() const;
  bool wait_for_sync(std::chrono::milliseconds timeout) const;
  // True once registration `id` has seen a complete list (its snapshot, for a late one). An
  // unknown (removed) id counts as synced.
  bool has_synced(HandlerId id) const;
  bool wait_for_sync(HandlerId id, std::chrono::milliseconds timeout) const;

 private:
  struct Batch {
    std::vector<CacheDelta> deltas;
    bool restarted = false;
    std::uint64_t seq = 0;
    HandlerId only = 0;  // non-zero: a snapshot for this late registration alone
  };
  struct Registration {
    std::shared_ptr<const EventHandlers> handlers;
    std::uint64_t from_seq = 0;  // batches before this are already in its snapshot
    bool synced = false;
  };
  void enqueue(std::vector<CacheDelta> deltas, bool restarted);
  void dispatch(std::stop_token stop);
  static void deliver(const EventHandlers& h, const CacheDelta& d);

  const client::GroupVersionResource gvr_;
  Cache cache_;
  Reflector reflector_;
  WatcherPtr watcher_;

  // Lock order: deliver_mu_ before mu_. The dispatcher holds deliver_mu_ while it runs handlers,
  // so add/remove_handlers, which take it first, never interleave with a batch.
  std::mutex deliver_mu_;
  mutable std::mutex mu_;
  mutable std::condition_variable_any cv_;
  std::map<HandlerId, Registration> handlers_;  // GUARDED_BY(mu_)
  HandlerId next_id_ = 1;                       // GUARDED_BY(mu_)
  std::uint64_t next_seq_ = 1;                  // GUARDED_BY(mu_)
  std::deque<Batch> pending_;                   // GUARDED_BY(mu_)
  bool synced_ = false;                         // GUARDED_BY(mu_)
  bool started_ = false;                        // GUARDED_BY(mu_)
  std::jthread dispatcher_;
};
using InformerPtr = std::unique_ptr<Informer>;

}  // namespace setpoint::runtime
