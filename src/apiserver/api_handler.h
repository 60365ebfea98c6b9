// ApiHandler: the Kubernetes REST API over the store and the watch cache.
//
// Every request passes the same pipeline: route → authenticate → authorise → decode → admit
// (defaults, schema, metadata rules, namespace lifecycle) → store → respond. Reads are served
// from the WatchCache; writes go to the Store (which blocks until durable) and their responses
// are built from the bytes the cache serialised for that revision.
//
// Thread-safety: handle() is called concurrently from the transport's worker threads; all state
// is either immutable, atomic, or owned by the thread-safe store, cache and registry.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "apiserver/admission.h"
#include "apiserver/http.h"
#include "apiserver/metrics.h"
#include "apiserver/request_info.h"
#include "apiserver/resources.h"
#include "setpoint/common/clock.h"
#include "setpoint/store/store.h"
#include "store/cache/watch_cache.h"

namespace setpoint::apiserver {

// Who is asking. Today every request is the local administrator; the stage exists so that
// token and certificate authentication plug in without touching handlers.
struct UserInfo {
  std::string name;
  std::vector<std::string> groups;
};

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  virtual Result<UserInfo> authenticate(const HttpRequest& request) = 0;  // Unauthorized
};

class Authorizer {
 public:
  virtual ~Authorizer() = default;
  virtual Status authorize(const UserInfo& user, const RequestInfo& info) = 0;  // Forbidden
};

std::unique_ptr<Authenticator> NewLocalAdminAuthenticator();
std::unique_ptr<Authorizer> NewAllowAllAuthorizer();

class WatchStream;

// Runs a step that may block somewhere it is allowed to.
using Offload = std::function<void(std::function<void()>)>;
using Respond = std::function<void(HttpResponse)>;

class ApiHandler final : public HttpHandler {
 public:
  ApiHandler(store::Store& store, store::WatchCache& cache, Registry& registry, ClockPtr clock);
  ~ApiHandler() override;

  HttpResponse handle(HttpRequest& request) override;
  HttpResponse transport_error(int http_code, std::string_view message) override;
  bool accepts_async(const HttpRequest& request) const override;
  void handle_async(HttpRequest& request, Respond respond) override;

  void set_ready(bool ready) { ready_ = ready; }
  // More Prometheus text for /metrics (the controller manager's); set once, before it is scraped.
  void set_extra_metrics(std::function<std::string()> render) {
    std::lock_guard lock(hooks_mu_);
    extra_metrics_ = std::move(render);
  }
  // The transport's connection counters, for /metrics; set once, before it is scraped.
  void set_connection_stats(std::function<ConnectionStats()> stats) {
    std::lock_guard lock(hooks_mu_);
    connection_stats_ = std::move(stats);
  }
  // A named check for /readyz besides the store's: the reason it fails, or nullopt when it
  // passes. A null check removes the name. Called on every /readyz; must not block.
  using ReadyCheck = std::function<std::optional<std::string>()>;
  void set_ready_check(const std::string& name, ReadyCheck check) {
    std::lock_guard lock(hooks_mu_);
    if (check)
      ready_checks_[name] = std::move(check);
    else
      ready_checks_.erase(name);
  }
  // Ends every open watch (cleanly, with the terminating chunk) and refuses new ones.
  void shutdown();
  std::size_t open_watches() const;
  void forget_watch(WatchStream* stream);

  // Creates an object as a client would (used for the built-in namespaces at start-up).
  Status create_internal(const std::string& group, const std::string& resource, const std::string& ns,
                         boost::json::object object);

 private:
  struct Ctx;

  // The bounded metric labels of a request (ctx null: it never got past routing).
  static RequestLabels RequestLabelsOf(const HttpRequest& request, const Ctx* ctx);

  // The request path, written once for both entry points: route → authenticate → find the
  // resource (waiting once for the registry if it may be a CRD just created) → check the
  // request → the verb. `respond` is called exactly once; steps that may block go to `offload`.
  // Every step below may refer to the Ctx it is given until it responds: the Ctx lives until then.
  void serve(HttpRequest& request, Offload offload, Respond respond);
  void dispatch(Ctx& ctx, Respond respond);
  HttpResponse non_resource(HttpRequest& request);
  // Validation shared by every resource request; an error response, or nullopt to go on.
  std::optional<HttpResponse> check_resource_request(Ctx& ctx);
  // The verbs that block as they go, run as one offloaded step.
  HttpResponse blocking_verb(const Ctx& ctx);
  HttpResponse internal_error(const Ctx& ctx, const std::exception& e);
  HttpResponse guarded(HttpRequest& request, const Ctx* ctx, const std::function<HttpResponse()>& step);

  // Reads.
  HttpResponse do_get(const Ctx& ctx);
  // processes/NAME/log: proxied to the agent that runs it (process_log.cc).
  HttpResponse do_log(const Ctx& ctx, std::string_view process_json);
  HttpResponse do_list(const Ctx& ctx);
  HttpResponse do_watch(const Ctx& ctx);
  // Writes. Create and update never block: they answer from the store's commit callback.
  void do_create(const Ctx& ctx, Respond respond);
  void do_update(const Ctx& ctx, Respond respond);
  HttpResponse update_scale(const Ctx& ctx, const boost::json::object& body);
  HttpResponse do_patch(const Ctx& ctx);
  HttpResponse do_delete(const Ctx& ctx);
  HttpResponse do_delete_collection(const Ctx& ctx);

  // Create: what it does before the store (defaults, admission), the namespace's lifecycle, and
  // the store with generateName retries; a CRD is answered once the registry serves it.
  using CreateDone = std::function<void(Result<store::CachedObjectPtr>)>;
  void create_object(const Ctx& ctx, boost::json::object obj, CreateDone done);
  Status prepare_create(const Ctx& ctx, boost::json::object& obj, bool& name_generated);
  // Forbidden while the namespace (`ns`, null when absent) terminates; NotFound without it.
  static Status check_namespace(const Ctx& ctx, const boost::json::object& obj, const store::CachedObjectPtr& ns);
  // `renames`: how many more names to try from generateName when the name is taken.
  void commit_create(const Ctx& ctx, boost::json::object obj, int renames, CreateDone done);
  store::CachedObjectPtr dry_run_result(const std::string& key, const boost::json::object& obj);
  struct UpdateOutcome {
    store::CachedObjectPtr object;  // the stored (or, for dry runs and no-ops, resulting) version
    std::string body;               // when object is null: the serialised result (dry run)
    bool deleted = false;
  };
  // Everything an update does before the store. `finished` when no write is needed (a no-op, a
  // dry run: `outcome` is the answer); `finalize` when the write is the object's removal.
  struct PreparedUpdate {
    bool writes_nothing = false;     // a no-op or a dry run: right only if the cache is not behind the store
    std::size_t warnings_added = 0;  // by admission, to ctx.warnings
    bool finished = false;
    UpdateOutcome outcome;
    bool finalize = false;
    std::string key;
    std::string bytes;
    boost::json::object result;
  };
  Result<PreparedUpdate> prepare_update(const Ctx& ctx, const store::CachedObjectPtr& old, boost::json::object incoming,
                                        const std::string& subresource);
  // Update of `old` to `incoming`: prepare, wait out a cache behind the store, then write (or
  // remove, for the last finalizer). write_update is the same, waited for on this thread.
  using UpdateDone = std::function<void(Result<UpdateOutcome>)>;
  void write_update_async(const Ctx& ctx, store::CachedObjectPtr old, boost::json::object incoming,
                          std::string subresource, UpdateDone done);
  void commit_update(const Ctx& ctx, store::CachedObjectPtr old, PreparedUpdate prepared, UpdateDone done);
  Result<UpdateOutcome> write_update(const Ctx& ctx, const store::CachedObjectPtr& old, boost::json::object incoming,
                                     const std::string& subresource);
  static Status UpdateError(const ResourceInfo& res, const std::string& name, const Status& store_error);
  Result<UpdateOutcome> delete_object(const Ctx& ctx, const ResourceInfo& res, const std::string& ns,
                                      const std::string& name, const boost::json::object& options);
  // What admission is told of this request's write (admission.h).
  AdmissionAttributes attributes(const Ctx& ctx, const std::string& subresource) const;
  store::CachedObjectPtr written(const std::string& key, store::Revision rev, boost::json::object& obj);
  // The response to a write of `stored` (the bytes `obj` was stored as): those bytes at `rev`,
  // or written() when they cannot be used as they are.
  store::CachedObjectPtr answer(const std::string& key, store::Revision rev, const store::Bytes& stored,
                                boost::json::object& obj);
  void wait_consistent();
  // Namespace writes this server answered, by revision: a create judges NamespaceLifecycle by the
  // cache only once the cache has applied them (read-your-writes for "delete the namespace, then
  // create in it"). Thread-safe.
  static constexpr std::string_view kNamespacesPrefix = "/registry/core/namespaces/";
  void note_written(const std::string& key, store::Revision rev);
  bool namespaces_current() const;
  // The cached object, confirmed absent against a cache that caught up with the store.
  store::CachedObjectPtr get_current(const std::string& key);
  // The object as the store has it now: the cache's, once it has caught up with the store's
  // current revision (it may lag). What a write that lost a race re-reads before it tries again.
  // Null when absent.
  store::CachedObjectPtr get_fresh(const std::string& key);

  // Responses.
  HttpResponse error(const Status& status, const Ctx* ctx, std::string_view name = {});
  HttpResponse object_response(const Ctx& ctx, int code, const store::CachedObjectPtr& obj);
  HttpResponse json_response(const Ctx& ctx, int code, const boost::json::object& obj);
  // The meta.k8s.io Table of `items` with the resource version's printer columns.
  std::string table(const Ctx& ctx, const std::vector<store::CachedObjectPtr>& items, store::Revision rv,
                    const std::string& cont) const;
  Result<store::Filter> make_filter(const Ctx& ctx, const std::string& prefix);

  store::Store& store_;
  store::WatchCache& cache_;
  Registry& registry_;
  ClockPtr clock_;
  std::unique_ptr<Authenticator> authn_;
  std::unique_ptr<Authorizer> authz_;
  RequestMetrics metrics_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> shutting_down_{false};
  std::atomic<store::Revision> namespaces_written_{0};  // the newest namespace write answered
  mutable std::mutex watches_mu_;
  std::set<WatchStream*> watches_;
  std::mutex hooks_mu_;  // guards what the server plugs in: extra metrics, ready checks, connection stats
  std::function<std::string()> extra_metrics_;         // GUARDED_BY(hooks_mu_)
  std::map<std::string, ReadyCheck> ready_checks_;     // GUARDED_BY(hooks_mu_)
  std::function<ConnectionStats()> connection_stats_;  // GUARDED_BY(hooks_mu_)
};

}  // namespace setpoint::apiserver
