// GroupCommitter: the sqlite store's one writer.
//
// Callers enqueue WriteRequests and block. One writer thread, which alone owns the write
// connection, drains up to max_batch queued requests into ONE transaction: it checks each
// request's precondition against an in-memory key -> mod_revision map (so creates need no
// SELECT), assigns consecutive revisions, appends to `history`, upserts/deletes `current`, stores
// the revision high-water mark and any compaction in `meta`, deletes at most one small step of
// compacted history, and COMMITs (synchronous=FULL: the WAL is fsynced). Only then are the
// callers answered and the batch's events published. A request that fails its precondition
// fails alone; a statement error of one request drops that request and replays the rest; a
// failed COMMIT fails the whole batch and reloads the in-memory state from the database.
//
// Thread-safe: submit()/write()/stop() from any thread; the getters are lock-free snapshots.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "setpoint/common/log_limiter.h"
#include "setpoint/store/store.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/schema.h"
#include "store/watch_hub.h"

namespace setpoint::store {

// One-shot completion signal. A mutex and condition variable rather than std::binary_semaphore:
// libstdc++'s semaphore spins with sched_yield before sleeping, which on a 2-core machine under a
// write load burned ~9% of the CPU in the writer's callers.
class Completion {
 public:
  // Notifies under the lock: the waiter returns (and may destroy this) only after the lock is
  // released, so nothing here touches the object after that. Notifying after unlocking let a
  // waiter that woke early see done_, return and destroy the condition variable under
  // notify_one (ThreadSanitizer saw it on the request path).
  void release() {
    std::lock_guard lock(mu_);
    done_ = true;
    cv_.notify_one();
  }
  void acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return done_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
};

struct WriteRequest {
  enum class Op { kCreate, kUpdate, kRemove, kCompact };
  Op op = Op::kCreate;
  std::string key;
  Bytes value;
  Revision expected = 0;    // precondition of kUpdate/kRemove (0 = any); kCompact: compact up to
  Result<Revision> result;  // written by the writer before `done` is released
  Completion done;
  // Set for asynchronous writes: called on the writer thread instead of releasing `done`, after
  // which the writer deletes the (heap-allocated) request.
  WriteCallback callback;

  // Delivers the result to whoever waits; the request may be gone afterwards.
  static void Finish(WriteRequest* r) {
    if (r->callback) {
      auto callback = std::move(r->callback);
      auto result = std::move(r->result);
      delete r;
      callback(std::move(result));
    } else {
      r->done.release();
    }
  }
};

struct GroupCommitterOptions {
  std::size_t max_batch = 1024;
  std::size_t history_max_events = 100000;   // compacts to keep at most this many events; 0: no bound
  std::function<std::int64_t()> now_millis;  // wall clock for history.ts
  // Called on the writer thread after a commit that left `pages` pages in the WAL.
  std::function<void(int pages)> on_wal_pages;
  // When the WAL is this long the writer itself checkpoints between batches, so that the next
  // transaction can start the WAL over (background checkpoints alone cannot under steady load).
  int wal_restart_pages = 16384;
  // Largest key or value accepted (SQLite's length limit); larger writes fail with kInternal.
  // 0 keeps SQLite's default (1e9 bytes).
  int max_value_bytes = 0;
  // Test seam: the hash of the writer's key map (null: the real one). See KeyRevisions.
  KeyRevisions::HashFn key_hash = nullptr;
};

class GroupCommitter {
 public:
  using Publish = std::function<void(Revision last, EventBatch events)>;

  // Opens the write connection at `path`, creates the schema and loads the state. The writer
  // thread starts with start().
  static Result<std::unique_ptr<GroupCommitter>> Open(const std::string& path, GroupCommitterOptions options);
  ~GroupCommitter();
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // Starts the writer; `publish` receives each committed batch's events, in revision order.
  void start(Publish publish);

  // Enqueues `requests` together (so they share a transaction when they fit in max_batch) and
  // blocks until each has its result. kUnavailable once stop() has begun.
  void submit(std::span<WriteRequest* const> requests);
  Result<Revision> write(WriteRequest::Op op, std::string key, Bytes value, Revision expected);
  // The same without blocking: `done` runs on the writer thread once the write is committed (or
  // failed), or at once when the committer is stopping.
  void write_async(WriteRequest::Op op, std::string key, Bytes value, Revision expected, WriteCallback done);

  // Refuses new requests, commits the queued ones, joins the writer. Idempotent.
  void stop();
  // After stop(): checkpoints the WAL into the database, truncates it and closes the write
  // connection. The getters keep answering.
  Status close_database();

  // The row of `key` in `current` as the writer knows it (possibly a batch in flight, possibly
  // another key's with the same hash): a hint for readers, who check the row's key. 0: none.
  std::int64_t row_of(std::string_view key) const;

  Revision revision() const { return revision_seen_.load(); }
  Revision compacted() const { return compacted_seen_.load(); }
  CommitStats stats() const;

 private:
  struct Undo {
    std::string key;
    KeyRevisions::Entry previous;  // rev 0: the key did not exist
  };
  struct Pass {
    Revision next = 0;  // newest revision assigned so far in this transaction
    Revision compact_to = 0;
    Revision purge_to = 0;
    std::int64_t ts = 0;
    std::vector<Event> events;
    std::vector<Undo> undo;
  };
  enum class Outcome { kReady, kRetry, kFailed };
  struct StepError {
    Status status;
    bool local = false;  // only this request is affected; the others can be replayed
  };

  GroupCommitter(std::unique_ptr<SqliteConnection> conn, SqliteState state, GroupCommitterOptions options);
  void run();
  void commit_batch(std::span<WriteRequest* const> batch);
  Outcome run_pass(std::span<WriteRequest* const> batch, std::vector<char>& dropped, Pass& pass, Status& failure);
  std::optional<StepError> apply(WriteRequest& r, Pass& pass);
  std::optional<StepError> step(sqlite3_stmt* stmt, const char* what);
  std::optional<StepError> run_with_int(const char* sql, std::int64_t value, const char* what);
  void abort_pass(Pass& pass);
  void recover_after_failed_commit(const Pass& pass);
  void maybe_restart_wal();
  bool purge_pending() const { return purged_ < compacted_ && !purge_paused_ && broken_.ok(); }
  void record_commit(std::chrono::steady_clock::duration took, std::size_t writes);
  // Counts and logs (rate-limited) a batch the database refused (disk full, I/O error).
  void record_failure(std::size_t writes, const Status& why);
  static int WalHook(void* self, sqlite3* db, const char* name, int pages);

  std::unique_ptr<SqliteConnection> conn_;  // writer thread only (and after stop())
  GroupCommitterOptions options_;
  Publish publish_;

  // Writer-thread state.
  // Written by the writer thread only; readers look rows up through row_of() under keys_mu_.
  mutable std::mutex keys_mu_;
  KeyRevisions keys_;  // GUARDED_BY(keys_mu_) for readers
  Revision revision_ = 0;
  Revision compacted_ = 0;
  Revision purged_ = 0;
  std::int64_t last_ts_ = 0;
  bool purge_paused_ = false;  // a purge-only transaction failed; wait for the next commit
  Status broken_;              // set when the in-memory state could not be reconciled with the database
  std::atomic<int> wal_pages_{0};
  std::chrono::steady_clock::time_point last_restart_checkpoint_{};

  std::atomic<Revision> revision_seen_{0};
  std::atomic<Revision> compacted_seen_{0};

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<WriteRequest*> queue_;  // GUARDED_BY(mu_)
  bool stopping_ = false;            // GUARDED_BY(mu_)
  bool started_ = false;             // GUARDED_BY(mu_)

  mutable std::mutex stats_mu_;
  CommitStats stats_;  // GUARDED_BY(stats_mu_)
  LogLimiter failure_log_;

  std::mutex stop_mu_;
  std::thread writer_;
};

}  // namespace setpoint::store
