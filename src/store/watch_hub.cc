#include "store/watch_hub.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <span>
#include <utility>

namespace setpoint::store {
namespace {

// Events handed to one sink per notifier round; bounds how long one watch that is replaying a
// long history can keep the others waiting.
constexpr std::size_t kChunkEvents = 1024;

struct Watcher {
  Watcher(WatchSink& s, Revision first) : sink(&s), next(first) {}
  WatchSink* sink;
  std::mutex delivery_mu;  // held while a sink method runs
  std::atomic<bool> cancelled{false};
  Revision next;          // next revision to deliver; notifier thread only
  bool finished = false;  // on_error was delivered or the sink failed; notifier thread only
};

// A piece of a batch that is delivered as one on_events call; `holder` keeps it alive.
struct Piece {
  EventBatch holder;
  std::span<const Event> events;
};

}  // namespace

struct WatchHub::Core {
  EventReader reader;
  std::size_t ring_capacity = 0;
  std::size_t ring_max_bytes = SIZE_MAX;
  std::atomic<std::thread::id> notifier_id{};

  mutable std::mutex mu;
  std::condition_variable cv;
  bool work = false;  // some watch may be behind `last`
  bool closing = false;
  Status close_status;
  Revision last = 0;                         // newest committed revision
  std::deque<EventBatch> ring;               // consecutive, non-empty batches, newest at the back
  std::deque<std::size_t> ring_batch_bytes;  // ring[i]'s keys and values
  std::size_t ring_events = 0, ring_bytes = 0;
  std::vector<std::shared_ptr<Watcher>> watchers;

  void run();
  Result<std::vector<Piece>> fetch(Revision next, Revision upto);
  void deliver(Watcher& w, const std::vector<Piece>& pieces);
  void fail(Watcher& w, const Status& why);
};

namespace {

class HubWatchHandle final : public WatchHandle {
 public:
  HubWatchHandle(std::shared_ptr<WatchHub::Core> core, std::shared_ptr<Watcher> w)
      : core_(std::move(core)), w_(std::move(w)) {}

  ~HubWatchHandle() override {
    w_->cancelled.store(true);
    // Wait for a sink call in progress, unless we are inside one (the notifier is the only
    // thread that calls sinks, so then nothing else is running).
    if (std::this_thread::get_id() != core_->notifier_id.load()) {
      std::lock_guard<std::mutex> wait_for_sink(w_->delivery_mu);
    }
    std::lock_guard<std::mutex> lock(core_->mu);
    std::erase(core_->watchers, w_);
  }

 private:
  std::shared_ptr<WatchHub::Core> core_;
  std::shared_ptr<Watcher> w_;
};

}  // namespace

Result<std::vector<Piece>> WatchHub::Core::fetch(Revision next, Revision upto) {
  std::vector<Piece> pieces;
  Revision read_to = upto;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (!ring.empty()) {
      Revision first = ring.front()->front().revision;
      Revision newest = ring.back()->back().revision;
      if (next >= first && next <= newest) {
        // The last batch whose first revision is <= next holds `next`.
        auto it = std::upper_bound(ring.begin(), ring.end(), next,
                                   [](Revision r, const EventBatch& b) { return r < b->front().revision; });
        --it;
        std::size_t taken = 0;
        for (; it != ring.end() && next <= upto && taken < kChunkEvents; ++it) {
          const std::vector<Event>& batch = **it;
          auto offset = static_cast<std::size_t>(next - batch.front().revision);
          std::size_t n = std::min<std::size_t>(batch.size() - offset, kChunkEvents - taken);
          n = std::min<std::size_t>(n, static_cast<std::size_t>(upto - next + 1));
          pieces.push_back(Piece{*it, std::span<const Event>(batch.data() + offset, n)});
          next += static_cast<Revision>(n);
          taken += n;
        }
        return pieces;
      }
      if (next < first) read_to = std::min(upto, first - 1);
    }
  }
  auto events = reader(next, read_to, kChunkEvents);
  if (!events) return Err(events.error());
  if (events->empty() || events->front().revision != next) {
    return Err(Status::Internal("store history is missing revision " + std::to_string(next)));
  }
  for (std::size_t i = 1; i < events->size(); ++i) {
    if ((*events)[i].revision != next + static_cast<Revision>(i)) {
      return Err(
          Status::Internal("store history has a gap after revision " + std::to_string((*events)[i - 1].revision)));
    }
  }
  if (events->back().revision > read_to) {
    return Err(Status::Internal("store history returned revisions past " + std::to_string(read_to)));
  }
  auto holder = std::make_shared<const std::vector<Event>>(std::move(*events));
  pieces.push_back(Piece{holder, std::span<const Event>(*holder)});
  return pieces;
}

void WatchHub::Core::deliver(Watcher& w, const std::vector<Piece>& pieces) {
  std::lock_guard<std::mutex> lock(w.delivery_mu);
  for (const Piece& p : pieces) {
    if (w.cancelled.load()) {
      w.finished = true;
      return;
    }
    try {
      w.sink->on_events(p.events);
    } catch (...) {
      // A sink must not throw; if it does, end its watch rather than the process.
      w.finished = true;
      try {
        w.sink->on_error(Status::Internal("watch sink threw an exception"));
      } catch (...) {
      }
      return;
    }
    w.next = p.events.back().revision + 1;
  }
}

void WatchHub::Core::fail(Watcher& w, const Status& why) {
  std::lock_guard<std::mutex> lock(w.delivery_mu);
  if (w.finished) return;
  w.finished = true;
  if (w.cancelled.load()) return;
  try {
    w.sink->on_error(why);
  } catch (...) {
  }
}

void WatchHub::Core::run() {
  for (;;) {
    std::vector<std::shared_ptr<Watcher>> snapshot;
    Revision upto = 0;
    bool closing_now = false;
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return work || closing; });
      work = false;
      snapshot = watchers;
      upto = last;
      closing_now = closing;
    }
    bool behind = false;
    for (const auto& w : snapshot) {
      if (w->finished || w->cancelled.load() || w->next > upto) continue;
      auto pieces = fetch(w->next, upto);
      if (!pieces) {
        fail(*w, pieces.error());
        continue;
      }
      deliver(*w, *pieces);
      if (!w->finished && w->next <= upto) behind = true;
    }
    std::vector<std::shared_ptr<Watcher>> to_close;
    bool finish = false;
    {
      std::lock_guard<std::mutex> lock(mu);
      std::erase_if(watchers, [](const auto& w) { return w->finished || w->cancelled.load(); });
      if (behind || last != upto) work = true;
      if (closing_now && !work) {  // everything published has been delivered
        to_close.swap(watchers);
        finish = true;
      }
    }
    if (finish) {
      for (const auto& w : to_close) fail(*w, close_status);
      return;
    }
  }
}

WatchHub::WatchHub(EventReader reader, Revision initial, std::size_t ring_capacity, std::size_t ring_max_bytes)
    : core_(std::make_shared<Core>()) {
  core_->reader = std::move(reader);
  core_->ring_capacity = ring_capacity;
  core_->ring_max_bytes = ring_max_bytes;
  core_->last = initial;
  notifier_ = std::thread([core = core_] { core->run(); });
  core_->notifier_id.store(notifier_.get_id());
}

WatchHub::~WatchHub() { close(Status::Unavailable("store is closed")); }

void WatchHub::publish(Revision last, EventBatch events) {
  std::lock_guard<std::mutex> lock(core_->mu);
  if (last <= core_->last) return;
  core_->last = last;
  if (events && !events->empty() && core_->ring_capacity > 0) {
    Core& c = *core_;
    if (!c.ring.empty() && c.ring.back()->back().revision + 1 != events->front().revision) {
      c.ring.clear();  // never keep a ring with a hole in it
      c.ring_batch_bytes.clear();
      c.ring_events = c.ring_bytes = 0;
    }
    std::size_t bytes = 0;
    for (const Event& e : *events) bytes += e.key.size() + (e.value ? e.value->size() : 0);
    c.ring_events += events->size();
    c.ring_bytes += bytes;
    c.ring.push_back(std::move(events));
    c.ring_batch_bytes.push_back(bytes);
    while (c.ring.size() > 1 && (c.ring_events > c.ring_capacity || c.ring_bytes > c.ring_max_bytes)) {
      c.ring_events -= c.ring.front()->size();
      c.ring_bytes -= c.ring_batch_bytes.front();
      c.ring.pop_front();
      c.ring_batch_bytes.pop_front();
    }
  }
  core_->work = true;
  core_->cv.notify_one();
}

Result<WatchHandlePtr> WatchHub::watch(Revision after, WatchSink& sink) {
  std::lock_guard<std::mutex> lock(core_->mu);
  if (core_->closing) return Err(Status::Unavailable("store is closed"));
  auto w = std::make_shared<Watcher>(sink, std::max<Revision>(after, 0) + 1);
  core_->watchers.push_back(w);
  core_->work = true;
  core_->cv.notify_one();
  return WatchHandlePtr(std::make_unique<HubWatchHandle>(core_, std::move(w)));
}

void WatchHub::close(const Status& why) {
  std::lock_guard<std::mutex> serialise(close_mu_);
  {
    std::lock_guard<std::mutex> lock(core_->mu);
    if (!core_->closing) {
      core_->closing = true;
      core_->close_status = why;
    }
    core_->cv.notify_one();
  }
  if (notifier_.joinable() && std::this_thread::get_id() != notifier_.get_id()) notifier_.join();
}

std::size_t WatchHub::watch_count() const {
  std::lock_guard<std::mutex> lock(core_->mu);
  return static_cast<std::size_t>(std::count_if(core_->watchers.begin(), core_->watchers.end(),
                                                [](const auto& w) { return !w->cancelled.load(); }));
}

}  // namespace setpoint::store
