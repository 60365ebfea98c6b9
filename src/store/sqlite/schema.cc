#include "store/sqlite/schema.h"

#include <algorithm>

namespace setpoint::store {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS current(key BLOB NOT NULL, rev INTEGER NOT NULL, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS history(
  rev INTEGER PRIMARY KEY,
  ts INTEGER NOT NULL,
  op INTEGER NOT NULL,
  prev_rev INTEGER NOT NULL,
  key BLOB NOT NULL,
  value BLOB,
  prev_value BLOB);
INSERT OR IGNORE INTO meta(name, value) VALUES ('schema_version', 3), ('revision', 0), ('compacted', 0);
)sql";

// Version 3: `current` loses its index on key (the writer finds rows through its in-memory map,
// key_revisions.h). SQLite cannot drop a PRIMARY KEY's index, so the table is copied, in the
// upgrade's transaction.
constexpr const char* kUpgradeTo3 = R"sql(
CREATE TABLE current_v3(key BLOB NOT NULL, rev INTEGER NOT NULL, value BLOB NOT NULL);
INSERT INTO current_v3(key, rev, value) SELECT key, rev, value FROM current;
DROP TABLE current;
ALTER TABLE current_v3 RENAME TO current;
UPDATE meta SET value = 3 WHERE name = 'schema_version';
)sql";

// Version 2 keeps each value once (see schema.h): a create or update row's value is found through
// this index (its successor's prev_value) or in `current`. Creates, which have no predecessor,
// add nothing to it.
// Version 3: a row of `current` is found by its revision when a history row is read (the value
// of a write that is still the newest). Revisions only grow, so creates append to this index.
constexpr const char* kIndexes =
    "CREATE INDEX IF NOT EXISTS history_successor ON history(prev_rev) WHERE prev_rev > 0;"
    "CREATE INDEX IF NOT EXISTS current_rev ON current(rev);";

}  // namespace

Status PrepareWriter(SqliteConnection& conn) {
  auto mode = conn.query_text("PRAGMA journal_mode=WAL");
  if (!mode) return mode.error();
  if (*mode != "wal") return Status::Internal("sqlite: cannot use WAL journal mode (got '" + *mode + "')");
  // Checkpoints run off the write path (see SqliteStore's maintenance thread).
  // journal_size_limit: after the WAL starts over, its file is cut back to 64 MiB.
  // cache_size: 16 MiB holds every interior B-tree page of millions of rows; 64 MiB measured the
  // same 200k-create throughput (store_bench) and cost ~500 B of resident memory per object.
  if (auto st = conn.exec("PRAGMA wal_autocheckpoint=0; PRAGMA journal_size_limit=67108864; "
                          "PRAGMA cache_size=-16384;");
      !st.ok()) {
    return st;
  }
  if (auto st = conn.exec(kSchema); !st.ok()) return st;
  auto version = conn.query_int("SELECT value FROM meta WHERE name = 'schema_version'");
  if (!version) return version.error();
  const std::int64_t v = version->value_or(0);
  if (v < 1 || v > 3) return Status::Internal("sqlite: unsupported schema version " + std::to_string(v));
  if (v < 3) {
    // 1 or 2 -> 3, in one transaction: a crash leaves the old version or the new, never a half.
    // Version-1 history rows keep their values and are read as they are.
    const std::string upgrade = std::string("BEGIN IMMEDIATE;") + kUpgradeTo3 + "COMMIT;";
    if (auto st = conn.exec(upgrade.c_str()); !st.ok()) {
      (void)conn.exec("ROLLBACK");
      return st;
    }
  }
  return conn.exec(kIndexes);
}

Result<SqliteState> LoadState(SqliteConnection& conn, bool with_keys, KeyRevisions::HashFn key_hash) {
  SqliteState state;
  state.keys = KeyRevisions(key_hash);
  auto meta_rev = conn.query_int("SELECT value FROM meta WHERE name = 'revision'");
  auto meta_compacted = conn.query_int("SELECT value FROM meta WHERE name = 'compacted'");
  auto max_history = conn.query_int("SELECT max(rev) FROM history");
  auto min_history = conn.query_int("SELECT min(rev) FROM history");
  auto max_current = conn.query_int("SELECT max(rev) FROM current");
  auto last_ts = conn.query_int("SELECT ts FROM history ORDER BY rev DESC LIMIT 1");
  for (const auto* r : {&meta_rev, &meta_compacted, &max_history, &min_history, &max_current, &last_ts}) {
    if (!*r) return Err(r->error());
  }
  // The high-water mark is written with every batch; the max() terms only guard against a file
  // written by something else.
  state.revision = std::max({meta_rev->value_or(0), max_history->value_or(0), max_current->value_or(0)});
  state.compacted = std::clamp<Revision>(meta_compacted->value_or(0), 0, state.revision);
  state.purged = min_history->has_value() ? **min_history - 1 : state.revision;
  // Everything after `compacted` must still be in history; if not, admit what is gone.
  if (state.purged > state.compacted) {
    state.compacted = state.purged;
    auto stmt = conn.prepare("UPDATE meta SET value = ?1 WHERE name = 'compacted'");
    if (!stmt) return Err(stmt.error());
    StatementScope scope(*stmt);
    sqlite3_bind_int64(*stmt, 1, state.compacted);
    if (sqlite3_step(*stmt) != SQLITE_DONE) return Err(conn.error("repair compacted revision"));
  }
  state.last_ts_millis = last_ts->value_or(0);
  if (with_keys) {
    auto stmt = conn.prepare("SELECT rowid, key, rev FROM current");
    if (!stmt) return Err(stmt.error());
    auto key_of = conn.prepare("SELECT key FROM current WHERE rowid = ?1");
    if (!key_of) return Err(key_of.error());
    StatementScope scope(*stmt);
    int rc;
    while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) {
      const auto* bytes = static_cast<const char*>(sqlite3_column_blob(*stmt, 1));
      const std::string_view key(bytes ? bytes : "", static_cast<std::size_t>(sqlite3_column_bytes(*stmt, 1)));
      const KeyRevisions::Entry entry{sqlite3_column_int64(*stmt, 2), sqlite3_column_int64(*stmt, 0)};
      std::string displaced;  // another key with the same hash, loaded before: both go by name
      if (auto holder = state.keys.hash_holder(key)) {
        StatementScope key_scope(*key_of);
        sqlite3_bind_int64(*key_of, 1, holder->rowid);
        if (sqlite3_step(*key_of) != SQLITE_ROW) return Err(conn.error("load current keys"));
        displaced = ColumnBytes(*key_of, 0);
      }
      state.keys.add(key, entry, displaced);
    }
    if (rc != SQLITE_DONE) return Err(conn.error("load current keys"));
  }
  return state;
}

}  // namespace setpoint::store
