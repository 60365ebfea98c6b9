// MemoryStore: the Store contract held entirely in memory, for tests and `--store memory`.
//
// Keeps the current key -> (value, revision) map and a deque of the retained history (every event
// after compacted_revision(), with the previous value of each key so that list(at) can rewind).
// History is trimmed on the write path (O(1) amortised per write) to history_max_events and
// history_max_age. Nothing survives the process. Thread-safe: one mutex guards the state; watch
// sinks run on the store's notifier thread (see store/watch_hub.h).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>

#include "setpoint/store/store.h"

namespace setpoint::store {

struct MemoryStoreOptions {
  // History is compacted to the tighter of the two bounds; 0 turns a bound off.
  std::chrono::seconds history_max_age{600};
  std::size_t history_max_events = 100000;
  // The clock history ages are measured with; empty means std::chrono::system_clock::now.
  // Tests inject one to age history without sleeping.
  std::function<std::chrono::system_clock::time_point()> clock;
};

StorePtr NewMemoryStore(MemoryStoreOptions options = {});

}  // namespace setpoint::store
