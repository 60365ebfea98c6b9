// Controller: sources (informers) → event handlers with predicates → WorkQueue → workers →
// Reconciler, as controller-runtime's builder and worker loop (`pkg/builder`,
// `pkg/internal/controller/controller.go`).
//
//   auto c = Controller::Builder("parent", client)
//                .For(parents)                                  // events → the object's key
//                .Owns(children)                                // → its controller owner's key
//                .Watches(configmaps, map_fn)                   // → whatever map_fn says
//                .WithMaxConcurrentReconciles(2)
//                .Complete(reconciler);            // or a ReconcileFunc
//   c.value()->start();   // informers, wait for their first list, then workers
//
// Sources get their informers from a SharedInformers registry (the Manager's; Manager::controller()
// returns a Builder wired to it), or, built standalone, own one each. Handlers only enqueue keys.
// A worker gets a key (never one another worker holds), calls reconcile(), counts the result,
// apply_result()s it and done()s the key. An exception escaping reconcile() counts as a panic and
// is retried with backoff, as controller-runtime's RecoverPanic.
//
// Stale-cache guard: writes made through a CachedClient while reconciling a key (on the worker's
// thread) are kept with the key. Before the next reconcile of that key the controller checks that
// the caches have seen them; if not, it skips, counts stale_sync_skips_total and requeues the key
// after `stale_requeue_delay` (the watch event that brings the cache up to date usually requeues
// it sooner). Records older than `stale_skip_max` no longer hold a reconcile back.
//
// Thread-safety: the Builder is confined to one thread. start()/stop() from the owning thread;
// cache(), queue() and metrics() from any thread. The Reconciler is borrowed; it must outlive the
// controller and be safe to call from max_concurrent_reconciles threads at once.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "setpoint/client/dynamic_client.h"
#include "setpoint/runtime/cached_client.h"
#include "setpoint/runtime/client.h"
#include "setpoint/runtime/controller_metrics.h"
#include "setpoint/runtime/env.h"
#include "setpoint/runtime/event_recorder.h"
#include "setpoint/runtime/informer.h"
#include "setpoint/runtime/predicates.h"
#include "setpoint/runtime/reconcile.h"
#include "setpoint/runtime/shared_informers.h"
#include "setpoint/runtime/workqueue.h"

namespace setpoint::runtime {

class Reconciler {
 public:
  virtual ~Reconciler() = default;
  // Brings the world in line with the object `request` names (which may be gone: then clean up
  // or return Done). Errors go into the result, never as exceptions.
  virtual ReconcileResult reconcile(const Request& request) = 0;
};

// What a reconcile works with besides its request.
struct Context {
  std::stop_token stop;         // requested when the controller stops (manager shutdown, lost leadership)
  Client client;                // typed; through the manager's read-your-writes client, or WithClient()'s
  EventSink* events = nullptr;  // the manager's recorder, or WithEvents()'s; null: events are dropped

  // Records an event about `obj`.
  template <types::Resource T>
  void event(const T& obj, std::string_view type, std::string_view reason, std::string message) const {
    if (!events) return;
    boost::json::object meta{{"name", obj.metadata.name}, {"uid", obj.metadata.uid}};
    if (!obj.metadata.namespace_.empty()) meta["namespace"] = obj.metadata.namespace_;
    if (!obj.metadata.resourceVersion.empty()) meta["resourceVersion"] = obj.metadata.resourceVersion;
    events->event({{"apiVersion", types::ApiVersionOf<T>()}, {"kind", T::kKind.kind}, {"metadata", std::move(meta)}},
                  type, reason, std::move(message));
  }
};

// A reconcile as a function: brings the world in line with the object `request` names (which may
// be gone: then clean up or return Done). Errors go into the result, never as exceptions.
using ReconcileFunc = std::function<ReconcileResult(const Context& ctx, const Request& request)>;

// Maps an object of a watched resource to the requests to reconcile.
using MapFunc = std::function<std::vector<Request>(const boost::json::object& obj)>;

class Controller {
 public:
  class Builder;

  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Starts the informers it owns (shared ones are the manager's to start), waits (bounded) until
  // each source has seen a complete list, then starts the workers. Timeout (nothing else started is
  // left running) when a cache does not sync in time. A stopped controller does not start again.
  Status start(std::chrono::milliseconds cache_sync_timeout = std::chrono::minutes(2));
  // Shuts the queue down, waits for the running reconciles, detaches from the informers and stops
  // the ones it owns. Idempotent.
  void stop();
  bool running() const;

  const std::string& name() const { return name_; }
  // The cache of the source watching `gvr` (group, version and resource compared), or nullptr.
  const Cache* cache(const client::GroupVersionResource& gvr) const;
  WorkQueue& queue() { return *queue_; }
  ControllerMetrics metrics() const;
  void render_prometheus(std::string& out) const;

 private:
  struct Source {
    SharedInformer informer;
    bool owned = false;  // made for this controller alone: start and stop it here
    HandlerId handlers = 0;
    std::vector<Predicate> predicates;
    MapFunc map;
  };
  Controller() = default;
  void hook(Source& source);
  void enqueue(const Source& source, const boost::json::object& obj);
  void work();
  // Whether the caches have seen the writes `key`'s last reconcile made.
  bool fresh_for(const std::string& key);

  std::string name_;
  ReconcileFunc reconcile_;
  std::unique_ptr<DirectClient> own_client_;  // when the builder was given no client
  ObjectClient* client_ = nullptr;
  EventSink* events_ = nullptr;
  std::stop_source stop_;
  int max_concurrent_ = 1;
  std::unique_ptr<WorkQueue> queue_;
  std::vector<Source> sources_;
  std::vector<std::jthread> workers_;
  std::function<bool(const WriteRecord&)> seen_;  // null: check this controller's own caches
  Duration stale_requeue_delay_{}, stale_skip_max_{};
  MonotonicClockPtr clock_;
  bool stopped_ = false;

  mutable std::mutex mu_;
  ControllerMetrics metrics_;                                    // GUARDED_BY(mu_)
  std::map<std::string, std::vector<WriteRecord>> last_writes_;  // GUARDED_BY(mu_); by key
};
using ControllerPtr = std::unique_ptr<Controller>;

class Controller::Builder {
 public:
  // `client` is borrowed by the informers and must outlive the controller. `name` labels metrics.
  Builder(std::string name, client::DynamicClient& client);

  // The reconciled resource. Owns() needs its kind: set gvr.kind (or fill it with Discover()).
  Builder& For(client::GroupVersionResource gvr, std::vector<Predicate> predicates = {});
  // The typed forms name the resource by its type; Context::client.view<T>() then decodes each
  // version of an object once, in the first reconcile that reads it, and keeps it in the cache.
  template <types::Resource T>
  Builder& For(std::vector<Predicate> predicates = {}) {
    return For(types::GvrOf<T>(), std::move(predicates));
  }
  // Objects whose owner reference points at a For object enqueue that owner; on update the old
  // and the new owners. Only the controller reference unless `every_owner`.
  Builder& Owns(client::GroupVersionResource gvr, std::vector<Predicate> predicates = {}, bool every_owner = false);
  template <types::Resource T>
  Builder& Owns(std::vector<Predicate> predicates = {}, bool every_owner = false) {
    return Owns(types::GvrOf<T>(), std::move(predicates), every_owner);
  }
  Builder& Watches(client::GroupVersionResource gvr, MapFunc map, std::vector<Predicate> predicates = {});
  template <types::Resource T>
  Builder& Watches(MapFunc map, std::vector<Predicate> predicates = {}) {
    return Watches(types::GvrOf<T>(), std::move(map), std::move(predicates));
  }
  // What Context::client reads and writes through (borrowed); by default a DirectClient over the
  // builder's DynamicClient. The manager's builders use its CachedClient.
  Builder& WithClient(ObjectClient& client);
  // Where Context::event goes (borrowed); by default nowhere. The manager's: its EventRecorder.
  Builder& WithEvents(EventSink& events);
  Builder& WithMaxConcurrentReconciles(int n);
  Builder& WithQueueOptions(WorkQueueOptions options);
  // Applied to every source's WatcherOptions (namespace, selectors, backoff, test seams). Only
  // for informers the controller owns; shared ones take the registry's options.
  Builder& WithWatcherOptions(std::function<void(WatcherOptions&)> tweak);
  // Take informers from `informers` (borrowed; it must outlive the controller) instead of owning
  // one per source.
  Builder& WithSharedInformers(SharedInformers& informers);
  // How the stale-cache guard decides a write was seen (the manager passes its CachedClient's
  // seen()); by default, the controller's own caches of the written resource.
  Builder& WithWriteCheck(std::function<bool(const WriteRecord&)> seen);
  Builder& WithStaleCacheGuard(Duration requeue_delay, Duration skip_max);
  // The steady clock of the work queue (RequeueAfter, backoff) and the stale-cache guard, and the
  // sleeps and jitter of owned informers; the manager's builders get its Env. WithQueueOptions'
  // clock, when set, wins for the queue.
  Builder& WithEnv(EnvPtr env);

  // Invalid without For(), with Owns() but no For kind, or with max concurrency < 1.
  Result<ControllerPtr> Complete(Reconciler& reconciler);
  Result<ControllerPtr> Complete(ReconcileFunc reconcile);

 private:
  struct Spec {
    client::GroupVersionResource gvr;
    std::vector<Predicate> predicates;
    enum class Kind { kFor, kOwns, kWatches } kind;
    bool every_owner = false;
    MapFunc map;
  };
  std::string name_;
  client::DynamicClient& client_;
  std::vector<Spec> specs_;
  int max_concurrent_ = 1;
  WorkQueueOptions queue_options_;
  std::function<void(WatcherOptions&)> tweak_;
  SharedInformers* shared_ = nullptr;
  std::function<bool(const WriteRecord&)> seen_;
  ObjectClient* objects_ = nullptr;
  EventSink* events_ = nullptr;
  EnvPtr env_;
  Duration stale_requeue_delay_ = std::chrono::milliseconds(100), stale_skip_max_ = std::chrono::seconds(5);
};

}  // namespace setpoint::runtime
