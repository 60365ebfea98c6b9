#include "controllers/agent_lifecycle.h"

#include <spdlog/spdlog.h>

#include "controllers/process_status.h"
#include "controllers/setpoint_kinds.h"
#include "setpoint/common/json.h"
#include "setpoint/runtime/cache.h"
#include "setpoint/runtime/conditions.h"
#include "setpoint/runtime/object_helpers.h"

namespace setpoint::controllers {
namespace {

namespace json = boost::json;
using runtime::ReconcileResult;
using namespace std::chrono_literals;

bool Gone(const Status& s) { return s.code() == StatusCode::kNotFound; }

constexpr std::string_view kAgentUnknownReason = "AgentStatusUnknown";
constexpr std::string_view kAgentUnknownMessage = "Agent stopped posting status.";

// When the agent counts as gone: its Lease's renewTime (else acquireTime, else creation) plus
// leaseDurationSeconds; without a Lease, the Agent's creation plus `grace`. Times before
// `started` (this controller's start) count as `started`.
WallTime Deadline(const json::object* lease, const json::object& agent, WallTime started, std::chrono::seconds grace) {
  if (lease) {
    const json::object* spec = GetObject(*lease, "spec");
    std::optional<WallTime> renewed;
    if (spec) renewed = ParseMicroTime(GetStringOr(*spec, "renewTime", ""));
    if (spec && !renewed) renewed = ParseMicroTime(GetStringOr(*spec, "acquireTime", ""));
    if (!renewed) renewed = ParseMicroTime(GetStringOr(lease->at("metadata").as_object(), "creationTimestamp", ""));
    const std::int64_t seconds = spec ? GetInt(*spec, "leaseDurationSeconds").value_or(grace.count()) : grace.count();
    return std::max(renewed.value_or(started), started) + std::chrono::seconds(seconds);
  }
  const json::object* meta = GetObject(agent, "metadata");
  auto created = meta ? ParseMicroTime(GetStringOr(*meta, "creationTimestamp", "")) : std::nullopt;
  return std::max(created.value_or(started), started) + grace;
}

bool AgentMarkedUnknown(const json::object& agent) {
  const json::object* status = GetObject(agent, "status");
  const json::array* conditions = status ? GetArray(*status, "conditions") : nullptr;
  const json::object* ready = conditions ? runtime::find_condition(*conditions, "Ready") : nullptr;
  return ready && GetStringOr(*ready, "status", "") == "Unknown" &&
         GetStringOr(*ready, "reason", "") == kAgentUnknownReason;
}

}  // namespace

AgentLifecycle::AgentLifecycle(runtime::Manager& manager, AgentLifecycleOptions options)
    : manager_(manager),
      options_(std::move(options)),
      clock_(options_.clock ? options_.clock : std::make_shared<SystemClock>()) {}

std::vector<runtime::Request> AgentLifecycle::agent_of(const json::object& process) const {
  const std::string_view agent = AgentNameOf(process);
  if (agent.empty()) return {};
  if (runtime::deletion_requested(process) && runtime::has_finalizer(process, kAgentFinalizer))
    return {runtime::Request{"", std::string(agent)}};
  if (PhaseIsFinished(ProcessPhase(process))) return {};
  std::lock_guard lock(mu_);
  if (lapsed_.count(agent) == 0) return {};
  return {runtime::Request{"", std::string(agent)}};
}

Status AgentLifecycle::release_processes(const std::string& agent, bool mark_lost) {
  runtime::CachedClient& client = manager_.client();
  auto processes = client.list(kProcesses);
  if (!processes) return processes.error();
  const WallTime now = clock_->now();
  const std::string message = "Agent " + agent + " stopped posting status.";
  Status first;
  auto keep = [&first](const Status& s) {
    if (first.ok() && !s.ok() && !Gone(s)) first = s;
  };
  for (const auto& p : *processes) {
    if (AgentNameOf(*p) != agent) continue;
    const std::string ns(runtime::ObjectNamespace(*p));
    if (runtime::deletion_requested(*p)) {
      json::object released = *p;
      if (!runtime::remove_finalizer(released, kAgentFinalizer)) continue;
      auto r = client.update(kProcesses, ns, released);
      if (r) spdlog::info("agentlifecycle: released process {}/{} of agent {}", ns, runtime::ObjectName(*p), agent);
      keep(r ? Status::Ok() : r.error());
      continue;
    }
    if (!mark_lost || PhaseIsFinished(ProcessPhase(*p))) continue;
    // Conditional on the cached version: should the agent be back and writing, this fails with a
    // Conflict and the next reconcile looks at its Lease again.
    json::object lost = *p;
    json::object& status = EnsureObject(lost, "status");
    status["phase"] = "Lost";
    status["ready"] = false;
    status["reason"] = "AgentLost";
    status["message"] = message;
    runtime::set_condition(MutableConditions(lost), {"Ready", "False", "AgentLost", message, 0, {}}, now);
    auto r = client.update_status(kProcesses, ns, lost);
    if (r) manager_.recorder().event(*p, "Warning", "AgentLost", message);
    keep(r ? Status::Ok() : r.error());
  }
  return first;
}

ReconcileResult AgentLifecycle::reconcile(const runtime::Request& req) {
  runtime::CachedClient& client = manager_.client();
  auto agent = client.get(kAgents, "", req.name);
  if (!agent && !Gone(agent.error())) return ReconcileResult::Retry(agent.error());
  if (!agent) {
    // No Agent: nothing runs its Processes' deletions but us.
    {
      std::lock_guard lock(mu_);
      lapsed_.erase(req.name);
    }
    Status s = release_processes(req.name, false);
    return s.ok() ? ReconcileResult::Done() : ReconcileResult::Retry(s);
  }
  auto lease = client.get(kLeases, kAgentLeaseNamespace, req.name);
  if (!lease && !Gone(lease.error())) return ReconcileResult::Retry(lease.error());

  const WallTime now = clock_->now();
  WallTime started;
  {
    std::lock_guard lock(mu_);
    if (!started_) started_ = now;
    started = *started_;
  }
  const auto deadline = Deadline(lease ? lease->get() : nullptr, **agent, started, options_.grace_without_lease);
  if (now < deadline) {
    {
      std::lock_guard lock(mu_);
      lapsed_.erase(req.name);
    }
    // Look again the moment it would lapse (a renewal brings an earlier, newer look).
    return ReconcileResult::RequeueAfter(std::chrono::duration_cast<runtime::Duration>(deadline - now) + 5ms);
  }
  {
    std::lock_guard lock(mu_);
    lapsed_.insert(req.name);
  }
  if (!AgentMarkedUnknown(**agent)) {
    json::object unknown = **agent;
    runtime::set_condition(
        MutableConditions(unknown),
        {"Ready", "Unknown", std::string(kAgentUnknownReason), std::string(kAgentUnknownMessage), 0, {}}, now);
    // Conditional: an agent that came back and wrote meanwhile wins; the retry re-reads its Lease.
    auto r = client.update_status(kAgents, "", unknown);
    if (!r) return Gone(r.error()) ? ReconcileResult::Done() : ReconcileResult::Retry(r.error());
    spdlog::warn("agentlifecycle: agent {} stopped posting status", req.name);
    manager_.recorder().event(**agent, "Warning", "AgentNotReady",
                              "Agent " + req.name + " stopped posting status; its processes are Lost");
  }
  Status s = release_processes(req.name, true);
  return s.ok() ? ReconcileResult::Done() : ReconcileResult::Retry(s);
}

Result<runtime::ControllerPtr> BuildAgentLifecycleController(runtime::Manager& manager, AgentLifecycle& lifecycle) {
  manager.set_cache_options(kLeases, {.ns = std::string(kAgentLeaseNamespace)});
  auto lease_to_agent = [](const json::object& lease) -> std::vector<runtime::Request> {
    if (runtime::ObjectNamespace(lease) != kAgentLeaseNamespace) return {};
    return {runtime::Request{"", std::string(runtime::ObjectName(lease))}};
  };
  auto process_to_agent = [&lifecycle](const json::object& p) { return lifecycle.agent_of(p); };
  return manager.controller("agentlifecycle")
      .For(kAgents)
      .Watches(kLeases, lease_to_agent)
      .Watches(kProcesses, process_to_agent)
      .WithMaxConcurrentReconciles(2)
      .Complete(lifecycle);
}

}  // namespace setpoint::controllers
