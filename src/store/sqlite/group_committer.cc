#include "store/sqlite/group_committer.h"

#include <algorithm>
#include <limits>

#include <spdlog/spdlog.h>

#include "store/backend_support.h"

namespace setpoint::store {
namespace {

// Compacted history rows deleted per transaction: bounds what compaction adds to a commit.
constexpr Revision kPurgeStep = 1000;

constexpr const char* kInsertCurrent = "INSERT INTO current(key, rev, value) VALUES (?1, ?2, ?3)";
// `current` has no index on key: rows are addressed by rowid (KeyRevisions), and the key
// compared where the map's entry may belong to another key with the same hash.
constexpr const char* kUpdateCurrent = "UPDATE current SET rev = ?1, value = ?2 WHERE rowid = ?3";
constexpr const char* kDeleteCurrent = "DELETE FROM current WHERE rowid = ?1 AND key = ?2 RETURNING value";
constexpr const char* kInsertCreate = "INSERT INTO history(rev, ts, op, prev_rev, key) VALUES (?1, ?2, 0, 0, ?3)";
// Copies the previous value inside SQLite: no round trip through the writer.
constexpr const char* kInsertUpdate =
    "INSERT INTO history(rev, ts, op, prev_rev, key, prev_value) "
    "SELECT ?1, ?2, 1, ?3, key, value FROM current WHERE rowid = ?4 AND key = ?5";
constexpr const char* kInsertDelete =
    "INSERT INTO history(rev, ts, op, prev_rev, key, value) VALUES (?1, ?2, 2, ?3, ?4, ?5)";
constexpr const char* kSelectKey = "SELECT key FROM current WHERE rowid = ?1";
constexpr const char* kSetRevision = "UPDATE meta SET value = ?1 WHERE name = 'revision'";
constexpr const char* kSetCompacted = "UPDATE meta SET value = ?1 WHERE name = 'compacted'";
constexpr const char* kPurge = "DELETE FROM history WHERE rev <= ?1";

// Errors that concern the one statement (and so the one request) rather than the database.
bool IsLocalError(int code) {
  switch (code & 0xff) {
    case SQLITE_TOOBIG:
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
      return true;
    default:
      return false;
  }
}

std::int64_t SystemMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<std::unique_ptr<GroupCommitter>> GroupCommitter::Open(const std::string& path, GroupCommitterOptions options) {
  auto conn = SqliteConnection::Open(path, /*create=*/true);
  if (!conn) return Err(conn.error());
  if (auto st = PrepareWriter(**conn); !st.ok()) return Err(Status::Internal(st.message() + " (" + path + ")"));
  auto state = LoadState(**conn, /*with_keys=*/true, options.key_hash);
  if (!state) return Err(state.error());
  if (options.max_batch == 0) options.max_batch = 1;
  if (!options.now_millis) options.now_millis = SystemMillis;
  return std::unique_ptr<GroupCommitter>(new GroupCommitter(std::move(*conn), std::move(*state), std::move(options)));
}

GroupCommitter::GroupCommitter(std::unique_ptr<SqliteConnection> conn, SqliteState state, GroupCommitterOptions options)
    : conn_(std::move(conn)),
      options_(std::move(options)),
      keys_(std::move(state.keys)),
      revision_(state.revision),
      compacted_(state.compacted),
      purged_(state.purged),
      last_ts_(state.last_ts_millis),
      revision_seen_(state.revision),
      compacted_seen_(state.compacted) {
  sqlite3_wal_hook(conn_->db(), &GroupCommitter::WalHook, this);
  if (options_.max_value_bytes > 0) sqlite3_limit(conn_->db(), SQLITE_LIMIT_LENGTH, options_.max_value_bytes);
}

GroupCommitter::~GroupCommitter() { stop(); }

void GroupCommitter::start(Publish publish) {
  publish_ = std::move(publish);
  writer_ = std::thread([this] { run(); });
  std::lock_guard<std::mutex> lock(mu_);
  started_ = true;
}

int GroupCommitter::WalHook(void* self, sqlite3*, const char*, int pages) {
  auto* committer = static_cast<GroupCommitter*>(self);
  committer->wal_pages_.store(pages);
  if (committer->options_.on_wal_pages) committer->options_.on_wal_pages(pages);
  return SQLITE_OK;
}

void GroupCommitter::submit(std::span<WriteRequest* const> requests) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || !started_) {
      for (WriteRequest* r : requests) r->result = Err(StoreClosed());
      return;
    }
    queue_.insert(queue_.end(), requests.begin(), requests.end());
  }
  cv_.notify_one();
  for (WriteRequest* r : requests) r->done.acquire();
}

Result<Revision> GroupCommitter::write(WriteRequest::Op op, std::string key, Bytes value, Revision expected) {
  WriteRequest r;
  r.op = op;
  r.key = std::move(key);
  r.value = std::move(value);
  r.expected = expected;
  WriteRequest* one[] = {&r};
  submit(one);
  return std::move(r.result);
}

void GroupCommitter::write_async(WriteRequest::Op op, std::string key, Bytes value, Revision expected,
                                 WriteCallback done) {
  auto* r = new WriteRequest;
  r->op = op;
  r->key = std::move(key);
  r->value = std::move(value);
  r->expected = expected;
  r->callback = std::move(done);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_ && started_) {
      queue_.push_back(r);
      r = nullptr;
    }
  }
  if (r) {
    r->result = Err(StoreClosed());
    WriteRequest::Finish(r);
    return;
  }
  cv_.notify_one();
}

void GroupCommitter::stop() {
  std::lock_guard<std::mutex> serialise(stop_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (writer_.joinable()) writer_.join();
}

Status GroupCommitter::close_database() {
  if (!conn_) return Status::Ok();
  int rc = sqlite3_wal_checkpoint_v2(conn_->db(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
  Status st = rc == SQLITE_OK ? Status::Ok() : conn_->error("wal_checkpoint(TRUNCATE)");
  conn_.reset();
  return st;
}

void GroupCommitter::maybe_restart_wal() {
  if (wal_pages_.load() < options_.wal_restart_pages) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_restart_checkpoint_ < std::chrono::milliseconds(20)) return;
  // PASSIVE: copies only what the background checkpoints have not yet; never waits for readers.
  // SQLITE_BUSY means a background checkpoint is running: try again after the next batch.
  int rc = sqlite3_wal_checkpoint_v2(conn_->db(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  if (rc != SQLITE_BUSY) last_restart_checkpoint_ = now;
}

CommitStats GroupCommitter::stats() const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return stats_;
}

void GroupCommitter::run() {
  std::vector<WriteRequest*> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return !queue_.empty() || stopping_ || purge_pending(); });
      if (queue_.empty() && stopping_) return;
      std::size_t n = std::min(queue_.size(), options_.max_batch);
      batch.assign(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
    }
    commit_batch(batch);  // an empty batch still purges one step of compacted history
    batch.clear();
    maybe_restart_wal();
  }
}

void GroupCommitter::commit_batch(std::span<WriteRequest* const> batch) {
  if (!broken_.ok()) {
    for (WriteRequest* r : batch) {
      r->result = Err(broken_);
      WriteRequest::Finish(r);
    }
    return;
  }
  auto started = std::chrono::steady_clock::now();
  std::vector<char> dropped(batch.size(), 0);  // failed alone by a statement error of their own
  Pass pass;
  Status failure;
  Outcome outcome;
  while ((outcome = run_pass(batch, dropped, pass, failure)) == Outcome::kRetry) {
  }
  if (outcome == Outcome::kReady) {
    if (Status st = conn_->run("COMMIT"); !st.ok()) {
      failure = st;
      abort_pass(pass);
      recover_after_failed_commit(pass);
      outcome = Outcome::kFailed;
    }
  }
  if (outcome == Outcome::kFailed) {
    // A purge that keeps failing (disk full, say) must not spin: retry after the next commit.
    if (batch.empty()) purge_paused_ = true;
    if (!batch.empty()) record_failure(batch.size(), failure);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (!dropped[i]) batch[i]->result = Err(failure);
      WriteRequest::Finish(batch[i]);
    }
    return;
  }
  purge_paused_ = false;
  revision_ = pass.next;
  compacted_ = pass.compact_to;
  purged_ = pass.purge_to;
  last_ts_ = pass.ts;
  revision_seen_.store(revision_);
  compacted_seen_.store(compacted_);
  if (!batch.empty()) record_commit(std::chrono::steady_clock::now() - started, pass.events.size());
  if (!pass.events.empty() && publish_) {
    publish_(revision_, std::make_shared<const std::vector<Event>>(std::move(pass.events)));
  }
  // After release() a request may be gone at once: nothing below may touch it.
  for (WriteRequest* r : batch) WriteRequest::Finish(r);
}

GroupCommitter::Outcome GroupCommitter::run_pass(std::span<WriteRequest* const> batch, std::vector<char>& dropped,
                                                 Pass& pass, Status& failure) {
  pass = Pass{};
  pass.next = revision_;
  pass.compact_to = compacted_;
  pass.purge_to = purged_;
  pass.ts = std::max(options_.now_millis(), last_ts_);  // history.ts never goes backwards
  if (Status st = conn_->run("BEGIN IMMEDIATE"); !st.ok()) {
    failure = st;
    return Outcome::kFailed;
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (dropped[i]) continue;
    if (auto err = apply(*batch[i], pass)) {
      abort_pass(pass);
      if (err->local) {
        dropped[i] = 1;
        batch[i]->result = Err(err->status);
        return Outcome::kRetry;
      }
      failure = err->status;
      return Outcome::kFailed;
    }
  }
  // Retention by count, then one bounded purge step of what is compacted.
  if (options_.history_max_events > 0) {
    auto keep =
        static_cast<Revision>(std::min<std::size_t>(options_.history_max_events, std::numeric_limits<Revision>::max()));
    if (pass.next > keep) pass.compact_to = std::max(pass.compact_to, pass.next - keep);
  }
  std::optional<StepError> err;
  if (pass.compact_to > compacted_) err = run_with_int(kSetCompacted, pass.compact_to, "store compacted revision");
  if (!err && pass.purge_to < pass.compact_to) {
    pass.purge_to = std::min(pass.compact_to, pass.purge_to + kPurgeStep);
    err = run_with_int(kPurge, pass.purge_to, "purge history");
  }
  if (!err && pass.next > revision_) err = run_with_int(kSetRevision, pass.next, "store revision");
  if (err) {
    abort_pass(pass);
    failure = err->status;
    return Outcome::kFailed;
  }
  return Outcome::kReady;
}

std::optional<GroupCommitter::StepError> GroupCommitter::step(sqlite3_stmt* stmt, const char* what) {
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE || rc == SQLITE_ROW) return std::nullopt;
  // A statement error that SQLite answered by rolling the whole transaction back is never local.
  bool local = IsLocalError(rc) && sqlite3_get_autocommit(conn_->db()) == 0;
  return StepError{conn_->error(what), local};
}

std::optional<GroupCommitter::StepError> GroupCommitter::run_with_int(const char* sql, std::int64_t value,
                                                                      const char* what) {
  auto stmt = conn_->prepare(sql);
  if (!stmt) return StepError{stmt.error(), false};
  StatementScope scope(*stmt);
  sqlite3_bind_int64(*stmt, 1, value);
  return step(*stmt, what);
}

std::optional<GroupCommitter::StepError> GroupCommitter::apply(WriteRequest& r, Pass& pass) {
  auto prepared = [&](const char* sql) -> sqlite3_stmt* {
    auto stmt = conn_->prepare(sql);
    return stmt ? *stmt : nullptr;
  };
  auto missing = [&](const char* sql) { return StepError{conn_->error(std::string("prepare ") + sql), false}; };
  // A value over SQLite's length limit fails at bind time; report it like a statement error.
  int bind_rc = SQLITE_OK;
  auto bind = [&](sqlite3_stmt* stmt, int index, std::string_view bytes) {
    int rc = BindBlob(stmt, index, bytes);
    if (bind_rc == SQLITE_OK) bind_rc = rc;
  };
  auto checked_step = [&](sqlite3_stmt* stmt, const char* what) -> std::optional<StepError> {
    if (bind_rc != SQLITE_OK) {
      return StepError{Status::Internal(std::string("sqlite: ") + what + ": " + sqlite3_errstr(bind_rc)),
                       IsLocalError(bind_rc)};
    }
    return step(stmt, what);
  };

  if (r.op == WriteRequest::Op::kCompact) {
    pass.compact_to = std::max(pass.compact_to, std::min(r.expected, pass.next));
    r.result = pass.compact_to;
    return std::nullopt;
  }
  // Where the key lives (key_revisions.h). kAbsent is certain and kExact is this key's entry;
  // kMaybe may be another key's with the same hash, so a create and a failed precondition read
  // that row's key (inside this transaction, so earlier writes of the batch count), and an update
  // or delete that passes lets its statement check (`WHERE rowid = ? AND key = ?`).
  const KeyRevisions::Found found = keys_.find(r.key);
  KeyRevisions::Entry entry = found.entry;
  bool live = found.match != KeyRevisions::Match::kAbsent;
  bool exact = found.match != KeyRevisions::Match::kMaybe;
  std::string displaced;  // the key that holds this key's hash, when it is another one
  const bool precondition_failed = r.op != WriteRequest::Op::kCreate && r.expected != 0 && r.expected != entry.rev;
  if (!exact && (r.op == WriteRequest::Op::kCreate || precondition_failed)) {
    sqlite3_stmt* stmt = prepared(kSelectKey);
    if (stmt == nullptr) return missing(kSelectKey);
    StatementScope scope(stmt);
    sqlite3_bind_int64(stmt, 1, entry.rowid);
    const int rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) {
      if (rc == SQLITE_DONE) return StepError{Status::Internal("sqlite: current row missing for " + r.key), true};
      return StepError{conn_->error("read key"), IsLocalError(rc)};
    }
    std::string holder = ColumnBytes(stmt, 0);
    exact = true;
    if (holder != r.key) {
      live = false;
      displaced = std::move(holder);
    }
  }
  if (r.op == WriteRequest::Op::kCreate) {
    if (live) {
      r.result = Err(KeyExists(r.key));
      return std::nullopt;
    }
  } else {
    if (!live) {
      r.result = Err(KeyNotFound(r.key));
      return std::nullopt;
    }
    if (r.expected != 0 && r.expected != entry.rev) {
      r.result = Err(RevisionMismatch(r.key, r.expected, entry.rev));
      return std::nullopt;
    }
  }
  // A statement that touched no row: the map's entry was another key's (not found), or, when it
  // was this key's for certain, the map and the table disagree.
  auto not_found = [&]() -> std::optional<StepError> {
    if (exact) return StepError{Status::Internal("sqlite: current row missing for " + r.key), true};
    r.result = Err(KeyNotFound(r.key));
    return std::nullopt;
  };
  const Revision previous = live ? entry.rev : 0;
  const Revision rev = pass.next + 1;
  Bytes value = r.value;  // for kRemove: the deleted value, read below

  switch (r.op) {
    case WriteRequest::Op::kCreate: {
      sqlite3_stmt* cur = prepared(kInsertCurrent);
      if (cur == nullptr) return missing(kInsertCurrent);
      StatementScope cur_scope(cur);
      bind(cur, 1, r.key);
      sqlite3_bind_int64(cur, 2, rev);
      bind(cur, 3, *value);
      if (auto err = checked_step(cur, "insert current")) return err;
      const std::int64_t rowid = sqlite3_last_insert_rowid(conn_->db());
      sqlite3_stmt* hist = prepared(kInsertCreate);
      if (hist == nullptr) return missing(kInsertCreate);
      StatementScope hist_scope(hist);
      sqlite3_bind_int64(hist, 1, rev);
      sqlite3_bind_int64(hist, 2, pass.ts);
      bind(hist, 3, r.key);  // the value is in `current` (schema.h)
      if (auto err = checked_step(hist, "insert history")) return err;
      std::lock_guard lock(keys_mu_);
      keys_.add(r.key, {rev, rowid}, displaced);
      break;
    }
    case WriteRequest::Op::kUpdate: {
      sqlite3_stmt* hist = prepared(kInsertUpdate);
      if (hist == nullptr) return missing(kInsertUpdate);
      {
        StatementScope hist_scope(hist);
        sqlite3_bind_int64(hist, 1, rev);
        sqlite3_bind_int64(hist, 2, pass.ts);
        sqlite3_bind_int64(hist, 3, previous);
        sqlite3_bind_int64(hist, 4, entry.rowid);
        bind(hist, 5, r.key);
        if (auto err = checked_step(hist, "insert history")) return err;
        if (sqlite3_changes(conn_->db()) != 1) return not_found();
      }
      sqlite3_stmt* cur = prepared(kUpdateCurrent);
      if (cur == nullptr) return missing(kUpdateCurrent);
      StatementScope cur_scope(cur);
      sqlite3_bind_int64(cur, 1, rev);
      bind(cur, 2, *value);
      sqlite3_bind_int64(cur, 3, entry.rowid);
      if (auto err = checked_step(cur, "update current")) return err;
      std::lock_guard lock(keys_mu_);
      keys_.set(r.key, {rev, entry.rowid});
      break;
    }
    case WriteRequest::Op::kRemove: {
      sqlite3_stmt* cur = prepared(kDeleteCurrent);
      if (cur == nullptr) return missing(kDeleteCurrent);
      {
        StatementScope cur_scope(cur);
        sqlite3_bind_int64(cur, 1, entry.rowid);
        bind(cur, 2, r.key);
        if (bind_rc != SQLITE_OK) return checked_step(cur, "delete current");
        int rc = sqlite3_step(cur);
        if (rc != SQLITE_ROW) {
          if (rc == SQLITE_DONE) return not_found();
          return StepError{conn_->error("delete current"), IsLocalError(rc)};
        }
        value = MakeBytes(ColumnBytes(cur, 0));
        if (auto err = checked_step(cur, "delete current")) return err;
      }
      sqlite3_stmt* hist = prepared(kInsertDelete);
      if (hist == nullptr) return missing(kInsertDelete);
      StatementScope hist_scope(hist);
      sqlite3_bind_int64(hist, 1, rev);
      sqlite3_bind_int64(hist, 2, pass.ts);
      sqlite3_bind_int64(hist, 3, previous);
      bind(hist, 4, r.key);
      bind(hist, 5, *value);
      if (auto err = checked_step(hist, "insert history")) return err;
      std::lock_guard lock(keys_mu_);
      keys_.erase(r.key);
      break;
    }
    case WriteRequest::Op::kCompact:
      break;
  }
  pass.undo.push_back(Undo{r.key, live ? entry : KeyRevisions::Entry{}});
  pass.next = rev;
  EventType type = r.op == WriteRequest::Op::kCreate   ? EventType::kCreate
                   : r.op == WriteRequest::Op::kUpdate ? EventType::kUpdate
                                                       : EventType::kDelete;
  pass.events.push_back(Event{type, r.key, std::move(value), rev});
  r.result = rev;
  return std::nullopt;
}

std::int64_t GroupCommitter::row_of(std::string_view key) const {
  std::lock_guard lock(keys_mu_);
  const auto found = keys_.find(key);
  return found.match == KeyRevisions::Match::kAbsent ? 0 : found.entry.rowid;
}

void GroupCommitter::abort_pass(Pass& pass) {
  if (sqlite3_get_autocommit(conn_->db()) == 0) (void)conn_->run("ROLLBACK");
  std::lock_guard lock(keys_mu_);
  for (auto it = pass.undo.rbegin(); it != pass.undo.rend(); ++it) {
    if (it->previous.rev == 0) {
      keys_.erase(it->key);
    } else {
      keys_.set(it->key, it->previous);
    }
  }
  pass.undo.clear();
  pass.events.clear();
}

void GroupCommitter::recover_after_failed_commit(const Pass& pass) {
  // The undo log restored what this writer believed before the batch; the database is the
  // judge of what is on disk. Reload and make sure the two agree.
  auto state = LoadState(*conn_, /*with_keys=*/true, options_.key_hash);
  if (!state) {
    broken_ =
        Status::Unavailable("sqlite store needs to be reopened after a failed commit: " + state.error().message());
    return;
  }
  if (state->revision != revision_ && state->revision != pass.next) {
    broken_ = Status::Unavailable("sqlite store needs to be reopened: revision " + std::to_string(state->revision) +
                                  " on disk after a failed commit at " + std::to_string(revision_));
    return;
  }
  {
    std::lock_guard lock(keys_mu_);
    keys_ = std::move(state->keys);
  }
  revision_ = state->revision;
  compacted_ = state->compacted;
  purged_ = state->purged;
  last_ts_ = std::max(last_ts_, state->last_ts_millis);
  revision_seen_.store(revision_);
  compacted_seen_.store(compacted_);
}

void GroupCommitter::record_failure(std::size_t writes, const Status& why) {
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    stats_.failed_writes += writes;
  }
  if (auto held = failure_log_.admit("commit"))
    spdlog::error("sqlite: a commit of {} write(s) failed: {}{}", writes, why.message(), LogLimiter::Suffix(*held));
}

void GroupCommitter::record_commit(std::chrono::steady_clock::duration took, std::size_t writes) {
  auto micros = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(took).count());
  std::lock_guard<std::mutex> lock(stats_mu_);
  RecordCommit(stats_, writes, micros);
}

}  // namespace setpoint::store
