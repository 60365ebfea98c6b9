// WatchHub: watch delivery shared by the store backends.
//
// A backend tells the hub, after each commit, the newest committed revision and (optionally) the
// committed events. The hub owns one notifier thread that brings every watch forward from the
// revision it has delivered to the newest published one. Delivery is pull-based and by revision:
// each watch remembers the next revision it needs, and the notifier takes those events from a
// bounded in-memory ring of recently published batches or, when they are older than the ring,
// from the backend's retained history through `EventReader`. Because revisions are consecutive
// (one per write, none skipped), "everything after R, in order, exactly once" needs no
// coordination between history replay and live events: a watch registered at any moment simply
// starts pulling at after+1.
//
// Ownership: the backend owns the WatchHub; each WatchHandle shares the hub's internal state so a
// handle may outlive the store (it then only detaches). Thread-safe: publish() and watch() may be
// called from any thread. publish() must be called in revision order (the backends call it under
// their commit ordering). Sinks run only on the notifier thread, one call at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "setpoint/common/status.h"
#include "setpoint/store/store.h"

namespace setpoint::store {

// Returns the committed events with revisions in [from, to], at most `limit` of them, starting
// exactly at `from` and consecutive. kExpired when `from` has been compacted away.
using EventReader = std::function<Result<std::vector<Event>>(Revision from, Revision to, std::size_t limit)>;

using EventBatch = std::shared_ptr<const std::vector<Event>>;

class WatchHub {
 public:
  // `initial` is the newest committed revision when the hub starts. `ring_capacity` bounds the
  // number of recent events kept in memory for live delivery (0 = always use `reader`), and
  // `ring_max_bytes` the bytes of their keys and values (the newest batch is always kept).
  WatchHub(EventReader reader, Revision initial, std::size_t ring_capacity, std::size_t ring_max_bytes = SIZE_MAX);
  ~WatchHub();  // close(Unavailable) if not closed
  WatchHub(const WatchHub&) = delete;
  WatchHub& operator=(const WatchHub&) = delete;

  // Revisions up to `last` are committed. `events`, if not null, are exactly the events with
  // revisions (previous last, last] and are kept in the ring for live delivery.
  void publish(Revision last, EventBatch events);

  // Starts delivering events with revision > `after` to `sink`. kUnavailable after close().
  // The caller checks `after` against its compacted revision first.
  Result<WatchHandlePtr> watch(Revision after, WatchSink& sink);

  // Delivers what has been published, then ends every watch with on_error(why) and stops the
  // notifier thread. Idempotent. Must not be called from a sink callback.
  void close(const Status& why);

  // Number of live watches (for tests and metrics).
  std::size_t watch_count() const;

  struct Core;

 private:
  std::shared_ptr<Core> core_;
  std::mutex close_mu_;  // serialises close() so the notifier is joined once
  std::thread notifier_;
};

}  // namespace setpoint::store
