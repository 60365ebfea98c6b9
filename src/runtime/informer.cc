#include "setpoint/runtime/informer.h"

namespace setpoint::runtime {

Informer::Informer(client::DynamicClient& client, WatcherOptions options)
    : gvr_(options.gvr),
      reflector_(cache_, [this](std::vector<CacheDelta> d, bool restarted) { enqueue(std::move(d), restarted); }) {
  watcher_ = std::make_unique<Watcher>(client, std::move(options), reflector_.as_sink());
}

Informer::~Informer() { stop(); }

HandlerId Informer::add_handlers(EventHandlers handlers) {
  std::lock_guard deliver(deliver_mu_);  // no batch is half delivered while we look
  std::lock_guard lock(mu_);
  const HandlerId id = next_id_++;
  Registration reg;
  reg.handlers = std::make_shared<const EventHandlers>(std::move(handlers));
  if (cache_.has_synced()) {
    // Everything queued so far is already in the cache: hand this registration a snapshot instead
    // and skip those batches for it. A delta applied but not yet queued shows up in both.
    Batch snapshot;
    for (auto& obj : cache_.list()) snapshot.deltas.push_back({CacheDelta::Kind::kAdded, nullptr, std::move(obj)});
    snapshot.restarted = true;
    snapshot.seq = next_seq_++;
    snapshot.only = id;
    reg.from_seq = snapshot.seq;
    pending_.push_back(std::move(snapshot));
    cv_.notify_all();
  }
  handlers_.emplace(id, std::move(reg));
  return id;
}

void Informer::remove_handlers(HandlerId id) {
  std::lock_guard deliver(deliver_mu_);
  std::lock_guard lock(mu_);
  handlers_.erase(id);
  cv_.notify_all();  // a waiter on this registration's sync must not wait for ever
}

void Informer::start() {
  {
    std::lock_guard lock(mu_);
    if (started_) return;
    started_ = true;
  }
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

bool Informer::started() const {
  std::lock_guard lock(mu_);
  return started_;
}

bool Informer::has_synced() const {
  std::lock_guard lock(mu_);
  return synced_;
}

bool Informer::wait_for_sync(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return synced_; });
}

bool Informer::has_synced(HandlerId id) const {
  std::lock_guard lock(mu_);
  auto it = handlers_.find(id);
  return it == handlers_.end() || it->second.synced;
}

bool Informer::wait_for_sync(HandlerId id, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] {
    auto it = handlers_.find(id);
    return it == handlers_.end() || it->second.synced;
  });
}

void Informer::enqueue(std::vector<CacheDelta> deltas, bool restarted) {
  {
    std::lock_guard lock(mu_);
    pending_.push_back({std::move(deltas), restarted, next_seq_++, 0});
  }
  cv_.notify_all();
}

void Informer::dispatch(std::stop_token stop) {
  while (true) {
    {
      std::unique_lock lock(mu_);
      if (!cv_.wait(lock, stop, [&] { return !pending_.empty(); })) return;
    }
    std::lock_guard deliver_lock(deliver_mu_);
    Batch batch;
    std::vector<std::pair<HandlerId, std::shared_ptr<const EventHandlers>>> targets;
    {
      std::lock_guard lock(mu_);
      batch = std::move(pending_.front());
      pending_.pop_front();
      for (const auto& [id, reg] : handlers_) {
        if (batch.only != 0 ? id == batch.only : batch.seq >= reg.from_seq) targets.emplace_back(id, reg.handlers);
      }
    }
    for (const auto& d : batch.deltas) {
      if (stop.stop_requested()) return;
      for (const auto& [id, h] : targets) deliver(*h, d);
    }
    if (batch.restarted) {
      std::lock_guard lock(mu_);
      for (const auto& [id, h] : targets) {
        if (auto it = handlers_.find(id); it != handlers_.end()) it->second.synced = true;
      }
      if (batch.only == 0) synced_ = true;
      cv_.notify_all();
    }
  }
}

void Informer::deliver(const EventHandlers& h, const CacheDelta& d) {
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

}  // namespace setpoint::runtime
