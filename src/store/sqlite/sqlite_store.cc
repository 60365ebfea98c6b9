#include "store/sqlite/sqlite_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "store/backend_support.h"
#include "store/sqlite/group_committer.h"
#include "store/sqlite/read_pool.h"
#include "store/watch_hub.h"

namespace setpoint::store {
namespace {

// Recent events kept in memory for live watch delivery (older ones are read from history): the
// watch cache takes each batch within milliseconds, so a few MiB cover any stall it has, and
// more would only be resident memory (16384 events of 1 KiB were 19 MiB).
constexpr std::size_t kRingEvents = 16384;
constexpr std::size_t kRingBytes = 4 << 20;
// WAL length (4 KiB pages) at which the writer asks for a background checkpoint.
constexpr int kCheckpointPages = 4096;

// An exclusive advisory lock on <path>.lock for the life of the store: two stores (two
// processes, or one process twice) writing one file would each trust their own key map.
class FileLock {
 public:
  static Result<FileLock> Acquire(const std::string& path) {
    std::string lock_path = path + ".lock";
    int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Err(Status::Internal("open " + lock_path + ": " + std::strerror(errno)));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) return Err(Status::Unavailable("sqlite store " + path + " is in use by another store"));
      return Err(Status::Internal("lock " + lock_path + ": " + std::strerror(err)));
    }
    return FileLock(fd);
  }
  FileLock() = default;
  FileLock(FileLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  FileLock& operator=(FileLock&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  ~FileLock() { release(); }
  void release() {
    if (fd_ >= 0) ::close(fd_);  // closing the descriptor drops the flock
    fd_ = -1;
  }

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

std::int64_t ToMillis(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

EventType ToEventType(std::int64_t op) {
  switch (static_cast<HistoryOp>(op)) {
    case HistoryOp::kCreate:
      return EventType::kCreate;
    case HistoryOp::kUpdate:
      return EventType::kUpdate;
    case HistoryOp::kDelete:
      return EventType::kDelete;
  }
  return EventType::kUpdate;
}

// The revision high-water mark and compacted revision as of a read transaction's snapshot.
struct Bounds {
  Revision revision = 0;
  Revision compacted = 0;
};

Result<Bounds> ReadBounds(SqliteConnection& conn) {
  auto rev = conn.query_int("SELECT value FROM meta WHERE name = 'revision'");
  if (!rev) return Err(rev.error());
  auto compacted = conn.query_int("SELECT value FROM meta WHERE name = 'compacted'");
  if (!compacted) return Err(compacted.error());
  return Bounds{rev->value_or(0), compacted->value_or(0)};
}

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(SqliteStoreOptions options) : options_(std::move(options)) {}
  ~SqliteStore() override { close(); }

  Status init();

  Result<Revision> create(std::string key, Bytes value) override {
    if (closed_.load()) return Err(StoreClosed());
    return committer_->write(WriteRequest::Op::kCreate, std::move(key), NonNull(std::move(value)), 0);
  }

  Result<Revision> update(std::string key, Bytes value, Revision expected) override {
    if (closed_.load()) return Err(StoreClosed());
    return committer_->write(WriteRequest::Op::kUpdate, std::move(key), NonNull(std::move(value)), expected);
  }

  void create_async(std::string key, Bytes value, WriteCallback done) override {
    if (closed_.load()) return done(Err(StoreClosed()));
    committer_->write_async(WriteRequest::Op::kCreate, std::move(key), NonNull(std::move(value)), 0, std::move(done));
  }

  void update_async(std::string key, Bytes value, Revision expected, WriteCallback done) override {
    if (closed_.load()) return done(Err(StoreClosed()));
    committer_->write_async(WriteRequest::Op::kUpdate, std::move(key), NonNull(std::move(value)), expected,
                            std::move(done));
  }

  Result<Revision> remove(std::string key, Revision expected) override {
    if (closed_.load()) return Err(StoreClosed());
    return committer_->write(WriteRequest::Op::kRemove, std::move(key), nullptr, expected);
  }

  Result<KeyValue> get(std::string_view key) override;
  Result<ListResult> list(std::string_view prefix, Revision at) override;

  Result<WatchHandlePtr> watch(Revision after, WatchSink& sink) override {
    if (closed_.load()) return Err(StoreClosed());
    Revision compacted = committer_->compacted();
    if (after < compacted) return Err(TooOldRevision(after, compacted));
    return hub_->watch(after, sink);
  }

  Status compact(Revision upto) override {
    if (closed_.load()) return StoreClosed();
    auto done = committer_->write(WriteRequest::Op::kCompact, {}, nullptr, upto);
    return done ? Status::Ok() : done.error();
  }

  Revision current_revision() override { return committer_ ? committer_->revision() : 0; }
  Revision compacted_revision() override { return committer_ ? committer_->compacted() : 0; }
  CommitStats commit_stats() override { return committer_ ? committer_->stats() : CommitStats{}; }

  void close() override;

 private:
  Result<std::vector<Event>> read_events(Revision from, Revision to, std::size_t limit);
  void maintain();
  Status compact_by_age(SqliteConnection& conn);
  void kick_maintenance();

  const SqliteStoreOptions options_;
  FileLock lock_;
  std::shared_ptr<ReadPool> pool_;
  std::unique_ptr<GroupCommitter> committer_;
  std::unique_ptr<WatchHub> hub_;
  std::atomic<bool> closed_{false};
  std::mutex close_mu_;

  std::mutex maint_mu_;
  std::condition_variable maint_cv_;
  bool maint_stop_ = false;                       // GUARDED_BY(maint_mu_)
  bool maint_kick_ = false;                       // GUARDED_BY(maint_mu_)
  std::unique_ptr<SqliteConnection> maint_conn_;  // maintenance thread only
  std::thread maintenance_;
};

Status SqliteStore::init() {
  // Checked before anything touches the file system (an empty path would lock "./.lock").
  if (options_.path.empty()) return Status::Invalid("the sqlite store needs a database path");
  auto lock = FileLock::Acquire(options_.path);
  if (!lock) return lock.error();
  lock_ = std::move(*lock);

  GroupCommitterOptions copts;
  copts.max_batch = options_.max_batch;
  copts.history_max_events = options_.history_max_events;
  copts.key_hash = options_.key_hash;
  if (options_.clock) copts.now_millis = [clock = options_.clock] { return ToMillis(clock()); };
  copts.on_wal_pages = [this](int pages) {
    if (pages >= kCheckpointPages) kick_maintenance();
  };
  auto committer = GroupCommitter::Open(options_.path, std::move(copts));
  if (!committer) return committer.error();
  committer_ = std::move(*committer);

  auto maint_conn = SqliteConnection::Open(options_.path, /*create=*/false);
  if (!maint_conn) return maint_conn.error();
  maint_conn_ = std::move(*maint_conn);

  pool_ = std::make_shared<ReadPool>(options_.path);
  hub_ = std::make_unique<WatchHub>(
      [this](Revision from, Revision to, std::size_t limit) { return read_events(from, to, limit); },
      committer_->revision(), kRingEvents, kRingBytes);
  committer_->start([this](Revision last, EventBatch events) { hub_->publish(last, std::move(events)); });
  maintenance_ = std::thread([this] { maintain(); });
  return Status::Ok();
}

void SqliteStore::close() {
  std::lock_guard<std::mutex> serialise(close_mu_);
  if (closed_.exchange(true)) return;
  if (committer_) committer_->stop();    // commits what is queued; new writes get kUnavailable
  if (hub_) hub_->close(StoreClosed());  // delivers what was committed, then ends the watches
  {
    std::lock_guard<std::mutex> lock(maint_mu_);
    maint_stop_ = true;
  }
  maint_cv_.notify_one();
  if (maintenance_.joinable()) maintenance_.join();
  maint_conn_.reset();
  if (pool_) pool_->close();
  if (committer_) (void)committer_->close_database();  // TRUNCATE checkpoint, then close
  lock_.release();
}

Result<KeyValue> SqliteStore::get(std::string_view key) {
  if (closed_.load()) return Err(StoreClosed());
  auto conn = pool_->acquire();
  if (!conn) return Err(conn.error());
  // `current` has no index on key: the writer's map says which row (a hint, checked against the
  // row's key); without a row there, the key is looked for by a scan, so that a key the map has
  // already dropped for a batch still committing is found as committed. (The API server reads
  // through its watch cache; this path serves tools and tests.)
  auto read = [&](const char* sql, bool by_row) -> Result<std::optional<KeyValue>> {
    auto stmt = (*conn)->prepare(sql);
    if (!stmt) return Err(stmt.error());
    StatementScope scope(*stmt);
    BindBlob(*stmt, 1, key);
    if (by_row) sqlite3_bind_int64(*stmt, 2, committer_->row_of(key));
    int rc = sqlite3_step(*stmt);
    if (rc == SQLITE_DONE) return std::optional<KeyValue>();
    if (rc != SQLITE_ROW) return Err((*conn)->error("get"));
    return std::optional<KeyValue>(
        KeyValue{std::string(key), MakeBytes(ColumnBytes(*stmt, 1)), sqlite3_column_int64(*stmt, 0)});
  };
  auto hit = read("SELECT rev, value FROM current WHERE rowid = ?2 AND key = ?1", true);
  if (hit && !*hit) hit = read("SELECT rev, value FROM current WHERE key = ?1", false);
  if (!hit) return Err(hit.error());
  if (!*hit) return Err(KeyNotFound(std::string(key)));
  return std::move(**hit);
}

Result<ListResult> SqliteStore::list(std::string_view prefix, Revision at) {
  if (closed_.load()) return Err(StoreClosed());
  auto conn = pool_->acquire();
  if (!conn) return Err(conn.error());
  ReadTransaction txn(**conn);  // one snapshot for the bounds, `current` and `history`
  if (auto st = txn.begin(); !st.ok()) return Err(st);
  auto bounds = ReadBounds(**conn);
  if (!bounds) return Err(bounds.error());
  if (at > bounds->revision) return Err(FutureRevision(at, bounds->revision));
  if (at != 0 && at < bounds->compacted) return Err(TooOldRevision(at, bounds->compacted));

  // A scan (`current` has no index on key), sorted here: SQLite's ORDER BY would build a sorted
  // copy of every value in a temporary b-tree first.
  std::optional<std::string> end = PrefixEnd(prefix);
  auto stmt = (*conn)->prepare(end ? "SELECT key, rev, value FROM current WHERE key >= ?1 AND key < ?2"
                                   : "SELECT key, rev, value FROM current WHERE key >= ?1");
  if (!stmt) return Err(stmt.error());
  ListResult out;
  out.revision = at == 0 ? bounds->revision : at;
  {
    StatementScope scope(*stmt);
    BindBlob(*stmt, 1, prefix);
    if (end) BindBlob(*stmt, 2, *end);
    int rc;
    while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) {
      out.items.push_back(
          KeyValue{ColumnBytes(*stmt, 0), MakeBytes(ColumnBytes(*stmt, 2)), sqlite3_column_int64(*stmt, 1)});
    }
    if (rc != SQLITE_DONE) return Err((*conn)->error("list current"));
  }
  std::sort(out.items.begin(), out.items.end(), [](const KeyValue& a, const KeyValue& b) { return a.key < b.key; });
  if (out.revision == bounds->revision) return out;

  // An older revision: undo, newest first, every write after `at` (history keeps previous values).
  std::map<std::string, KeyValue, std::less<>> state;
  for (auto& kv : out.items) state.emplace(kv.key, std::move(kv));
  out.items.clear();
  auto hist = (*conn)->prepare(
      "SELECT rev, op, prev_rev, key, value, prev_value FROM history WHERE rev > ?1 ORDER BY rev DESC");
  if (!hist) return Err(hist.error());
  {
    StatementScope scope(*hist);
    sqlite3_bind_int64(*hist, 1, out.revision);
    int rc;
    while ((rc = sqlite3_step(*hist)) == SQLITE_ROW) {
      std::string key = ColumnBytes(*hist, 3);
      if (!key.starts_with(prefix)) continue;
      Revision prev_rev = sqlite3_column_int64(*hist, 2);
      switch (ToEventType(sqlite3_column_int64(*hist, 1))) {
        case EventType::kCreate:
          state.erase(key);
          break;
        case EventType::kUpdate:
          state[key] = KeyValue{key, MakeBytes(ColumnBytes(*hist, 5)), prev_rev};
          break;
        case EventType::kDelete:
          state[key] = KeyValue{key, MakeBytes(ColumnBytes(*hist, 4)), prev_rev};
          break;
      }
    }
    if (rc != SQLITE_DONE) return Err((*conn)->error("list history"));
  }
  out.items.reserve(state.size());
  for (auto& [key, kv] : state) out.items.push_back(std::move(kv));
  return out;
}

Result<std::vector<Event>> SqliteStore::read_events(Revision from, Revision to, std::size_t limit) {
  auto conn = pool_->acquire();
  if (!conn) return Err(conn.error());
  ReadTransaction txn(**conn);
  if (auto st = txn.begin(); !st.ok()) return Err(st);
  auto bounds = ReadBounds(**conn);
  if (!bounds) return Err(bounds.error());
  if (from <= bounds->compacted) return Err(TooOldRevision(from - 1, bounds->compacted));
  // A row's value (schema.h): its own (a delete, or a version-1 row), else `current`'s while it is
  // the newest, else what its successor kept of it.
  auto stmt = (*conn)->prepare(
      "SELECT h.rev, h.op, h.key, coalesce(h.value, c.value, iif(n.op = 2, n.value, n.prev_value)) "
      "FROM history h LEFT JOIN current c ON c.rev = h.rev "
      "LEFT JOIN history n ON n.prev_rev = h.rev AND n.prev_rev > 0 "
      "WHERE h.rev >= ?1 AND h.rev <= ?2 ORDER BY h.rev LIMIT ?3");
  if (!stmt) return Err(stmt.error());
  StatementScope scope(*stmt);
  sqlite3_bind_int64(*stmt, 1, from);
  sqlite3_bind_int64(*stmt, 2, to);
  sqlite3_bind_int64(*stmt, 3, static_cast<std::int64_t>(limit));
  std::vector<Event> events;
  int rc;
  while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) {
    events.push_back(Event{ToEventType(sqlite3_column_int64(*stmt, 1)), ColumnBytes(*stmt, 2),
                           MakeBytes(ColumnBytes(*stmt, 3)), sqlite3_column_int64(*stmt, 0)});
  }
  if (rc != SQLITE_DONE) return Err((*conn)->error("read history"));
  return events;
}

void SqliteStore::kick_maintenance() {
  {
    std::lock_guard<std::mutex> lock(maint_mu_);
    maint_kick_ = true;
  }
  maint_cv_.notify_one();
}

void SqliteStore::maintain() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(maint_mu_);
      maint_cv_.wait_for(lock, options_.maintenance_interval, [&] { return maint_stop_ || maint_kick_; });
      if (maint_stop_) return;
      maint_kick_ = false;
    }
    // PASSIVE never blocks the writer or readers; it copies what it can and returns.
    (void)sqlite3_wal_checkpoint_v2(maint_conn_->db(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    (void)compact_by_age(*maint_conn_);
  }
}

// Compacts history older than history_max_age. history.ts never decreases with rev, and every
// revision after the compacted one has a row, so a binary search over rev finds the cut.
Status SqliteStore::compact_by_age(SqliteConnection& conn) {
  if (options_.history_max_age.count() <= 0) return Status::Ok();
  auto now = options_.clock ? options_.clock() : std::chrono::system_clock::now();
  const std::int64_t cutoff = ToMillis(now - options_.history_max_age);
  Revision lo = committer_->compacted();  // known to be cut (or the lower bound)
  Revision hi = committer_->revision();
  if (lo >= hi) return Status::Ok();
  auto stmt = conn.prepare("SELECT ts FROM history WHERE rev = ?1");
  if (!stmt) return stmt.error();
  while (lo < hi) {
    Revision mid = lo + (hi - lo + 1) / 2;
    StatementScope scope(*stmt);
    sqlite3_bind_int64(*stmt, 1, mid);
    int rc = sqlite3_step(*stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return conn.error("read history ts");
    // A missing row was purged by a compaction that raced with us, so it is old too.
    bool old = rc == SQLITE_DONE || sqlite3_column_int64(*stmt, 0) < cutoff;
    if (old) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  if (lo <= committer_->compacted()) return Status::Ok();
  auto done = committer_->write(WriteRequest::Op::kCompact, {}, nullptr, lo);
  return done ? Status::Ok() : done.error();
}

}  // namespace

Result<StorePtr> OpenSqliteStore(const SqliteStoreOptions& options) {
  auto store = std::make_unique<SqliteStore>(options);
  if (Status st = store->init(); !st.ok()) return Err(st);
  return StorePtr(std::move(store));
}

}  // namespace setpoint::store
