// Store: the revisioned key-value contract every storage backend implements.
//
// Keys are byte strings ("/registry/<group>/<resource>/[<ns>/]<name>"); values are opaque bytes
// (the apiserver stores JSON objects without metadata.resourceVersion; the revision is the
// resourceVersion). Every successful write gets the next value of one global, strictly
// increasing revision that is never reused, also across restarts. A write is acknowledged
// (the call returns) only once it is durable for the backend's durability model.
//
// Watch: a backend delivers every committed event after a given revision, in revision order,
// without gaps, to a WatchSink. Events older than the compacted revision are gone (kExpired).
//
// Thread-safety: every Store method may be called from any thread concurrently. Write calls
// block until the write is committed. WatchSink callbacks run on a backend-owned thread, one
// call at a time per watch, and must not block for long or call back into the same watch.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "setpoint/common/status.h"

namespace setpoint::store {

using Revision = std::int64_t;
using Bytes = std::shared_ptr<const std::string>;

inline Bytes MakeBytes(std::string s) { return std::make_shared<const std::string>(std::move(s)); }

struct KeyValue {
  std::string key;
  Bytes value;
  Revision revision = 0;  // the revision of the last write to this key (mod_revision)
};

enum class EventType { kCreate, kUpdate, kDelete };

struct Event {
  EventType type = EventType::kCreate;
  std::string key;
  Bytes value;            // new value; for kDelete the last value before deletion
  Revision revision = 0;  // the revision this event committed at
};

struct ListResult {
  std::vector<KeyValue> items;  // sorted by key
  Revision revision = 0;        // the revision the list represents
};

// Receives watch events. Both methods are called on a backend thread; on_error ends the watch.
class WatchSink {
 public:
  virtual ~WatchSink() = default;
  // A batch of consecutive events in strictly increasing revision order.
  virtual void on_events(std::span<const Event> events) = 0;
  // The watch cannot continue (for example the store is closing). No further calls follow.
  virtual void on_error(const Status& status) = 0;
};

// Cancels its watch when destroyed; after the destructor returns no sink method is running or
// will run.
class WatchHandle {
 public:
  virtual ~WatchHandle() = default;
};
using WatchHandlePtr = std::unique_ptr<WatchHandle>;

// Write-path statistics a backend may expose (for /metrics). All fields are cumulative.
struct CommitStats {
  std::uint64_t commits = 0;  // transactions
  std::uint64_t writes = 0;   // individual writes in them
  std::uint64_t commit_micros_sum = 0;
  std::uint64_t commit_micros_buckets[12] = {};  // latency histogram, see kCommitBucketsMicros
  // Writes the backend could not commit for a reason of its own (a full disk, I/O errors, etcd
  // away or out of quota) — not failed preconditions, which are the caller's.
  std::uint64_t failed_writes = 0;
};
inline constexpr std::uint64_t kCommitBucketsMicros[12] = {100,   250,   500,   1000,   2500,   5000,
                                                           10000, 25000, 50000, 100000, 250000, 1000000};

// What a backend knows about its own health, for /readyz and /metrics: whether it can reach its
// storage, and the alarms the storage raised (etcd's NOSPACE, CORRUPT).
struct StoreHealth {
  bool reachable = true;
  std::vector<std::string> alarms;
  std::string detail;  // why it is unreachable
  bool ok() const { return reachable && alarms.empty(); }
};

// Receives the result of an asynchronous write, exactly once, on a backend thread (or inline
// when the write fails at once). It must not block: post the rest of the work elsewhere.
using WriteCallback = std::function<void(Result<Revision>)>;

class Store {
 public:
  virtual ~Store() = default;

  // Creates `key`. Errors: kAlreadyExists if it exists; kUnavailable if the store is closed;
  // kInternal on an I/O failure (nothing was written).
  virtual Result<Revision> create(std::string key, Bytes value) = 0;

  // Replaces `key` if its current revision equals `expected` (0 = any revision).
  // Errors: kNotFound if absent; kConflict if the revision differs.
  virtual Result<Revision> update(std::string key, Bytes value, Revision expected) = 0;

  // Asynchronous create and update with the same semantics, for callers that must not block a
  // thread per write (the API server's I/O threads). The defaults run the blocking call inline.
  virtual void create_async(std::string key, Bytes value, WriteCallback done) {
    done(create(std::move(key), std::move(value)));
  }
  virtual void update_async(std::string key, Bytes value, Revision expected, WriteCallback done) {
    done(update(std::move(key), std::move(value), expected));
  }

  // Deletes `key` if its current revision equals `expected` (0 = any). Returns the deletion
  // revision. Errors: kNotFound, kConflict.
  virtual Result<Revision> remove(std::string key, Revision expected) = 0;

  // The current value. Errors: kNotFound.
  virtual Result<KeyValue> get(std::string_view key) = 0;

  // Every key starting with `prefix`, as of revision `at` (0 = current).
  // Errors: kExpired if `at` < compacted_revision(); kTimeout if `at` > current_revision().
  virtual Result<ListResult> list(std::string_view prefix, Revision at = 0) = 0;

  // Delivers every event with revision > `after` to `sink`: first the retained history, then
  // live events as they commit. Errors: kExpired if `after` < compacted_revision().
  virtual Result<WatchHandlePtr> watch(Revision after, WatchSink& sink) = 0;

  // Discards history before `upto`: afterwards compacted_revision() >= upto, and
  // list(at < upto) and watch(after < upto) fail with kExpired. `upto` is clamped to the current
  // revision. Backends also compact by themselves to keep history within their bounds.
  virtual Status compact(Revision upto) = 0;

  // The newest committed revision (0 for an empty, never-written store; etcd counts its initial
  // state, so an empty etcd is at 1).
  virtual Revision current_revision() = 0;
  // The oldest revision that list(at) and watch(after) still accept (0 = everything retained).
  virtual Revision compacted_revision() = 0;

  virtual CommitStats commit_stats() { return {}; }

  // The latest health the backend observed; never blocks (a backend that must ask a remote
  // store refreshes it in the background). Embedded backends are always healthy.
  virtual StoreHealth health() { return {}; }

  // Stops accepting writes, waits for in-flight writes, ends watches with on_error(kUnavailable).
  virtual void close() = 0;
};
using StorePtr = std::unique_ptr<Store>;

}  // namespace setpoint::store
