// Watcher: the list-then-watch state machine for one resource (kube-rs `watcher`, client-go's
// Reflector.ListAndWatch), over the DynamicClient.
//
//   Empty ──list (paginated)──▶ Restarted(all objects, rv) ──watch(rv, bookmarks)──▶ Watching(rv)
//   Empty ──WatchList (watch_list): one watch with sendInitialEvents=true streams the objects, then
//     a BOOKMARK annotated k8s.io/initial-events-end ▶ Restarted(those objects, its rv), and the
//     same stream goes on as Watching. A server that does not do WatchList shows it (an error
//     answer, an event other than ADDED or an unannotated bookmark before the end marker, or 2 s
//     of silence without one): the watcher lists from then on.
//   Watching: ADDED/MODIFIED ▶ Applied(obj), rv = obj's; DELETED ▶ Deleted(obj); BOOKMARK ▶ rv only
//   clean end of stream / dropped connection ▶ watch again from the last seen rv
//   410 (Expired/Gone, as an ERROR event or an HTTP answer, on watch or on a list page) ▶ Empty
//     (at once after a watch that delivered events; otherwise after a backoff)
//   any other error ▶ back off (800 ms doubling to 30 s, jittered), then retry the same state
//
// The backoff resets after anything succeeds (a list, or a watch event). Events go to a sink
// called on the watcher's own std::jthread, in order, never concurrently; the sink must not call
// stop(). stop() (or destruction) requests the stop_token, cancels the open watch and joins.
//
// Thread-safety: start()/stop() from one owning thread; counters are safe from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <boost/json/object.hpp>

#include "setpoint/client/dynamic_client.h"
#include "setpoint/common/status.h"
#include "setpoint/runtime/env.h"

namespace setpoint::runtime {

// An immutable cached object, shared between the cache, handlers and readers.
using ObjectPtr = std::shared_ptr<const boost::json::object>;

struct WatcherEvent {
  enum class Kind { kRestarted, kApplied, kDeleted, kBookmark };
  Kind kind = Kind::kApplied;
  std::vector<ObjectPtr> objects;  // kRestarted: the complete list
  ObjectPtr object;                // kApplied / kDeleted
  std::string resource_version;    // the rv the stream has reached after this event
};

struct WatcherOptions {
  client::GroupVersionResource gvr;
  std::string ns;  // empty: all namespaces (or cluster-scoped)
  std::string label_selector, field_selector;
  std::int64_t page_size = 500;
  bool bookmarks = true;
  // Get the initial state through WatchList (kube-rs's streaming list, client-go's WatchListClient)
  // when the server offers it; list + watch otherwise.
  bool watch_list = false;
  std::int64_t watch_timeout_seconds = 290;  // kube-rs's default server-side timeout
  // Skip the initial list and watch from this rv (kube-rs's InitListed state); a 410 relists.
  std::string start_resource_version;
  // Applied to every object before it is handed on (client-go's SetTransform): drop what the
  // cache need not keep. Must keep metadata.name, namespace and resourceVersion. See MetadataOnly.
  std::function<void(boost::json::object&)> transform;
  // Ask the server for PartialObjectMetadata (client-go's metadata informers): lists and events
  // then carry only metadata, with kind and apiVersion restored to the resource's before
  // `transform`. Objects from a server that ignores the request arrive whole.
  bool metadata_only = false;
  std::chrono::milliseconds backoff_initial{800};
  std::chrono::milliseconds backoff_max{30000};
  // Backoff sleeps and their jitter (env.h); null: DefaultEnv().
  EnvPtr env;
};

// A transform keeping only apiVersion, kind and metadata (without managedFields): the cache then
// holds what a PartialObjectMetadata would, for kinds a controller only needs to find by owner or
// label. With WatcherOptions::metadata_only the server sends only that much in the first place.
void MetadataOnly(boost::json::object& obj);
// A transform keeping only metadata's `fields` (and name, namespace, uid and resourceVersion,
// which caches need), without kind and apiVersion: for a controller that tracks every object of a
// resource by a few fields (the garbage collector). Builds fresh, exactly sized JSON objects.
std::function<void(boost::json::object&)> MetadataFieldsOnly(std::vector<std::string> fields);
// A transform dropping metadata.managedFields, which controllers rarely read and which can be
// the bulk of an object (controller-runtime's default transform).
void StripManagedFields(boost::json::object& obj);

// One failure's wait: min(max, initial * 2^failures) plus up to 100% jitter, capped at max.
std::chrono::milliseconds WatcherBackoff(const WatcherOptions& options, int failures, double random01);

class Watcher {
 public:
  using Sink = std::function<void(WatcherEvent)>;

  // `client` is borrowed and must outlive the watcher.
  Watcher(client::DynamicClient& client, WatcherOptions options, Sink sink);
  ~Watcher();
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  void start();
  void stop();

  // For metrics and tests.
  std::uint64_t relists() const { return relists_.load(); }  // lists done (the first included)
  std::uint64_t watches() const { return watches_.load(); }  // watch requests opened
  std::uint64_t failures() const { return failures_total_.load(); }
  std::string last_resource_version() const;

 private:
  void run(std::stop_token stop);
  // Lists every page; emits Restarted. Returns the error if any page failed.
  Status list_all(std::stop_token stop);
  // Watches from rv_ until the stream ends; returns the error that ended it, or Ok. With
  // `initial`, a WatchList: `listed` tells whether the initial state was delivered.
  Status watch_once(std::stop_token stop, bool& progressed, bool initial = false, bool* listed = nullptr);
  void set_rv(std::string rv);

  client::DynamicClient& client_;
  const WatcherOptions options_;
  const Sink sink_;

  mutable std::mutex mu_;
  std::string rv_;                         // GUARDED_BY(mu_)
  client::WatchStream* stream_ = nullptr;  // GUARDED_BY(mu_); the open watch, for cancel()

  std::atomic<std::uint64_t> relists_{0}, watches_{0}, failures_total_{0};
  std::atomic<bool> watch_list_ok_{true};  // false once the server showed it does not do WatchList

 public:
  // True while the watcher gets its initial state through WatchList (for tests and metrics).
  bool using_watch_list() const { return options_.watch_list && watch_list_ok_.load(); }

 private:
  std::jthread thread_;
};
using WatcherPtr = std::unique_ptr<Watcher>;

}  // namespace setpoint::runtime
