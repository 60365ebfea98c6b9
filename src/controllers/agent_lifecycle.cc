#include "controllers/agent_lifecycle.h"

#include <spdlog/spdlog.h>

#include "controllers/process_status.h"
#include "controllers/setpoint_kinds.h"
#include "setpoint/common/json.h"
#include "setpoint/runtime/cache.h"
#include "setpoint/runtime/object_helpers.h"
#include "setpoint/types/coordination_v1.h"
#include "setpoint/types/setpoint_v1alpha1.h"

namespace setpoint::controllers {
namespace {

namespace json = boost::json;
using runtime::ReconcileResult;
using namespace std::chrono_literals;

using coordinationv1::Lease;
using setpointv1alpha1::Agent;
using setpointv1alpha1::Process;

bool Gone(const Status& s) { return s.code() == StatusCode::kNotFound; }

constexpr std::string_view kAgentUnknownReason = "AgentStatusUnknown";
constexpr std::string_view kAgentUnknownMessage = "Agent stopped posting status.";

// When the agent counts as gone: its Lease's renewTime (else acquireTime, else creation) plus
// leaseDurationSeconds; without a Lease, the Agent's creation plus `grace`. Times before
// `started` (this controller's start) count as `started`.
WallTime Deadline(const Lease* lease, const Agent& agent, WallTime started, std::chrono::seconds grace) {
  if (lease) {
    std::optional<WallTime> renewed;
    if (lease->spec.renewTime) renewed = ParseMicroTime(*lease->spec.renewTime);
    if (!renewed && lease->spec.acquireTime) renewed = ParseMicroTime(*lease->spec.acquireTime);
    if (!renewed) renewed = ParseMicroTime(lease->metadata.creationTimestamp);
    const std::int64_t seconds = lease->spec.leaseDurationSeconds.value_or(static_cast<std::int32_t>(grace.count()));
    return std::max(renewed.value_or(started), started) + std::chrono::seconds(seconds);
  }
  const auto created = ParseMicroTime(agent.metadata.creationTimestamp);
  return std::max(created.value_or(started), started) + grace;
}

bool AgentMarkedUnknown(const Agent& agent) {
  const types::Condition* ready = types::FindCondition(agent.status.conditions, "Ready");
  return ready && ready->status == "Unknown" && ready->reason == kAgentUnknownReason;
}

bool Finished(const Process& p) { return PhaseIsFinished(p.status.phase); }

}  // namespace

AgentLifecycle::AgentLifecycle(AgentLifecycleOptions options)
    : options_(std::move(options)), clock_(options_.clock ? options_.clock : std::make_shared<SystemClock>()) {}

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

Status AgentLifecycle::release_processes(const runtime::Context& ctx, const std::string& agent, bool mark_lost) {
  auto processes = ctx.client.view_list<Process>();
  if (!processes) return processes.error();
  const WallTime now = clock_->now();
  const std::string message = "Agent " + agent + " stopped posting status.";
  Status first;
  auto keep = [&first](const Status& s) {
    if (first.ok() && !s.ok() && !Gone(s)) first = s;
  };
  for (const auto& p : *processes) {
    if (p->spec.agentName != agent) continue;
    if (p->metadata.being_deleted()) {
      Process released = *p;
      if (!released.metadata.remove_finalizer(kAgentFinalizer)) continue;
      auto r = ctx.client.update(released);
      if (r)
        spdlog::info("agentlifecycle: released process {}/{} of agent {}", p->metadata.namespace_, p->metadata.name,
                     agent);
      keep(r ? Status::Ok() : r.error());
      continue;
    }
    if (!mark_lost || Finished(*p)) continue;
    // Conditional on the cached version: should the agent be back and writing, this fails with a
    // Conflict and the next reconcile looks at its Lease again.
    Process lost = *p;
    lost.status.phase = "Lost";
    lost.status.ready = false;
    lost.status.reason = "AgentLost";
    lost.status.message = message;
    types::SetCondition(lost.status.conditions, {"Ready", "False", 0, "", "AgentLost", message}, now);
    auto r = ctx.client.update_status(lost);
    if (r) ctx.event(*p, "Warning", "AgentLost", message);
    keep(r ? Status::Ok() : r.error());
  }
  return first;
}

ReconcileResult AgentLifecycle::reconcile(const runtime::Context& ctx, const runtime::Request& req) {
  auto agent = ctx.client.view<Agent>(req);
  if (!agent && !Gone(agent.error())) return ReconcileResult::Retry(agent.error());
  if (!agent) {
    // No Agent: nothing runs its Processes' deletions but us.
    {
      std::lock_guard lock(mu_);
      lapsed_.erase(req.name);
    }
    Status s = release_processes(ctx, req.name, false);
    return s.ok() ? ReconcileResult::Done() : ReconcileResult::Retry(s);
  }
  auto lease = ctx.client.view<Lease>(kAgentLeaseNamespace, req.name);
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
    Agent unknown = **agent;
    types::SetCondition(
        unknown.status.conditions,
        {"Ready", "Unknown", 0, "", std::string(kAgentUnknownReason), std::string(kAgentUnknownMessage)}, now);
    // Conditional: an agent that came back and wrote meanwhile wins; the retry re-reads its Lease.
    auto r = ctx.client.update_status(unknown);
    if (!r) return Gone(r.error()) ? ReconcileResult::Done() : ReconcileResult::Retry(r.error());
    spdlog::warn("agentlifecycle: agent {} stopped posting status", req.name);
    ctx.event(**agent, "Warning", "AgentNotReady",
              "Agent " + req.name + " stopped posting status; its processes are Lost");
  }
  Status s = release_processes(ctx, req.name, true);
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
      .For<Agent>()
      .Watches<Lease>(lease_to_agent)
      .Watches<Process>(process_to_agent)
      .WithMaxConcurrentReconciles(2)
      .Complete([&lifecycle](const runtime::Context& ctx, const runtime::Request& req) {
        return lifecycle.reconcile(ctx, req);
      });
}

}  // namespace setpoint::controllers
