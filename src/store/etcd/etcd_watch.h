// EtcdWatcher: one Store watch on etcd — one etcd Watch stream read by one thread of its own.
//
// The thread creates the stream at start_revision = next (initially after + 1) over the whole
// key prefix, with prev_kv (a delete event must carry the last value) and progress_notify, and
// hands each etcd WatchResponse to the sink as one batch. When the stream breaks (a member
// restarts, a leader change, a network blip) it opens a new one at the revision after the last
// one delivered, so nothing is missed and nothing repeats. It ends the watch with
// on_error(Expired) when etcd says that revision is compacted, and with on_error(Unavailable)
// after failing to resume for watch_retry_timeout.
//
// Ownership: the store keeps a weak_ptr, the WatchHandle a shared_ptr, the thread a shared_ptr
// (so a handle destroyed inside a sink callback is safe). Thread-safe: cancel() and finish()
// may be called from any thread; the sink is called only on the watch thread, one call at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "setpoint/common/status.h"
#include "setpoint/store/store.h"

namespace grpc {
class ClientContext;
}

namespace setpoint::store::etcd {

class EtcdClient;

// Revisions the store and its watches learn from etcd's answers; each only ever grows.
struct RevisionTracker {
  std::atomic<Revision> latest{0};  // the newest revision seen in any response header
  // The newest compaction known to have happened, and never below 1: etcd's revision 1 is its
  // empty initial state, no event has it, so history "starts after 1" even before any
  // compaction (and a reader that lists at 1 and watches after 1 sees everything).
  std::atomic<Revision> compacted{1};

  static void Raise(std::atomic<Revision>& v, Revision to) {
    Revision cur = v.load();
    while (cur < to && !v.compare_exchange_weak(cur, to)) {
    }
  }
  void see_latest(Revision r) { Raise(latest, r); }
  void see_compacted(Revision r) { Raise(compacted, r); }
};

class EtcdWatcher : public std::enable_shared_from_this<EtcdWatcher> {
 public:
  EtcdWatcher(std::shared_ptr<EtcdClient> client, std::shared_ptr<RevisionTracker> revs, Revision after,
              WatchSink& sink);
  ~EtcdWatcher();

  void start();
  // The handle's destructor: afterwards no sink call runs or will run. On the watch thread
  // (inside a sink callback) it only marks the watch cancelled: no further call will start.
  void cancel();
  // Store close: waits (until `deadline`) for every event up to `target` to be delivered, stops
  // the stream and ends the watch with on_error(why) unless it already ended. Not from a sink.
  void finish(Revision target, std::chrono::steady_clock::time_point deadline, const Status& why);

 private:
  void run();
  // False when the watch must stop (cancelled, closing, or the sink threw).
  bool deliver(std::vector<Event>& batch);
  void deliver_error(const Status& why);
  bool stopped_locked() const { return cancelled_ || stopping_ || finished_; }
  void join();

  const std::shared_ptr<EtcdClient> client_;
  const std::shared_ptr<RevisionTracker> revs_;
  const Revision after_;
  WatchSink* const sink_;

  std::mutex delivery_mu_;  // held while a sink method runs; taken before mu_
  std::mutex mu_;
  std::condition_variable cv_;
  bool cancelled_ = false;              // the handle is gone
  bool stopping_ = false;               // the store is closing
  bool finished_ = false;               // on_error was delivered (or the sink threw)
  bool done_ = false;                   // the thread has left run()
  Revision delivered_;                  // newest revision handed to the sink
  grpc::ClientContext* ctx_ = nullptr;  // the live stream's, for TryCancel

  std::mutex join_mu_;
  std::thread thread_;
  std::atomic<std::thread::id> thread_id_{};
};

}  // namespace setpoint::store::etcd
