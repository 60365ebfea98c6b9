// Helpers for the store tests: a temp dir per test, a recording WatchSink, waiting on a
// condition with a deadline (never a bare sleep).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "setpoint/store/store.h"
#include "testing/eventually.h"

namespace setpoint::store::testing {

inline constexpr std::chrono::seconds kDeadline{20};

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "setpoint-store-XXXXXX").string();
    char* made = ::mkdtemp(tmpl.data());
    if (made == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = made;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
    // A store opened on the directory's own path keeps its lock file beside it.
    std::filesystem::remove(path_ + ".lock", ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Polls `done` until it holds or the deadline passes (for state without a notification).
inline bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds deadline = kDeadline) {
  return test::Eventually(done, deadline, std::chrono::milliseconds(1));
}

class RecordingSink : public WatchSink {
 public:
  void on_events(std::span<const Event> events) override {
    std::unique_lock<std::mutex> lock(mu_);
    threads_.push_back(std::this_thread::get_id());
    if (closed_) after_error_ = true;
    events_.insert(events_.end(), events.begin(), events.end());
    cv_.notify_all();
  }
  void on_error(const Status& status) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) after_error_ = true;
    error_ = status;
    closed_ = true;
    cv_.notify_all();
  }

  // Waits until an event with revision >= `rev` arrived.
  bool wait_for_revision(Revision rev, std::chrono::milliseconds deadline = kDeadline) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, deadline, [&] { return !events_.empty() && events_.back().revision >= rev; });
  }
  bool wait_for_count(std::size_t n, std::chrono::milliseconds deadline = kDeadline) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, deadline, [&] { return events_.size() >= n; });
  }
  std::optional<Status> wait_for_error(std::chrono::milliseconds deadline = kDeadline) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, deadline, [&] { return error_.has_value(); });
    return error_;
  }
  std::vector<Event> events() const {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  std::vector<std::thread::id> threads() const {
    std::lock_guard<std::mutex> lock(mu_);
    return threads_;
  }
  bool called_after_error() const {
    std::lock_guard<std::mutex> lock(mu_);
    return after_error_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Event> events_;
  std::vector<std::thread::id> threads_;
  std::optional<Status> error_;
  bool closed_ = false;
  bool after_error_ = false;
};

// Every revision from after+1 to last exactly once, in order.
inline ::testing::AssertionResult Consecutive(const std::vector<Event>& events, Revision after, Revision last) {
  Revision want = after + 1;
  for (const Event& e : events) {
    if (e.revision != want) {
      return ::testing::AssertionFailure() << "expected revision " << want << ", got " << e.revision;
    }
    ++want;
  }
  if (want != last + 1) return ::testing::AssertionFailure() << "stopped at " << want - 1 << ", want " << last;
  return ::testing::AssertionSuccess();
}

inline std::string Str(const Bytes& b) { return b ? *b : std::string("<null>"); }

}  // namespace setpoint::store::testing
