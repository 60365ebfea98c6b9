// SharedInformers: the manager's registry of informers, one per resource and cache options, shared
// by every controller and cached read that asks for the same thing (controller-runtime's
// informer cache, client-go's SharedInformerFactory).
//
// Informers are reference counted: the registry keeps only weak pointers, so an informer lives as
// long as some controller source or pinned reader holds it, and stops when the last one lets go.
// Per-resource CacheOptions (namespace, label and field selectors, metadata-only) bound what a
// cache holds; set them before the first get() of that resource.
//
// Thread-safety: every method may be called from any thread. Do not drop the last reference to an
// informer from inside one of its handlers (its destructor joins the dispatch thread).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "setpoint/client/dynamic_client.h"
#include "setpoint/runtime/informer.h"

namespace setpoint::runtime {

struct CacheOptions {
  std::string ns;  // empty: every namespace
  std::string label_selector, field_selector;
  // Keep only apiVersion, kind and metadata (see MetadataOnly): for kinds a controller finds by
  // owner or label but never reads the spec of.
  bool metadata_only = false;
  // With metadata_only: keep only these metadata fields (name, namespace, uid and resourceVersion
  // always stay) and drop apiVersion and kind too — for a controller that reads nothing else
  // and watches every object of a resource (the garbage collector). Empty: all of metadata.
  std::vector<std::string> metadata_fields;
  // Drop metadata.managedFields (controller-runtime's default).
  bool strip_managed_fields = true;
};

// "resource.group" ("configmaps" for the core group): names a resource across its versions.
std::string ResourceKey(const client::GroupVersionResource& gvr);

using SharedInformer = std::shared_ptr<Informer>;

class SharedInformers {
 public:
  // `client` is borrowed and must outlive the registry and every informer it made. `tweak` is
  // applied to every informer's WatcherOptions (test seams, backoff).
  explicit SharedInformers(client::DynamicClient& client, std::function<void(WatcherOptions&)> tweak = {});
  ~SharedInformers();
  SharedInformers(const SharedInformers&) = delete;
  SharedInformers& operator=(const SharedInformers&) = delete;

  // The options get(gvr) uses for this resource (any version).
  void set_options(const client::GroupVersionResource& gvr, CacheOptions options);

  // The informer for `gvr` with its resource's options (or `options`): the live one if any, else
  // a new one, started at once if start() was called. Never null.
  SharedInformer get(const client::GroupVersionResource& gvr);
  SharedInformer get(const client::GroupVersionResource& gvr, const CacheOptions& options);
  // Every live informer of this resource (any version or options).
  std::vector<SharedInformer> live(std::string_view resource_key) const;
  std::vector<SharedInformer> live() const;

  // Starts every live informer, and any made later. stop() stops the live ones; made later, they
  // stay stopped.
  void start();
  void stop();
  // Waits until every live informer has synced. False on timeout.
  bool wait_for_sync(std::chrono::milliseconds timeout) const;

 private:
  struct Entry {
    std::string resource_key;
    std::weak_ptr<Informer> informer;
  };
  client::DynamicClient& client_;
  const std::function<void(WatcherOptions&)> tweak_;

  mutable std::mutex mu_;
  std::map<std::string, CacheOptions> options_;  // GUARDED_BY(mu_); by resource key
  std::map<std::string, Entry> entries_;         // GUARDED_BY(mu_); by gvr + options
  bool started_ = false, stopped_ = false;       // GUARDED_BY(mu_)
};

}  // namespace setpoint::runtime
