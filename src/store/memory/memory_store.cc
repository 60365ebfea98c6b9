#include "store/memory/memory_store.h"

#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <utility>

#include "store/backend_support.h"
#include "store/watch_hub.h"

namespace setpoint::store {
namespace {

using TimePoint = std::chrono::system_clock::time_point;

// Recent events the hub keeps for live delivery; older ones are read back from history_.
constexpr std::size_t kRingEvents = 4096;

struct Entry {
  Bytes value;
  Revision revision = 0;
};

struct HistoryEntry {
  Event event;
  Bytes prev_value;  // value before an update (a delete's event already carries it)
  Revision prev_revision = 0;
  TimePoint at;
};

bool HasPrefix(std::string_view key, std::string_view prefix) { return key.starts_with(prefix); }

class MemoryStore final : public Store {
 public:
  explicit MemoryStore(MemoryStoreOptions options) : options_(std::move(options)) {
    hub_ = std::make_unique<WatchHub>(
        [this](Revision from, Revision to, std::size_t limit) { return read_events(from, to, limit); }, 0, kRingEvents);
  }
  ~MemoryStore() override { close(); }

  Result<Revision> create(std::string key, Bytes value) override {
    value = NonNull(std::move(value));
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return Err(StoreClosed());
    auto [it, inserted] = current_.try_emplace(key);
    if (!inserted) return Err(KeyExists(key));
    Revision rev = revision_ + 1;
    it->second = Entry{value, rev};
    commit_locked(Event{EventType::kCreate, std::move(key), std::move(value), rev}, nullptr, 0);
    return rev;
  }

  Result<Revision> update(std::string key, Bytes value, Revision expected) override {
    value = NonNull(std::move(value));
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return Err(StoreClosed());
    auto it = current_.find(key);
    if (it == current_.end()) return Err(KeyNotFound(key));
    if (expected != 0 && expected != it->second.revision)
      return Err(RevisionMismatch(key, expected, it->second.revision));
    Entry prev = std::exchange(it->second, Entry{value, revision_ + 1});
    commit_locked(Event{EventType::kUpdate, std::move(key), std::move(value), revision_ + 1}, std::move(prev.value),
                  prev.revision);
    return revision_;
  }

  Result<Revision> remove(std::string key, Revision expected) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return Err(StoreClosed());
    auto it = current_.find(key);
    if (it == current_.end()) return Err(KeyNotFound(key));
    if (expected != 0 && expected != it->second.revision)
      return Err(RevisionMismatch(key, expected, it->second.revision));
    Entry prev = std::move(it->second);
    current_.erase(it);
    commit_locked(Event{EventType::kDelete, std::move(key), std::move(prev.value), revision_ + 1}, nullptr,
                  prev.revision);
    return revision_;
  }

  Result<KeyValue> get(std::string_view key) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return Err(StoreClosed());
    auto it = current_.find(key);
    if (it == current_.end()) return Err(KeyNotFound(std::string(key)));
    return KeyValue{it->first, it->second.value, it->second.revision};
  }

  Result<ListResult> list(std::string_view prefix, Revision at) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return Err(StoreClosed());
    if (at > revision_) return Err(FutureRevision(at, revision_));
    if (at != 0 && at < compacted_) return Err(TooOldRevision(at, compacted_));
    ListResult out;
    out.revision = at == 0 ? revision_ : at;
    if (out.revision == revision_) {
      for (auto it = current_.lower_bound(prefix); it != current_.end() && HasPrefix(it->first, prefix); ++it) {
        out.items.push_back(KeyValue{it->first, it->second.value, it->second.revision});
      }
      return out;
    }
    // Rewind the current state by undoing, newest first, every event after `at`.
    std::map<std::string, Entry, std::less<>> state;
    for (auto it = current_.lower_bound(prefix); it != current_.end() && HasPrefix(it->first, prefix); ++it) {
      state.emplace(it->first, it->second);
    }
    auto first_undone = static_cast<std::size_t>(out.revision - compacted_);  // index of revision at+1
    for (std::size_t i = history_.size(); i-- > first_undone;) {
      const HistoryEntry& h = history_[i];
      if (!HasPrefix(h.event.key, prefix)) continue;
      switch (h.event.type) {
        case EventType::kCreate:
          state.erase(h.event.key);
          break;
        case EventType::kUpdate:
          state[h.event.key] = Entry{h.prev_value, h.prev_revision};
          break;
        case EventType::kDelete:
          state[h.event.key] = Entry{h.event.value, h.prev_revision};
          break;
      }
    }
    out.items.reserve(state.size());
    for (auto& [key, entry] : state) out.items.push_back(KeyValue{key, std::move(entry.value), entry.revision});
    return out;
  }

  Result<WatchHandlePtr> watch(Revision after, WatchSink& sink) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return Err(StoreClosed());
    if (after < compacted_) return Err(TooOldRevision(after, compacted_));
    return hub_->watch(after, sink);
  }

  Status compact(Revision upto) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return StoreClosed();
    compact_locked(std::min(upto, revision_));
    return Status::Ok();
  }

  Revision current_revision() override {
    std::lock_guard<std::mutex> lock(mu_);
    return revision_;
  }

  Revision compacted_revision() override {
    std::lock_guard<std::mutex> lock(mu_);
    return compacted_;
  }

  CommitStats commit_stats() override {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }

  void close() override {
    std::lock_guard<std::mutex> serialise(close_mu_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_) return;
      closed_ = true;
    }
    // Outside mu_: the notifier reads history under mu_ while it drains.
    hub_->close(StoreClosed());
  }

 private:
  TimePoint now() const { return options_.clock ? options_.clock() : std::chrono::system_clock::now(); }

  // Records a write that has already been applied to current_; the write gets revision_ + 1.
  void commit_locked(Event event, Bytes prev_value, Revision prev_revision) {
    auto started = std::chrono::steady_clock::now();
    revision_ = event.revision;
    auto batch = std::make_shared<const std::vector<Event>>(1, event);
    history_.push_back(HistoryEntry{std::move(event), std::move(prev_value), prev_revision, now()});
    trim_locked();
    hub_->publish(revision_, std::move(batch));
    auto micros = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count());
    RecordCommit(stats_, 1, micros);
  }

  void trim_locked() {
    Revision upto = compacted_;
    if (options_.history_max_events > 0 && history_.size() > options_.history_max_events) {
      upto = revision_ - static_cast<Revision>(options_.history_max_events);
    }
    if (options_.history_max_age.count() <= 0) return compact_locked(upto);
    TimePoint cutoff = now() - options_.history_max_age;
    for (std::size_t i = static_cast<std::size_t>(upto - compacted_); i < history_.size() && history_[i].at < cutoff;
         ++i) {
      upto = history_[i].event.revision;
    }
    compact_locked(upto);
  }

  void compact_locked(Revision upto) {
    while (!history_.empty() && history_.front().event.revision <= upto) history_.pop_front();
    compacted_ = std::max(compacted_, upto);
  }

  Result<std::vector<Event>> read_events(Revision from, Revision to, std::size_t limit) {
    std::lock_guard<std::mutex> lock(mu_);
    if (from <= compacted_) return Err(TooOldRevision(from - 1, compacted_));
    std::vector<Event> out;
    auto first = static_cast<std::size_t>(from - compacted_ - 1);
    for (std::size_t i = first; i < history_.size() && out.size() < limit && history_[i].event.revision <= to; ++i) {
      out.push_back(history_[i].event);
    }
    return out;
  }

  MemoryStoreOptions options_;
  std::mutex close_mu_;
  std::mutex mu_;
  bool closed_ = false;
  std::map<std::string, Entry, std::less<>> current_;
  std::deque<HistoryEntry> history_;  // exactly the revisions (compacted_, revision_], oldest first
  Revision revision_ = 0;
  Revision compacted_ = 0;
  CommitStats stats_;
  std::unique_ptr<WatchHub> hub_;  // last: destroyed first, its notifier reads the members above
};

}  // namespace

StorePtr NewMemoryStore(MemoryStoreOptions options) { return std::make_unique<MemoryStore>(std::move(options)); }

}  // namespace setpoint::store
