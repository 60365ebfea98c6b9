// Eventually: the one way tests wait for state that changes without a notification they can
// block on (a server applying a write, an operator catching up). It re-checks a condition until
// it holds or a deadline passes; the poll interval is never a synchronisation point, only how
// often the condition is looked at. Part of the SDK's test kit, for operator tests too.
// Header-only; thread-compatible.
#pragma once

#include <chrono>
#include <thread>

namespace setpoint::testing {

// True as soon as `done()` holds; false if it still does not at `deadline`.
template <typename F>
bool Eventually(F&& done, std::chrono::milliseconds deadline = std::chrono::seconds(10),
                std::chrono::milliseconds poll = std::chrono::milliseconds(5)) {
  auto end = std::chrono::steady_clock::now() + deadline;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= end) return done();
    std::this_thread::sleep_for(poll);
  }
  return true;
}

// True if `happened()` stays false for the whole `window`: for asserting that something does
// NOT happen, where waiting out a window is the only evidence.
template <typename F>
bool StaysFalse(F&& happened, std::chrono::milliseconds window,
                std::chrono::milliseconds poll = std::chrono::milliseconds(2)) {
  return !Eventually(happened, window, poll);
}

}  // namespace setpoint::testing
