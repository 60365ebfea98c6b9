#include "setpoint/runtime/informer.h"

namespace setpoint::runtime {

Informer::Informer(client::DynamicClient& client, WatcherOptions options)
    : gvr_(options.gvr),
      reflector_(cache_, [this](std::vector<CacheDelta> d, bool restarted) { enqueue(std::move(d), restarted); }) {
  watcher_ = std::make_unique<Watcher>(client, std::move(options), reflector_.as_sink());
}

Informer::~Informer() { stop(); }

void Informer::add_handlers(EventHandlers handlers) { handlers_.push_back(std::move(handlers)); }

void Informer::start() {
  if (dispatcher_.joinable()) return;
  dispatcher_ = std::jthread([this](std::stop_token st) { dispatch(st); });
  watcher_->start();
}

void Informer::stop() {
  watcher_->stop();  // no more deltas after this
  if (dispatcher_.joinable()) {
    dispatcher_.request_stop();
    dispatcher_.join();
  }
}

bool Informer::has_synced() const {
  std::lock_guard lock(mu_);
  return synced_;
}

bool Informer::wait_for_sync(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return synced_; });
}

void Informer::enqueue(std::vector<CacheDelta> deltas, bool restarted) {
  {
    std::lock_guard lock(mu_);
    pending_.push_back({std::move(deltas), restarted});
  }
  cv_.notify_all();
}

void Informer::dispatch(std::stop_token stop) {
  while (true) {
    Batch batch;
    {
      std::unique_lock lock(mu_);
      if (!cv_.wait(lock, stop, [&] { return !pending_.empty(); })) return;
      batch = std::move(pending_.front());
      pending_.pop_front();
    }
    for (const auto& d : batch.deltas) {
      if (stop.stop_requested()) return;
      deliver(d);
    }
    if (batch.restarted) {
      std::lock_guard lock(mu_);
      if (!synced_) {
        synced_ = true;
        cv_.notify_all();
      }
    }
  }
}

void Informer::deliver(const CacheDelta& d) {
  for (const auto& h : handlers_) {
    switch (d.kind) {
      case CacheDelta::Kind::kAdded:
        if (h.on_add) h.on_add(d.new_object);
        break;
      case CacheDelta::Kind::kUpdated:
        if (h.on_update) h.on_update(d.old_object, d.new_object);
        break;
      case CacheDelta::Kind::kDeleted:
        if (h.on_delete) h.on_delete(d.old_object);
        break;
    }
  }
}

}  // namespace setpoint::runtime
