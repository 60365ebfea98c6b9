// Manager: runs an operator's controllers as controller-runtime's manager does — shared informer
// caches, a read-your-writes client, an event recorder, leader election, health and metrics
// endpoints, and a graceful shutdown.
//
//   auto mgr = Manager::Create(rest, {.name = "memcached", .leader_election = election});
//   auto c = mgr.value()->controller("memcached").For(memcacheds).Owns(processsets).Complete(r);
//   mgr.value()->add(std::move(*c));
//   return mgr.value()->run(stop_token).ok() ? 0 : 1;
//
// Start order: caches (informers of every controller's sources), the health server, then — at
// once, or only while this replica holds the Lease — the controllers. Losing the Lease stops the
// controllers before the Lease can be taken by anyone else (they are joined before it is
// released), and run() returns Unavailable: like controller-runtime, a manager that lost its
// leadership does not lead again; the process should exit and be restarted.
//
// Shutdown: controllers stop taking keys and their running reconciles get
// `graceful_shutdown_timeout` to finish; then the caches stop. When reconciles overrun it, stop()
// says so (Timeout) and the process should exit rather than wait.
//
// Thread-safety: Create/add/start/run/stop from one owning thread; the accessors and the
// probes from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "setpoint/client/dynamic_client.h"
#include "setpoint/client/rest_client.h"
#include "setpoint/runtime/cached_client.h"
#include "setpoint/runtime/controller.h"
#include "setpoint/runtime/event_recorder.h"
#include "setpoint/runtime/health_server.h"
#include "setpoint/runtime/leader_election.h"
#include "setpoint/runtime/shared_informers.h"

namespace setpoint::runtime {

struct ManagerOptions {
  std::string name = "manager";  // the event source component and the log name
  // Set to run controllers only while holding this Lease. An empty identity becomes
  // "<hostname>_<uuid>"; the callbacks are the manager's own.
  std::optional<LeaderElectionConfig> leader_election;
  // "ADDR:PORT" for /healthz, /readyz and /metrics ("127.0.0.1:0": any free port); empty: none.
  std::string health_listen;
  std::chrono::milliseconds cache_sync_timeout{120000};
  std::chrono::milliseconds graceful_shutdown_timeout{30000};
  CachedClientOptions client;
  // Applied to every informer's WatcherOptions (backoff, test seams).
  std::function<void(WatcherOptions&)> watcher_tweak;
  // Time and chance for everything the manager builds (env.h): informers, work queues, the client,
  // leader election, the recorder. null: DefaultEnv(). A part's own env, when set, wins.
  EnvPtr env;
};

class Manager {
 public:
  // `rest` is borrowed and must outlive the manager.
  static Result<std::unique_ptr<Manager>> Create(client::RestClient& rest, ManagerOptions options);
  ~Manager();
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  client::DynamicClient& api() { return api_; }  // uncached
  CachedClient& client() { return *client_; }
  SharedInformers& informers() { return *informers_; }
  EventRecorder& recorder() { return *recorder_; }
  // ManagerOptions::env, or DefaultEnv(): the time and chance of what the manager runs.
  const EnvPtr& env() const { return options_.env; }
  // Bounds what the cache of `gvr`'s resource holds; before anything uses that resource.
  void set_cache_options(const client::GroupVersionResource& gvr, CacheOptions options);

  // A Builder wired to this manager's informers and write records. Complete() it, then add().
  Controller::Builder controller(std::string name);
  // Before start(). BadRequest for a null controller.
  Status add(ControllerPtr controller);
  // What Builder::Complete() answered: the controller added, or its error.
  Status add(Result<ControllerPtr> built) { return built ? add(std::move(*built)) : built.error(); }
  // Work that is not a Controller (controller-runtime's Runnable with leader election): started
  // with the controllers, on a thread of its own, and asked to stop through its token (it must
  // return promptly then). Before start().
  using Runnable = std::function<void(std::stop_token)>;
  Status add_runnable(std::string name, Runnable run);
  // Adds text (Prometheus exposition) to metrics_text(); called on every scrape, from any thread.
  void add_metrics(std::function<std::string()> render);

  // Returns once the caches synced and the controllers started (or the election began).
  Status start();
  // start(), then blocks until `stop` is requested (Ok) or leadership is lost (Unavailable), then
  // stop(). A failed start or a shutdown that overran its deadline is returned as is.
  Status run(std::stop_token stop);
  // Idempotent. Timeout when reconciles did not finish within the graceful timeout.
  Status stop();

  bool healthy() const { return !failed_.load(); }
  // Caches synced, and controllers running or this replica waiting for the Lease.
  bool ready() const;
  bool leading() const;
  // With leader election: why the last attempt at the Lease failed (OK when it succeeded or found
  // the Lease held by another replica). Without: OK.
  Status election_error() const;
  unsigned short health_port() const { return health_ ? health_->port() : 0; }
  // Every controller's and work queue's metrics, the leader gauge and the recorder's counters.
  std::string metrics_text() const;

 private:
  Manager(client::RestClient& rest, ManagerOptions options);
  Status start_controllers();
  Status stop_controllers();

  client::DynamicClient api_;
  ManagerOptions options_;
  std::unique_ptr<SharedInformers> informers_;
  std::unique_ptr<CachedClient> client_;
  std::unique_ptr<EventRecorder> recorder_;
  std::vector<ControllerPtr> controllers_;
  std::vector<std::pair<std::string, Runnable>> runnables_;
  std::vector<std::jthread> running_;  // the runnables' threads while leading
  std::future<void> stopping_;         // the controllers' stop, beside its deadline
  std::vector<std::function<std::string()>> metrics_sources_;
  std::unique_ptr<HealthServer> health_;
  LeaderElectorPtr elector_;
  std::jthread election_;

  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  bool started_ = false, stopped_ = false;  // GUARDED_BY(mu_)
  bool controllers_running_ = false;        // GUARDED_BY(mu_)
  bool lost_ = false;                       // GUARDED_BY(mu_); leadership held and lost
  Status controllers_status_;               // GUARDED_BY(mu_); the last start/stop failure
  std::atomic<bool> failed_{false};
};
using ManagerPtr = std::unique_ptr<Manager>;

// Merges Prometheus text expositions so that each metric family appears once, its samples
// together, as the text format requires when several components render the same families.
std::string MergeExpositions(const std::vector<std::string>& texts);

}  // namespace setpoint::runtime
