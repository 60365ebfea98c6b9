#include "store/etcd/etcd_watch.h"

#include <algorithm>
#include <string>
#include <vector>

#include "store/backend_support.h"
#include "store/etcd/etcd_client.h"

namespace setpoint::store::etcd {
namespace {

constexpr std::chrono::milliseconds kFirstBackoff{50};
constexpr std::chrono::milliseconds kMaxBackoff{2000};
constexpr std::chrono::milliseconds kPollSlice{100};

pb::WatchRequest CreateRequest(const std::string& prefix, Revision start) {
  pb::WatchRequest req;
  pb::WatchCreateRequest* c = req.mutable_create_request();
  // "\0" as the key and as the end means every key; otherwise [prefix, PrefixEnd(prefix)).
  std::string nul(1, '\0');
  c->set_key(prefix.empty() ? nul : prefix);
  c->set_range_end(PrefixEnd(prefix).value_or(nul));
  c->set_start_revision(start);
  c->set_prev_kv(true);
  c->set_progress_notify(true);
  return req;
}

// etcd's PUT is a create when the key's life began at this revision.
Event ToEvent(mvccpb::Event& e, std::size_t prefix_len) {
  Event ev;
  mvccpb::KeyValue* kv = e.mutable_kv();
  ev.key = kv->key().substr(std::min(prefix_len, kv->key().size()));
  ev.revision = kv->mod_revision();
  if (e.type() == mvccpb::Event::DELETE) {
    ev.type = EventType::kDelete;
    // etcd omits prev_kv when the previous version is already compacted away.
    ev.value = MakeBytes(e.has_prev_kv() ? std::move(*e.mutable_prev_kv()->mutable_value()) : std::string());
  } else {
    ev.type = kv->create_revision() == kv->mod_revision() ? EventType::kCreate : EventType::kUpdate;
    ev.value = MakeBytes(std::move(*kv->mutable_value()));
  }
  return ev;
}

}  // namespace

EtcdWatcher::EtcdWatcher(std::shared_ptr<EtcdClient> client, std::shared_ptr<RevisionTracker> revs, Revision after,
                         WatchSink& sink)
    : client_(std::move(client)), revs_(std::move(revs)), after_(after), sink_(&sink), delivered_(after) {}

EtcdWatcher::~EtcdWatcher() {
  // Every owner path joins or detaches first; this only guards against std::terminate.
  if (thread_.joinable()) thread_.detach();
}

void EtcdWatcher::start() {
  std::lock_guard<std::mutex> lock(join_mu_);
  thread_ = std::thread([self = shared_from_this()] { self->run(); });
  thread_id_.store(thread_.get_id());
}

void EtcdWatcher::join() {
  std::lock_guard<std::mutex> lock(join_mu_);
  if (!thread_.joinable()) return;
  if (std::this_thread::get_id() == thread_id_.load()) {
    thread_.detach();  // inside a sink callback: the thread ends by itself after it returns
  } else {
    thread_.join();
  }
}

void EtcdWatcher::cancel() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    if (ctx_) ctx_->TryCancel();
    cv_.notify_all();
  }
  join();
}

void EtcdWatcher::finish(Revision target, std::chrono::steady_clock::time_point deadline, const Status& why) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_until(lock, deadline, [&] { return delivered_ >= target || finished_ || cancelled_ || done_; });
    stopping_ = true;
    if (ctx_) ctx_->TryCancel();
    cv_.notify_all();
  }
  join();
  std::lock_guard<std::mutex> delivery(delivery_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_ || cancelled_) return;
    finished_ = true;
  }
  try {
    sink_->on_error(why);
  } catch (...) {
  }
}

bool EtcdWatcher::deliver(std::vector<Event>& batch) {
  std::lock_guard<std::mutex> delivery(delivery_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_locked()) return false;
  }
  try {
    sink_->on_events(batch);
  } catch (...) {
    // A sink must not throw; if it does, end its watch rather than the process.
    {
      std::lock_guard<std::mutex> lock(mu_);
      finished_ = true;
      cv_.notify_all();
    }
    try {
      sink_->on_error(Status::Internal("watch sink threw an exception"));
    } catch (...) {
    }
    return false;
  }
  std::lock_guard<std::mutex> lock(mu_);
  delivered_ = batch.back().revision;
  cv_.notify_all();
  return !stopped_locked();
}

void EtcdWatcher::deliver_error(const Status& why) {
  std::lock_guard<std::mutex> delivery(delivery_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_locked()) return;
    finished_ = true;
    cv_.notify_all();
  }
  try {
    sink_->on_error(why);
  } catch (...) {
  }
}

void EtcdWatcher::run() {
  const std::string& prefix = client_->key_prefix();
  const auto retry_timeout = client_->options().watch_retry_timeout;
  Revision next = after_ + 1;
  // When the first of the current run of failed attempts happened (max: none failed).
  auto failing_since = std::chrono::steady_clock::time_point::max();
  auto backoff = kFirstBackoff;
  for (;;) {
    grpc::ClientContext ctx;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_locked()) break;
      ctx_ = &ctx;
    }
    auto stream = client_->watch(&ctx);
    bool live = stream->Write(CreateRequest(prefix, next));
    pb::WatchResponse resp;
    std::vector<Event> batch;
    Revision compacted = 0;
    std::string reason;
    while (live && stream->Read(&resp)) {
      revs_->see_latest(resp.header().revision());
      if (resp.compact_revision() != 0) {
        compacted = resp.compact_revision();
        break;
      }
      if (resp.canceled()) {
        reason = resp.cancel_reason().empty() ? "etcd cancelled the watch" : resp.cancel_reason();
        break;
      }
      if (resp.created()) {
        failing_since = std::chrono::steady_clock::time_point::max();
        backoff = kFirstBackoff;
      }
      for (mvccpb::Event& e : *resp.mutable_events()) {
        Event ev = ToEvent(e, prefix.size());
        if (ev.revision >= next) batch.push_back(std::move(ev));
      }
      if (resp.fragment() || batch.empty()) continue;
      Revision last = batch.back().revision;
      live = deliver(batch);
      next = last + 1;
      batch.clear();
    }
    ctx.TryCancel();  // ends the stream from this side if the loop left it early
    while (stream->Read(&resp)) {
    }
    grpc::Status st = stream->Finish();
    {
      std::lock_guard<std::mutex> lock(mu_);
      ctx_ = nullptr;
      if (stopped_locked()) break;
    }
    if (compacted != 0) {
      revs_->see_compacted(compacted);
      deliver_error(TooOldRevision(next - 1, compacted));
      break;
    }
    if (reason.empty()) reason = st.error_message().empty() ? "the stream ended" : st.error_message();
    auto now = std::chrono::steady_clock::now();
    failing_since = std::min(failing_since, now);
    if (now - failing_since >= retry_timeout) {
      deliver_error(Status::Unavailable("etcd watch could not resume at revision " + std::to_string(next) + " for " +
                                        std::to_string(retry_timeout.count()) + " ms: " + reason));
      break;
    }
    // Back off, but go on as soon as the channel is connected again; in short slices, so that
    // cancel() and finish() are not kept waiting.
    auto until = std::chrono::steady_clock::now() + backoff;
    while (std::chrono::steady_clock::now() < until) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopped_locked()) break;
      }
      if (client_->wait_connected(std::min(until, std::chrono::steady_clock::now() + kPollSlice))) break;
    }
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
  std::lock_guard<std::mutex> lock(mu_);
  done_ = true;
  cv_.notify_all();
}

}  // namespace setpoint::store::etcd
