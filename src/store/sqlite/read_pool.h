// ReadPool: read connections to one SQLite database, reused across calls.
//
// acquire() hands out an idle connection or opens a new one, so concurrent readers never wait
// for each other or (in WAL mode) for the writer; at most kMaxIdle stay open between calls.
// Thread-safe. A Lease keeps the pool alive; after close() no connection is handed out and
// returned ones are closed.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "setpoint/common/status.h"
#include "store/sqlite/connection.h"

namespace setpoint::store {

class ReadPool : public std::enable_shared_from_this<ReadPool> {
 public:
  static constexpr std::size_t kMaxIdle = 8;

  class Lease {
   public:
    Lease(std::shared_ptr<ReadPool> pool, std::unique_ptr<SqliteConnection> conn)
        : pool_(std::move(pool)), conn_(std::move(conn)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = default;
    ~Lease() {
      if (conn_) pool_->release(std::move(conn_));
    }
    SqliteConnection& operator*() const { return *conn_; }
    SqliteConnection* operator->() const { return conn_.get(); }

   private:
    std::shared_ptr<ReadPool> pool_;
    std::unique_ptr<SqliteConnection> conn_;
  };

  explicit ReadPool(std::string path) : path_(std::move(path)) {}

  // Errors: kUnavailable after close(); kInternal if a new connection cannot be opened.
  Result<Lease> acquire();
  void close();

 private:
  void release(std::unique_ptr<SqliteConnection> conn);

  const std::string path_;
  std::mutex mu_;
  bool closed_ = false;                                  // GUARDED_BY(mu_)
  std::vector<std::unique_ptr<SqliteConnection>> idle_;  // GUARDED_BY(mu_)
};

}  // namespace setpoint::store
