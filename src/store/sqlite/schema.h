// The sqlite store's tables and the state recovered from them at open.
//
//   meta(name TEXT PRIMARY KEY, value INTEGER)   'revision' (high-water mark), 'compacted',
//                                                 'schema_version'
//   current(key BLOB NOT NULL, rev, value)         the newest value of every live key; no index
//                                                 on key: the writer finds rows by rowid
//                                                 (KeyRevisions), readers scan
//   history(rev INTEGER PRIMARY KEY, ts, op, prev_rev, key, value, prev_value)
//                                                 one row per write; op 0 create, 1 update,
//                                                 2 delete; prev_rev: the key's previous write
//   history_successor ON history(prev_rev) WHERE prev_rev > 0
//   current_rev ON current(rev)
//
// Schema version 3 drops `current`'s key index (version 2 had key as PRIMARY KEY): inserting
// random keys into that B-tree was most of SQLite's work per create. Readers that need a key
// scan `current` (the server reads through its watch cache; only lists and tools read here).
//
// Each value is stored once (since version 2). A create or update row leaves `value` NULL: the
// value it wrote is in `current` while it is the newest, and afterwards in its successor's row
// (the row whose prev_rev is its rev): an update's prev_value (copied from `current` when it
// replaced it) or a delete's value (the deleted value). Version-1 rows, which carry their value,
// are read as they are. Opening a version-1 or -2 file adds the index, copies `current` into its
// version-3 shape and sets version 3, in one transaction. Purging history by revision keeps all
// this whole: a row's successor has a higher revision.
//
// See docs/design/store.md for the invariants. Stateless functions; the caller owns the connection.
#pragma once

#include <cstdint>
#include <string>

#include "setpoint/common/status.h"
#include "setpoint/store/store.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/key_revisions.h"

namespace setpoint::store {

enum class HistoryOp : int { kCreate = 0, kUpdate = 1, kDelete = 2 };

struct SqliteState {
  Revision revision = 0;            // newest revision ever assigned (never reused)
  Revision compacted = 0;           // list/watch accept revisions >= this
  Revision purged = 0;              // history rows <= this are physically gone (purged <= compacted)
  std::int64_t last_ts_millis = 0;  // commit time of the newest history row
  KeyRevisions keys;                // current key -> mod revision
};

// Puts a writer connection in WAL mode with automatic checkpoints off and creates the tables.
Status PrepareWriter(SqliteConnection& conn);

// Reads the state a writer resumes from; `with_keys` also loads every current key, hashed with
// `key_hash` (null: the real hash; see KeyRevisions).
Result<SqliteState> LoadState(SqliteConnection& conn, bool with_keys, KeyRevisions::HashFn key_hash = nullptr);

}  // namespace setpoint::store
