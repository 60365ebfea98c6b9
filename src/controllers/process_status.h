// What the scheduler, the agent-lifecycle and the processset controllers read from and write to
// Process and Agent objects (docs/design/agent.md): phases, readiness, and status writes that
// survive a concurrent writer. Stateless free functions; thread-compatible.
#pragma once

#include <boost/json/object.hpp>
#include <functional>
#include <optional>
#include <string_view>

#include "setpoint/client/dynamic_client.h"
#include "setpoint/common/clock.h"
#include "setpoint/common/status.h"
#include "setpoint/runtime/cached_client.h"
#include "setpoint/runtime/client.h"

namespace setpoint::controllers {

// status.phase, or "" when none was written.
std::string_view ProcessPhase(const boost::json::object& process);
// Succeeded, Failed or Lost: the Process no longer runs anything (and holds no agent capacity).
bool PhaseIsFinished(std::string_view phase);
// spec.agentName, or "".
std::string_view AgentNameOf(const boost::json::object& process);
// Applies `mutate` to a copy of `obj` and, when it reports a change, writes it through the status
// subresource with obj's resourceVersion. On Conflict it reads the object again from the server
// and repeats (a few times): another writer (the agent) may have written in between, and its
// fields must be kept. Ok when nothing needed writing or the object is gone.
template <types::Resource T>
Status WriteStatus(runtime::CachedClient& client, const T& obj, const std::function<bool(T&)>& mutate) {
  const runtime::Client cached(client);
  runtime::DirectClient direct(client.uncached());
  T current = obj;
  for (int attempt = 0;; ++attempt) {
    T updated = current;
    if (!mutate(updated)) return Status::Ok();
    auto r = cached.update_status(updated);
    if (r || r.error().code() == StatusCode::kNotFound) return Status::Ok();
    if (r.error().code() != StatusCode::kConflict || attempt >= 3) return r.error();
    auto fresh = runtime::Client(direct).get<T>(obj.metadata.namespace_, obj.metadata.name);
    if (!fresh) return fresh.error().code() == StatusCode::kNotFound ? Status::Ok() : fresh.error();
    current = std::move(*fresh);
  }
}

// A Kubernetes MicroTime or Time ("2026-01-02T03:04:05.123456Z"), fractions kept.
std::optional<WallTime> ParseMicroTime(std::string_view s);

}  // namespace setpoint::controllers
