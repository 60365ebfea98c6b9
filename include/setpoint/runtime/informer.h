// Informer: one resource's Watcher → Reflector → Cache, plus event handlers (client-go's
// SharedIndexInformer without the sharing; the manager will share informers later).
//
// Handlers run on the informer's one dispatch thread, in the order the cache changed, never
// concurrently with each other; they see the cache at least as new as the delta they get. Keep
// them short (enqueue keys): a slow handler delays the others, not the cache, because deltas queue
// up unbounded between the reflector and the dispatcher (as client-go's listener buffers do).
// A relist delivers on_add for new objects, on_update for every object still present (a resync,
// with possibly equal versions) and on_delete for objects that vanished while the watch was down.
//
// Thread-safety: add_handlers()/add_index() before start(); start()/stop() from the owning
// thread; cache(), has_synced() and wait_for_sync() from any thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
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

class Informer {
 public:
  // `client` is borrowed and must outlive the informer.
  Informer(client::DynamicClient& client, WatcherOptions options);
  ~Informer();
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  void add_handlers(EventHandlers handlers);
  void add_index(std::string name, IndexFunc fn) { cache_.add_index(std::move(name), std::move(fn)); }

  void start();
  void stop();

  const Cache& cache() const { return cache_; }
  const Watcher& watcher() const { return *watcher_; }
  const client::GroupVersionResource& gvr() const { return gvr_; }
  // True once the first list has been delivered to every handler.
  bool has_synced() const;
  bool wait_for_sync(std::chrono::milliseconds timeout) const;

 private:
  struct Batch {
    std::vector<CacheDelta> deltas;
    bool restarted;
  };
  void enqueue(std::vector<CacheDelta> deltas, bool restarted);
  void dispatch(std::stop_token stop);
  void deliver(const CacheDelta& d);

  const client::GroupVersionResource gvr_;
  Cache cache_;
  Reflector reflector_;
  std::vector<EventHandlers> handlers_;  // fixed once started
  WatcherPtr watcher_;

  mutable std::mutex mu_;
  mutable std::condition_variable_any cv_;
  std::deque<Batch> pending_;  // GUARDED_BY(mu_)
  bool synced_ = false;        // GUARDED_BY(mu_)
  std::jthread dispatcher_;
};
using InformerPtr = std::unique_ptr<Informer>;

}  // namespace setpoint::runtime
