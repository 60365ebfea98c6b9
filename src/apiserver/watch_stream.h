// WatchStream: one client watch, as a StreamSource the transport pulls from.
//
// It drains its CacheWatcher and turns items into newline-delimited JSON watch events, reusing
// the cached object bytes (prefix, object, suffix as three buffers: no copy). It adds bookmarks
// when asked, ends at timeoutSeconds, and ends with an ERROR 410 event when the watcher fell too
// far behind (the client relists). poll() runs on the connection strand; the waker is called from
// the cache's ingestion thread. Thread-safe where the StreamSource contract needs it.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "apiserver/http.h"
#include "apiserver/resources.h"
#include "setpoint/common/clock.h"
#include "store/cache/watch_cache.h"

namespace setpoint::apiserver {

struct WatchOptions {
  bool bookmarks = false;
  std::chrono::seconds timeout{1800};
  std::chrono::seconds bookmark_period{60};
  bool table = false;
  bool include_object = true;
  bool convert_version = false;
  bool metadata_only = false;  // PartialObjectMetadata objects (kind/api_version say so)
  std::string kind;
  std::string api_version;
  std::vector<PrinterColumn> columns;
};

class WatchStream final : public StreamSource, public std::enable_shared_from_this<WatchStream> {
 public:
  // `on_close` runs once, from close(), with this stream (the handler forgets it then).
  WatchStream(std::function<void(WatchStream*)> on_close, store::WatchCache& cache, ClockPtr clock,
              WatchOptions options);
  ~WatchStream() override;

  Status start(store::Filter filter, store::WatchCache::WatchStart start);
  // Sends this error as an ERROR event and ends (used for 410 Expired at start).
  void fail_with(const Status& status);
  // Ends the stream cleanly at the next poll (server shutdown).
  void end();

  Poll poll(std::vector<SharedBytes>& out) override;
  std::chrono::steady_clock::time_point next_deadline() const override;
  void set_waker(std::function<void()> waker) override;
  void close() override;
  bool abandoned() const override { return watcher_ && watcher_->overflowed(); }

 private:
  void wake();
  std::shared_ptr<const std::string> bookmark(store::Revision rev, bool initial_end) const;
  std::shared_ptr<const std::string> error_event(const Status& status) const;
  void emit(const store::WatchItem& item, std::vector<SharedBytes>& out);

  std::function<void(WatchStream*)> on_close_;
  store::WatchCache& cache_;
  ClockPtr clock_;
  const WatchOptions options_;
  store::CacheWatcherPtr watcher_;
  std::chrono::steady_clock::time_point deadline_;
  std::chrono::steady_clock::time_point next_bookmark_;
  store::Revision last_sent_ = 0;
  bool columns_sent_ = false;
  std::vector<store::WatchItem> items_;
  std::shared_ptr<const std::string> pending_error_;
  std::atomic<bool> ended_{false};
  bool closed_ = false;
  std::mutex waker_mu_;
  std::function<void()> waker_;
  bool woken_early_ = false;
};

}  // namespace setpoint::apiserver
