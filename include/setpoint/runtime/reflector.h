// Reflector: applies a Watcher's events to a Cache — the cache's only writer — and passes on
// the resulting deltas (kube-rs `reflector`).
//
// Restarted swaps the list into the cache atomically (objects that vanished become deletes),
// Applied/Deleted update one object, Bookmark only advances the cache's resource version. The
// delta sink runs on the caller's thread (the watcher's), after the cache is updated, so a handler
// reacting to a delta always finds at least that state in the cache.
//
// Confined to one thread (the watcher's), like the watcher sink it is.
#pragma once

#include <functional>
#include <vector>

#include "setpoint/runtime/cache.h"
#include "setpoint/runtime/watcher.h"

namespace setpoint::runtime {

class Reflector {
 public:
  // `restarted` marks the deltas of a relist (called even when there are none).
  using DeltaSink = std::function<void(std::vector<CacheDelta> deltas, bool restarted)>;

  // `cache` is borrowed and must outlive the reflector. `sink` may be empty.
  Reflector(Cache& cache, DeltaSink sink) : cache_(cache), sink_(std::move(sink)) {}

  void handle(WatcherEvent event);
  // A Watcher::Sink that feeds this reflector.
  Watcher::Sink as_sink() {
    return [this](WatcherEvent e) { handle(std::move(e)); };
  }

 private:
  Cache& cache_;
  DeltaSink sink_;
};

}  // namespace setpoint::runtime
