// SqliteConnection: one sqlite3 connection with its prepared statements cached by SQL text.
//
// Every error comes back as Status::Internal carrying SQLite's message. A connection is confined
// to one thread at a time (it is opened SQLITE_OPEN_NOMUTEX); the store hands connections between
// threads only through its pool's mutex. Private to the sqlite backend.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "setpoint/common/status.h"

namespace setpoint::store {

class SqliteConnection {
 public:
  // Opens (creating it when `create`) the database at `path` with busy_timeout set and
  // synchronous=FULL. The caller sets journal_mode and anything else.
  static Result<std::unique_ptr<SqliteConnection>> Open(const std::string& path, bool create);
  ~SqliteConnection();
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  sqlite3* db() const { return db_; }

  // Runs statements that return no rows we need (parsed each time; for setup).
  Status exec(const char* sql);
  // Runs one cached statement that returns no rows we need (BEGIN, COMMIT, ...).
  Status run(const char* sql);
  // A cached prepared statement for `sql`; reset it with a StatementScope after use.
  Result<sqlite3_stmt*> prepare(const char* sql);
  // The first column of the first row of `sql` as an integer; nullopt for no row or NULL.
  Result<std::optional<std::int64_t>> query_int(const char* sql);
  // The first column of the first row of `sql` as text (for PRAGMAs).
  Result<std::string> query_text(const char* sql);

  // Status::Internal("sqlite: <what>: <last error message>").
  Status error(std::string_view what) const;

 private:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

// Resets a cached statement and clears its bindings when the scope ends, so blobs bound with
// SQLITE_STATIC never outlive the buffers they point to.
class StatementScope {
 public:
  explicit StatementScope(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~StatementScope() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  StatementScope(const StatementScope&) = delete;
  StatementScope& operator=(const StatementScope&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

// Binds `bytes` as a BLOB without copying (the buffer must outlive the statement's use). An empty
// buffer binds a zero-length blob, never NULL.
inline int BindBlob(sqlite3_stmt* stmt, int index, std::string_view bytes) {
  static const char kEmpty = 0;
  return sqlite3_bind_blob(stmt, index, bytes.empty() ? &kEmpty : bytes.data(), static_cast<int>(bytes.size()),
                           SQLITE_STATIC);
}

inline std::string ColumnBytes(sqlite3_stmt* stmt, int column) {
  const void* data = sqlite3_column_blob(stmt, column);
  int size = sqlite3_column_bytes(stmt, column);
  if (data == nullptr || size <= 0) return {};
  return std::string(static_cast<const char*>(data), static_cast<std::size_t>(size));
}

// A read transaction: a consistent snapshot across several statements. Ends (COMMIT, or
// ROLLBACK if that fails) when the scope ends.
class ReadTransaction {
 public:
  explicit ReadTransaction(SqliteConnection& conn) : conn_(conn) {}
  Status begin();
  ~ReadTransaction();
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;

 private:
  SqliteConnection& conn_;
  bool open_ = false;
};

}  // namespace setpoint::store
