#include "setpoint/runtime/reflector.h"

namespace setpoint::runtime {

void Reflector::handle(WatcherEvent event) {
  std::vector<CacheDelta> deltas;
  const bool restarted = event.kind == WatcherEvent::Kind::kRestarted;
  switch (event.kind) {
    case WatcherEvent::Kind::kRestarted:
      deltas = cache_.replace(std::move(event.objects), std::move(event.resource_version));
      break;
    case WatcherEvent::Kind::kApplied:
      deltas = cache_.apply(std::move(event.object), std::move(event.resource_version));
      break;
    case WatcherEvent::Kind::kDeleted:
      deltas = cache_.remove(std::move(event.object), std::move(event.resource_version));
      break;
    case WatcherEvent::Kind::kBookmark:
      cache_.bookmark(std::move(event.resource_version));
      return;
  }
  if (sink_ && (restarted || !deltas.empty())) sink_(std::move(deltas), restarted);
}

}  // namespace setpoint::runtime
