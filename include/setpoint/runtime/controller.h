// Controller: sources (informers) → event handlers with predicates → WorkQueue → workers →
// Reconciler, as controller-runtime's builder and worker loop (`pkg/builder`,
// `pkg/internal/controller/controller.go`).
//
//   auto c = Controller::Builder("parent", client)
//                .For(parents)                                  // events → the object's key
//                .Owns(children)                                // → its controller owner's key
//                .Watches(configmaps, map_fn)                   // → whatever map_fn says
//                .WithMaxConcurrentReconciles(2)
//                .Complete(reconciler);
//   c.value()->start();   // informers, wait for their first list, then workers
//
// Each source has its own Informer (the manager will share them). Handlers only enqueue keys. A
// worker gets a key (never one another worker holds), calls reconcile(), counts the result,
// apply_result()s it and done()s the key. An exception escaping reconcile() counts as a panic and
// is retried with backoff, as controller-runtime's RecoverPanic.
//
// Thread-safety: the Builder is confined to one thread. start()/stop() from the owning thread;
// cache(), queue() and metrics() from any thread. The Reconciler is borrowed; it must outlive the
// controller and be safe to call from max_concurrent_reconciles threads at once.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "setpoint/client/dynamic_client.h"
#include "setpoint/runtime/controller_metrics.h"
#include "setpoint/runtime/informer.h"
#include "setpoint/runtime/predicates.h"
#include "setpoint/runtime/reconcile.h"
#include "setpoint/runtime/workqueue.h"

namespace setpoint::runtime {

class Reconciler {
 public:
  virtual ~Reconciler() = default;
  // Brings the world in line with the object `request` names (which may be gone: then clean up
  // or return Done). Errors go into the result, never as exceptions.
  virtual ReconcileResult reconcile(const Request& request) = 0;
};

// Maps an object of a watched resource to the requests to reconcile.
using MapFunc = std::function<std::vector<Request>(const boost::json::object& obj)>;

class Controller {
 public:
  class Builder;

  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Starts every informer, waits (bounded) until each delivered its first list, then starts the
  // workers. Timeout (nothing else started is left running) when a cache does not sync in time.
  Status start(std::chrono::milliseconds cache_sync_timeout = std::chrono::minutes(2));
  // Shuts the queue down, waits for the running reconciles, stops the informers. Idempotent.
  void stop();

  const std::string& name() const { return name_; }
  // The cache of the source watching `gvr` (group, version and resource compared), or nullptr.
  const Cache* cache(const client::GroupVersionResource& gvr) const;
  WorkQueue& queue() { return *queue_; }
  ControllerMetrics metrics() const;
  void render_prometheus(std::string& out) const;

 private:
  struct Source {
    InformerPtr informer;
    std::vector<Predicate> predicates;
    MapFunc map;
  };
  Controller() = default;
  void hook(Source& source);
  void enqueue(const Source& source, const boost::json::object& obj);
  void work();

  std::string name_;
  Reconciler* reconciler_ = nullptr;
  int max_concurrent_ = 1;
  std::unique_ptr<WorkQueue> queue_;
  std::vector<Source> sources_;
  std::vector<std::jthread> workers_;

  mutable std::mutex mu_;
  ControllerMetrics metrics_;  // GUARDED_BY(mu_)
};
using ControllerPtr = std::unique_ptr<Controller>;

class Controller::Builder {
 public:
  // `client` is borrowed by the informers and must outlive the controller. `name` labels metrics.
  Builder(std::string name, client::DynamicClient& client);

  // The reconciled resource. Owns() needs its kind: set gvr.kind (or fill it with Discover()).
  Builder& For(client::GroupVersionResource gvr, std::vector<Predicate> predicates = {});
  // Objects whose owner reference points at a For object enqueue that owner; on update the old
  // and the new owners. Only the controller reference unless `every_owner`.
  Builder& Owns(client::GroupVersionResource gvr, std::vector<Predicate> predicates = {}, bool every_owner = false);
  Builder& Watches(client::GroupVersionResource gvr, MapFunc map, std::vector<Predicate> predicates = {});
  Builder& WithMaxConcurrentReconciles(int n);
  Builder& WithQueueOptions(WorkQueueOptions options);
  // Applied to every source's WatcherOptions (namespace, selectors, backoff, test seams).
  Builder& WithWatcherOptions(std::function<void(WatcherOptions&)> tweak);

  // Invalid without For(), with Owns() but no For kind, or with max concurrency < 1.
  Result<ControllerPtr> Complete(Reconciler& reconciler);

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
};

}  // namespace setpoint::runtime
