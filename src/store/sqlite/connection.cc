#include "store/sqlite/connection.h"

namespace setpoint::store {
namespace {

// How long a connection waits for a lock held by another connection before failing. Readers in
// WAL mode never wait for the writer; this covers checkpoints and a second process.
constexpr int kBusyTimeoutMillis = 5000;

}  // namespace

Result<std::unique_ptr<SqliteConnection>> SqliteConnection::Open(const std::string& path, bool create) {
  if (path.empty()) return Err(Status::Invalid("sqlite store path is empty"));
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return Err(Status::Internal("sqlite: open " + path + ": " + message));
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, kBusyTimeoutMillis);
  std::unique_ptr<SqliteConnection> conn(new SqliteConnection(db));
  // Touch the file now so that a corrupt or foreign file fails here with a clear message.
  if (auto st = conn->exec("PRAGMA synchronous=FULL; PRAGMA temp_store=MEMORY; SELECT count(*) FROM sqlite_schema;");
      !st.ok()) {
    return Err(Status::Internal(st.message() + " (" + path + ")"));
  }
  return conn;
}

SqliteConnection::~SqliteConnection() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Status SqliteConnection::exec(const char* sql) {
  char* message = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return Status::Ok();
  std::string text = message != nullptr ? message : sqlite3_errstr(rc);
  sqlite3_free(message);
  return Status::Internal("sqlite: " + std::string(sql) + ": " + text);
}

Status SqliteConnection::run(const char* sql) {
  auto stmt = prepare(sql);
  if (!stmt) return stmt.error();
  StatementScope scope(*stmt);
  int rc = SQLITE_ROW;
  while (rc == SQLITE_ROW) rc = sqlite3_step(*stmt);
  return rc == SQLITE_DONE ? Status::Ok() : error(sql);
}

Result<sqlite3_stmt*> SqliteConnection::prepare(const char* sql) {
  auto it = statements_.find(sql);
  if (it != statements_.end()) return it->second;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
    return Err(error(std::string("prepare ") + sql));
  }
  statements_.emplace(sql, stmt);
  return stmt;
}

Result<std::optional<std::int64_t>> SqliteConnection::query_int(const char* sql) {
  auto stmt = prepare(sql);
  if (!stmt) return Err(stmt.error());
  StatementScope scope(*stmt);
  int rc = sqlite3_step(*stmt);
  if (rc == SQLITE_DONE) return std::optional<std::int64_t>();
  if (rc != SQLITE_ROW) return Err(error(sql));
  if (sqlite3_column_type(*stmt, 0) == SQLITE_NULL) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(sqlite3_column_int64(*stmt, 0));
}

Result<std::string> SqliteConnection::query_text(const char* sql) {
  auto stmt = prepare(sql);
  if (!stmt) return Err(stmt.error());
  StatementScope scope(*stmt);
  int rc = sqlite3_step(*stmt);
  if (rc == SQLITE_DONE) return std::string();
  if (rc != SQLITE_ROW) return Err(error(sql));
  return ColumnBytes(*stmt, 0);
}

Status SqliteConnection::error(std::string_view what) const {
  return Status::Internal("sqlite: " + std::string(what) + ": " + sqlite3_errmsg(db_));
}

Status ReadTransaction::begin() {
  if (auto st = conn_.run("BEGIN"); !st.ok()) return st;
  open_ = true;
  return Status::Ok();
}

ReadTransaction::~ReadTransaction() {
  if (!open_) return;
  if (!conn_.run("COMMIT").ok()) (void)conn_.run("ROLLBACK");
}

}  // namespace setpoint::store
