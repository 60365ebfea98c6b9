// GarbageCollector: deletes objects whose owners are gone, as kube-controller-manager's garbage
// collector does, over every served resource (custom resources included).
//
// A graph of the objects that matter to it — those with owner references, those being deleted
// with the orphan or foregroundDeletion finalizer, and the owners its dependents name — keeps
// uid, kind, namespace, name, owner references and deletion state. It is fed by one metadata-only
// Watcher per deletable resource, found through discovery (re-read every few seconds, so new CRDs
// are picked up); the graph is the collector's only copy, so an object nobody owns and that owns
// nothing costs the collector no memory. An owner first named by a dependent is looked up live
// once and then tracked. Work items go through a rate-limited queue to a few workers:
//
//   d:<uid>  a dependent whose owners may be gone. Each owner reference is classified: solid (the
//            owner exists and is not waiting for its dependents), waiting (it is being deleted in
//            the foreground), or dangling (absent). Absence is decided by a live GET and a uid
//            comparison, remembered in an absent-owner cache. References to a namespaced owner
//            in another namespace (or from a cluster-scoped object) are dangling, with a Warning
//            Event OwnerRefInvalidNamespace. Then: solid owners left →
//            patch the dangling and waiting references out; only waiting owners → delete in the
//            foreground (after clearing blockOwnerDeletion towards them if it has dependents of
//            its own); none → delete, with the policy its own finalizers ask for.
//   o:<uid>  an owner deleted with propagationPolicy=Orphan: its references are removed from every
//            dependent, then its `orphan` finalizer.
//   f:<uid>  an owner deleted with propagationPolicy=Foreground: its dependents are deleted; once
//            none with blockOwnerDeletion=true is left, its `foregroundDeletion` finalizer goes.
//
// Cycles do not hang it: each item is one bounded step, and an owner in a cycle is solid until it
// is deleted. Thread-safety: run() on one thread (a Manager runnable); the watchers' sinks (each on
// its watcher's thread) and the workers share the graph under one mutex; metrics_text() from any
// thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "setpoint/runtime/manager.h"
#include "setpoint/runtime/watcher.h"
#include "setpoint/runtime/workqueue.h"

namespace setpoint::controllers {

struct GarbageCollectorOptions {
  int workers = 4;
  std::chrono::milliseconds discovery_interval{3000};
  std::size_t absent_owner_cache = 16384;
};

class GarbageCollector {
 public:
  // Both borrowed; they must outlive the collector.
  GarbageCollector(runtime::Manager& manager, client::RestClient& rest, GarbageCollectorOptions options = {});
  ~GarbageCollector();

  // Runs until `stop`: discovery, informers, workers.
  void run(std::stop_token stop);
  std::string metrics_text() const;

  // For tests and metrics.
  std::size_t graph_size() const;

 private:
  struct OwnerRef {
    std::string api_version, kind, name, uid;
    bool controller = false, block = false;
  };
  using GvrPtr = std::shared_ptr<const client::GroupVersionResource>;
  struct Node {
    GvrPtr gvr;  // shared by every node of one resource
    std::string ns, name, uid;
    std::vector<OwnerRef> owners;
    bool deleting = false, foreground = false, orphan = false;
  };
  struct Source {
    GvrPtr gvr;
    std::unique_ptr<runtime::Watcher> watcher;
    bool synced = false;  // GUARDED_BY(mu_); its first list is in the graph
  };

  void refresh_sources();
  void detach_all();
  void on_event(const std::string& source, const GvrPtr& gvr, runtime::WatcherEvent event);
  // Brings the graph up to date with one object; returns its uid.
  std::string observe(const boost::json::object& obj, const GvrPtr& gvr);
  void forget(const std::string& uid);
  // Whether a node belongs in the graph: it has owners, waits on its dependents, or is named as
  // an owner by one.
  bool wanted_locked(const Node& node) const;
  // Removes the node's references from dependents_; owners left without dependents (and not in
  // the graph for any other reason) leave the graph.
  void unlink_locked(const Node& node);
  // An owner the server has just shown exists: tracked from now on (unless deleted meanwhile).
  void track_owner(const boost::json::object& owner, const client::GroupVersionResource& gvr);
  // An owner absent from the dependent's namespace: is that uid alive in another one?
  Result<bool> exists_elsewhere(const client::GroupVersionResource& gvr, const OwnerRef& ref);
  void warn_invalid_namespace(const Node& dependent, const OwnerRef& ref);
  void enqueue(std::string item);

  void work();
  bool all_synced() const;
  bool all_synced_locked() const;
  static std::vector<OwnerRef> OwnersOf(const boost::json::object& meta);
  Status process(const std::string& item);
  Status attempt_to_delete(const std::string& uid);
  Status orphan_dependents(const std::string& uid);
  Status finish_foreground(const std::string& uid);

  enum class OwnerState { kSolid, kWaiting, kDangling };
  Result<OwnerState> classify(const Node& dependent, const OwnerRef& ref);
  std::optional<client::GroupVersionResource> resource_for(std::string_view api_version, std::string_view kind) const;
  bool known_absent(const std::string& uid);
  void remember_absent(const std::string& uid);
  void remember_absent_locked(const std::string& uid);
  Result<boost::json::object> live(const Node& node);
  Status patch_owner_refs(const Node& node, const std::function<bool(boost::json::object& ref)>& edit);
  Status remove_finalizer(const Node& node, std::string_view finalizer);

  runtime::Manager& manager_;
  client::RestClient& rest_;
  client::DynamicClient api_;
  const GarbageCollectorOptions options_;
  std::unique_ptr<runtime::WorkQueue> queue_;

  mutable std::mutex mu_;
  std::unordered_map<std::string, Node> nodes_;                               // GUARDED_BY(mu_); by uid
  std::unordered_map<std::string, std::set<std::string>> dependents_;         // GUARDED_BY(mu_); owner uid -> uids
  std::map<std::string, Source> sources_;                                     // GUARDED_BY(mu_); by group/resource
  std::map<std::string, client::GroupVersionResource> kinds_;                 // GUARDED_BY(mu_); "group/Kind"
  std::list<std::string> absent_lru_;                                         // GUARDED_BY(mu_)
  std::unordered_map<std::string, std::list<std::string>::iterator> absent_;  // GUARDED_BY(mu_)
  std::set<std::string> warned_;  // GUARDED_BY(mu_); invalid-namespace events sent

  std::condition_variable_any synced_cv_;  // with mu_: a source finished its first list

  std::mutex rediscover_mu_;
  std::condition_variable_any rediscover_cv_;
  bool rediscover_ = false;  // GUARDED_BY(rediscover_mu_)

  std::atomic<std::uint64_t> deleted_{0}, refs_removed_{0}, orphaned_{0}, finalizers_removed_{0}, lookups_{0},
      errors_{0};
};

}  // namespace setpoint::controllers
