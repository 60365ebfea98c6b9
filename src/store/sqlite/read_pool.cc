#include "store/sqlite/read_pool.h"

#include "store/backend_support.h"

namespace setpoint::store {

Result<ReadPool::Lease> ReadPool::acquire() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return Err(StoreClosed());
    if (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      return Lease(shared_from_this(), std::move(conn));
    }
  }
  auto conn = SqliteConnection::Open(path_, /*create=*/false);
  if (!conn) return Err(conn.error());
  return Lease(shared_from_this(), std::move(*conn));
}

void ReadPool::release(std::unique_ptr<SqliteConnection> conn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!closed_ && idle_.size() < kMaxIdle) {
      idle_.push_back(std::move(conn));
      return;
    }
  }
  conn.reset();  // closed outside the lock
}

void ReadPool::close() {
  std::vector<std::unique_ptr<SqliteConnection>> closing;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    closing.swap(idle_);
  }
}

}  // namespace setpoint::store
