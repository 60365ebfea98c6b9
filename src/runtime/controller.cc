#include "setpoint/runtime/controller.h"

#include <exception>
#include <optional>

namespace setpoint::runtime {
namespace {

bool Passes(const std::vector<Predicate>& ps, const boost::json::object* old_obj, const boost::json::object* new_obj) {
  for (const auto& p : ps) {
    if (old_obj && new_obj) {
      if (p.update && !p.update(*old_obj, *new_obj)) return false;
    } else if (new_obj) {
      if (p.create && !p.create(*new_obj)) return false;
    } else if (old_obj) {
      if (p.remove && !p.remove(*old_obj)) return false;
    }
  }
  return true;
}

bool SameResource(const client::GroupVersionResource& a, const client::GroupVersionResource& b) {
  return a.group == b.group && a.version == b.version && a.resource == b.resource;
}

}  // namespace

Controller::Builder::Builder(std::string name, client::DynamicClient& client)
    : name_(std::move(name)), client_(client) {}

Controller::Builder& Controller::Builder::For(client::GroupVersionResource gvr, std::vector<Predicate> predicates) {
  specs_.push_back({std::move(gvr), std::move(predicates), Spec::Kind::kFor, false, nullptr});
  return *this;
}

Controller::Builder& Controller::Builder::Owns(client::GroupVersionResource gvr, std::vector<Predicate> predicates,
                                               bool every_owner) {
  specs_.push_back({std::move(gvr), std::move(predicates), Spec::Kind::kOwns, every_owner, nullptr});
  return *this;
}

Controller::Builder& Controller::Builder::Watches(client::GroupVersionResource gvr, MapFunc map,
                                                  std::vector<Predicate> predicates) {
  specs_.push_back({std::move(gvr), std::move(predicates), Spec::Kind::kWatches, false, std::move(map)});
  return *this;
}

Controller::Builder& Controller::Builder::WithMaxConcurrentReconciles(int n) {
  max_concurrent_ = n;
  return *this;
}

Controller::Builder& Controller::Builder::WithQueueOptions(WorkQueueOptions options) {
  queue_options_ = std::move(options);
  return *this;
}

Controller::Builder& Controller::Builder::WithWatcherOptions(std::function<void(WatcherOptions&)> tweak) {
  tweak_ = std::move(tweak);
  return *this;
}

Controller::Builder& Controller::Builder::WithSharedInformers(SharedInformers& informers) {
  shared_ = &informers;
  return *this;
}

Controller::Builder& Controller::Builder::WithWriteCheck(std::function<bool(const WriteRecord&)> seen) {
  seen_ = std::move(seen);
  return *this;
}

Controller::Builder& Controller::Builder::WithStaleCacheGuard(Duration requeue_delay, Duration skip_max) {
  stale_requeue_delay_ = requeue_delay;
  stale_skip_max_ = skip_max;
  return *this;
}

Controller::Builder& Controller::Builder::WithClient(ObjectClient& client) {
  objects_ = &client;
  return *this;
}

Controller::Builder& Controller::Builder::WithEnv(EnvPtr env) {
  env_ = std::move(env);
  return *this;
}

Controller::Builder& Controller::Builder::WithEvents(EventSink& events) {
  events_ = &events;
  return *this;
}

Result<ControllerPtr> Controller::Builder::Complete(Reconciler& reconciler) {
  return Complete([&reconciler](const Context&, const Request& request) { return reconciler.reconcile(request); });
}

Result<ControllerPtr> Controller::Builder::Complete(ReconcileFunc reconcile) {
  if (!reconcile) return Err(Status::Invalid("controller " + name_ + ": no reconcile function"));
  const Spec* for_spec = nullptr;
  for (const auto& s : specs_) {
    if (s.kind != Spec::Kind::kFor) continue;
    if (for_spec) return Err(Status::Invalid("controller " + name_ + ": For() given twice"));
    for_spec = &s;
  }
  if (!for_spec) {
    // controller-runtime's wording, so the error reads the same to people who know it.
    for (const auto& s : specs_)
      if (s.kind == Spec::Kind::kOwns) return Err(Status::Invalid("Owns() can only be used together with For()"));
    return Err(Status::Invalid("controller " + name_ + ": must provide an object for reconciliation (For())"));
  }
  if (max_concurrent_ < 1)
    return Err(Status::Invalid("controller " + name_ + ": max concurrent reconciles must be >= 1"));
  const std::string owner_group = for_spec->gvr.group, owner_kind = for_spec->gvr.kind;
  const bool owner_namespaced = for_spec->gvr.namespaced;
  ControllerPtr c(new Controller());
  c->name_ = name_;
  c->reconcile_ = std::move(reconcile);
  if (objects_) {
    c->client_ = objects_;
  } else {
    c->own_client_ = std::make_unique<DirectClient>(client_);
    c->client_ = c->own_client_.get();
  }
  c->events_ = events_;
  c->max_concurrent_ = max_concurrent_;
  if (!queue_options_.clock && env_) queue_options_.clock = env_->steady();
  c->clock_ = queue_options_.clock ? queue_options_.clock : RealMonotonicClockInstance();
  c->queue_ = std::make_unique<WorkQueue>(std::move(queue_options_));
  c->metrics_.max_concurrent_reconciles = max_concurrent_;
  c->seen_ = seen_;
  c->stale_requeue_delay_ = stale_requeue_delay_;
  c->stale_skip_max_ = stale_skip_max_;
  std::map<std::string, SharedInformer> own;  // standalone: one informer per resource, as shared
  for (auto& s : specs_) {
    Source src;
    if (shared_) {
      src.informer = shared_->get(s.gvr);
    } else {
      auto& informer = own[s.gvr.group + "/" + s.gvr.version + "/" + s.gvr.resource];
      if (!informer) {
        WatcherOptions wo;
        wo.gvr = s.gvr;
        wo.env = env_;
        if (tweak_) tweak_(wo);
        informer = std::make_shared<Informer>(client_, std::move(wo));
      }
      src.informer = informer;
      src.owned = true;
    }
    src.predicates = std::move(s.predicates);
    switch (s.kind) {
      case Spec::Kind::kFor:
        src.map = [](const boost::json::object& o) { return std::vector<Request>{RequestForObject(o)}; };
        break;
      case Spec::Kind::kOwns:
        if (owner_kind.empty())
          return Err(Status::Invalid("controller " + name_ + ": Owns() needs the kind of the For() resource"));
        src.map = [owner_group, owner_kind, owner_namespaced,
                   controller_only = !s.every_owner](const boost::json::object& o) {
          return RequestsForOwners(o, owner_group, owner_kind, controller_only, owner_namespaced);
        };
        break;
      case Spec::Kind::kWatches:
        if (!s.map) return Err(Status::Invalid("controller " + name_ + ": Watches() needs a map function"));
        src.map = std::move(s.map);
        break;
    }
    c->sources_.push_back(std::move(src));
  }
  for (auto& src : c->sources_) c->hook(src);
  return c;
}

Controller::~Controller() { stop(); }

void Controller::hook(Source& source) {
  const Source* s = &source;
  EventHandlers h;
  h.on_add = [this, s](const ObjectPtr& o) {
    if (Passes(s->predicates, nullptr, o.get())) enqueue(*s, *o);
  };
  h.on_update = [this, s](const ObjectPtr& old_obj, const ObjectPtr& new_obj) {
    if (!Passes(s->predicates, old_obj.get(), new_obj.get())) return;
    enqueue(*s, *old_obj);  // an owner that lost the object must look too
    enqueue(*s, *new_obj);
  };
  h.on_delete = [this, s](const ObjectPtr& o) {
    if (Passes(s->predicates, o.get(), nullptr)) enqueue(*s, *o);
  };
  source.handlers = source.informer->add_handlers(std::move(h));
}

void Controller::enqueue(const Source& source, const boost::json::object& obj) {
  for (const auto& r : source.map(obj)) queue_->add(r.key());
}

Status Controller::start(std::chrono::milliseconds cache_sync_timeout) {
  if (!workers_.empty()) return Status::Ok();
  if (stopped_) return Status::Conflict("controller " + name_ + " was stopped; make a new one");
  for (auto& s : sources_)
    if (s.owned) s.informer->start();
  const auto deadline = std::chrono::steady_clock::now() + cache_sync_timeout;
  for (auto& s : sources_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (!s.informer->wait_for_sync(s.handlers, std::max(left, std::chrono::milliseconds(0)))) {
      stop();
      return Status::Timeout("controller " + name_ + ": cache of " + s.informer->gvr().resource +
                             " did not sync in time");
    }
  }
  for (int i = 0; i < max_concurrent_; ++i) workers_.emplace_back([this] { work(); });
  return Status::Ok();
}

void Controller::stop() {
  stop_.request_stop();
  if (queue_) queue_->shutdown();
  workers_.clear();  // joins
  if (stopped_) return;
  stopped_ = true;
  for (auto& s : sources_) {
    s.informer->remove_handlers(s.handlers);
    if (s.owned) s.informer->stop();
  }
}

bool Controller::running() const { return !workers_.empty() && !stopped_; }

bool Controller::fresh_for(const std::string& key) {
  std::vector<WriteRecord> writes;
  {
    std::lock_guard lock(mu_);
    auto it = last_writes_.find(key);
    if (it == last_writes_.end()) return true;
    writes = it->second;
  }
  const auto now = clock_->now();
  for (const auto& w : writes) {
    if (now - w.at > stale_skip_max_) continue;
    if (seen_) {
      if (!seen_(w)) return false;
      continue;
    }
    for (const auto& s : sources_)
      if (ResourceKey(s.informer->gvr()) == w.resource_key && !CacheHasSeen(*s.informer, w)) return false;
  }
  return true;
}

const Cache* Controller::cache(const client::GroupVersionResource& gvr) const {
  for (const auto& s : sources_)
    if (SameResource(s.informer->gvr(), gvr)) return &s.informer->cache();
  return nullptr;
}

ControllerMetrics Controller::metrics() const {
  std::lock_guard lock(mu_);
  return metrics_;
}

void Controller::render_prometheus(std::string& out) const { metrics().render_prometheus(out, name_); }

void Controller::work() {
  while (auto key = queue_->get()) {
    auto req = Request::FromKey(*key);
    if (!req) {  // not a key we made; nothing can reconcile it
      queue_->forget(*key);
      queue_->done(*key);
      continue;
    }
    if (!fresh_for(*key)) {
      {
        std::lock_guard lock(mu_);
        ++metrics_.stale_sync_skips_total;
      }
      queue_->add_after(*key, stale_requeue_delay_);
      queue_->done(*key);
      continue;
    }
    {
      std::lock_guard lock(mu_);
      ++metrics_.active_workers;
    }
    const auto started = std::chrono::steady_clock::now();
    bool panicked = false;
    std::optional<ReconcileResult> result;
    std::vector<WriteRecord> writes;
    try {
      WriteScope scope(writes);
      const Context ctx{stop_.get_token(), Client(*client_), events_};
      result = reconcile_(ctx, *req);
    } catch (const std::exception& e) {
      panicked = true;
      result = ReconcileResult::Retry(Status::Internal(std::string("reconcile threw: ") + e.what()));
    } catch (...) {
      panicked = true;
      result = ReconcileResult::Retry(Status::Internal("reconcile threw"));
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    {
      std::lock_guard lock(mu_);
      --metrics_.active_workers;
      if (panicked) ++metrics_.panics_total;
      metrics_.record(*result, seconds);
      if (writes.empty()) {
        last_writes_.erase(*key);
      } else {
        last_writes_[*key] = std::move(writes);
      }
    }
    apply_result(*queue_, *key, *result);
    queue_->done(*key);
  }
}

}  // namespace setpoint::runtime
