// StopSignals: SIGINT and SIGTERM as a std::stop_token, which is how an operator's main() stops
// its Manager:
//
//   int main() {
//     setpoint::runtime::StopSignals signals;  // first, before any thread starts
//     ...
//     Status s = manager.run(signals.token());  // returns after Ctrl-C / SIGTERM
//   }
//
// The constructor blocks both signals in the calling thread — every thread started afterwards
// inherits the mask, so none of them is interrupted — and starts one thread that waits for them.
// The destructor ends that thread, signal or not, so main() can return normally on any path.
// One per process. token(), signalled() and signal() are thread-safe.
#pragma once

#include <atomic>
#include <stop_token>
#include <thread>

namespace setpoint::runtime {

class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // Stop is requested when SIGINT or SIGTERM arrives.
  std::stop_token token() const { return source_.get_token(); }
  bool signalled() const { return signal_.load() != 0; }
  int signal() const { return signal_.load(); }  // which one (0: none yet)

 private:
  std::stop_source source_;
  std::atomic<int> signal_{0};
  std::atomic<bool> closing_{false};
  std::thread waiter_;
};

}  // namespace setpoint::runtime
