// Private to the API handler: the per-request context and small shared helpers.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "apiserver/admission.h"
#include "apiserver/api_handler.h"
#include "apiserver/codec.h"

namespace setpoint::apiserver {

// Waits on the calling thread for an async operation's result, running here the steps it
// offloads meanwhile: the blocking form of each async verb is that verb plus this wait, so no
// verb is written twice. `done` may be called from any thread, exactly once.
template <typename T>
class Awaiting {
 public:
  Offload offload() {
    return [this](std::function<void()> step) {
      std::lock_guard lock(mu_);
      steps_.push_back(std::move(step));
      cv_.notify_one();
    };
  }
  std::function<void(T)> done() {
    return [this](T value) {
      std::lock_guard lock(mu_);
      result_.emplace(std::move(value));
      cv_.notify_one();  // under the lock: wait() may return and destroy *this once it is released
    };
  }
  T wait() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return result_ || !steps_.empty(); });
      if (result_) return std::move(*result_);
      auto step = std::move(steps_.front());
      steps_.pop_front();
      lock.unlock();
      step();
      lock.lock();
    }
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> steps_;  // GUARDED_BY(mu_)
  std::optional<T> result_;                  // GUARDED_BY(mu_)
};

// One request, as routing resolved it: what it asks for (path, query, resource and version,
// user, typed options), fixed once the router is done: the stages after it see it as const.
// What the request accumulates on its way lives in `progress`.
struct ApiHandler::Ctx {
  HttpRequest& req;
  QueryParams q;
  RequestInfo ri;
  RegistrySnapshotPtr reg;
  ResourceInfoPtr res;
  const VersionInfo* ver = nullptr;
  UserInfo user;
  bool dry_run = false;
  FieldValidation field_validation = FieldValidation::kStrict;  // the server's own writes: Strict
  AcceptedAs accept;                                            // the request's Accept header, parsed once
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  struct Progress {
    std::vector<std::string> warnings;  // for the answer's Warning headers (admission adds them)
    // Where this request's steps that may block (a wait for the cache or the registry, a
    // synchronous store call) run: a worker of the pool when it came in on an I/O thread, the
    // thread waiting for the answer when it came in through handle().
    Offload offload;
    Respond answer;  // the request's answer; only its first call counts
    // The cache has applied every write answered before this request (admission that reads
    // other objects waits for it once).
    bool lookups_consistent = false;
  };
  std::unique_ptr<Progress> progress = std::make_unique<Progress>();

  Ctx(HttpRequest& r, QueryParams params) : req(r), q(std::move(params)), accept(ParseAccept(r.header("accept"))) {}
  std::string api_version() const { return res->api_version(ri.version); }
  bool strict() const { return field_validation == FieldValidation::kStrict; }
  void offload(std::function<void()> step) const { progress->offload(std::move(step)); }
  void warn(std::string warning) const { progress->warnings.push_back(std::move(warning)); }
  const std::vector<std::string>& warnings() const { return progress->warnings; }
};

// "widgets.example.com" or "namespaces" as upstream names a resource in messages.
inline std::string QualifiedResource(const ResourceInfo& r) { return r.qualified(); }

// Upstream message for a Status with field causes.
Status InvalidStatus(const ResourceInfo& r, std::string_view name, std::vector<StatusCause> causes);

}  // namespace setpoint::apiserver
