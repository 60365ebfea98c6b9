#include "controllers/scheduler.h"

#include <map>
#include <tuple>

#include "controllers/process_status.h"
#include "controllers/setpoint_kinds.h"
#include "setpoint/common/json.h"
#include "setpoint/runtime/cache.h"
#include "setpoint/runtime/conditions.h"
#include "setpoint/runtime/object_helpers.h"
#include "setpoint/types/setpoint_v1alpha1.h"

namespace setpoint::controllers {
namespace {

namespace json = boost::json;
using runtime::ReconcileResult;

bool Gone(const Status& s) { return s.code() == StatusCode::kNotFound; }

using setpointv1alpha1::Agent;
using setpointv1alpha1::Process;

std::string_view ControllerUid(const Process& p) {
  const types::OwnerReference* ref = p.metadata.controller_ref();
  return ref ? std::string_view(ref->uid) : std::string_view();
}

// Every key of spec.agentSelector is a label of the agent with that value.
bool SelectorMatches(const Process& process, const Agent& agent) {
  for (const auto& [key, want] : process.spec.agentSelector) {
    auto have = agent.metadata.labels.find(key);
    if (have == agent.metadata.labels.end() || have->second != want) return false;
  }
  return true;
}

bool Unschedulable(const json::object& process) {
  return AgentNameOf(process).empty() && !runtime::deletion_requested(process);
}

bool ScheduledTrue(const json::object& process) {
  const json::object* status = GetObject(process, "status");
  const json::array* conditions = status ? GetArray(*status, "conditions") : nullptr;
  return conditions && runtime::is_true(*conditions, "Scheduled");
}

// Events worth a reconcile: a Process waiting for an agent, or bound without Scheduled=True.
bool NeedsScheduler(const json::object& process) {
  return !runtime::deletion_requested(process) && (AgentNameOf(process).empty() || !ScheduledTrue(process));
}

// A bound Process that stops occupying its agent makes room for the waiting ones.
runtime::Predicate FreesCapacity() {
  runtime::Predicate p;
  p.create = [](const json::object&) { return false; };
  p.update = [](const json::object& old_obj, const json::object& new_obj) {
    return !AgentNameOf(old_obj).empty() && !PhaseIsFinished(ProcessPhase(old_obj)) &&
           PhaseIsFinished(ProcessPhase(new_obj));
  };
  p.remove = [](const json::object& obj) { return !AgentNameOf(obj).empty(); };
  return p;
}

// Why an agent was passed over, in the order the message lists them.
enum Misfit { kNotReady, kCordoned, kSelector, kFull, kMisfits };
constexpr const char* kMisfitText[kMisfits] = {"not ready", "unschedulable", "didn't match agent selector", "full"};

std::string UnschedulableMessage(std::size_t agents, const int (&count)[kMisfits]) {
  std::string m = "0/" + std::to_string(agents) + " agents are available";
  if (agents == 0) return m + ": no agents are registered.";
  std::string parts;
  for (int i = 0; i < kMisfits; ++i)
    if (count[i] > 0) parts += (parts.empty() ? "" : ", ") + std::to_string(count[i]) + " " + kMisfitText[i];
  return m + ": " + parts + ".";
}

}  // namespace

Scheduler::Scheduler(runtime::Manager& manager, ClockPtr clock)
    : manager_(manager),
      clock_(clock ? std::move(clock) : manager.env()->wall()),
      processes_(manager.informers().get(kProcesses)) {}

std::vector<runtime::Request> Scheduler::unscheduled() const {
  std::vector<runtime::Request> out;
  for (const auto& p : processes_->cache().list())
    if (Unschedulable(*p)) out.push_back(runtime::RequestForObject(*p));
  return out;
}

// Scheduled=True for the agent it is bound to (and phase Pending when it has none yet).
bool MarkScheduled(Process& p, const std::string& agent, const std::string& message, WallTime now) {
  if (p.spec.agentName != agent) return false;  // someone else's business now
  bool changed = types::SetCondition(p.status.conditions, {"Scheduled", "True", 0, "", "Scheduled", message}, now);
  if (p.status.phase.empty()) {
    p.status.phase = "Pending";
    changed = true;
  }
  return changed;
}

ReconcileResult Scheduler::mark_scheduled(const Process& process) {
  if (types::IsConditionTrue(process.status.conditions, "Scheduled")) return ReconcileResult::Done();
  const std::string agent = process.spec.agentName;
  const std::string message = "Assigned to agent " + agent;
  Status s = WriteStatus<Process>(manager_.client(), process,
                                  [&](Process& p) { return MarkScheduled(p, agent, message, clock_->now()); });
  return s.ok() ? ReconcileResult::Done() : ReconcileResult::Retry(s);
}

ReconcileResult Scheduler::reconcile(const runtime::Context& ctx, const runtime::Request& req) {
  auto got = ctx.client.view<Process>(req);
  if (!got) return Gone(got.error()) ? ReconcileResult::Done() : ReconcileResult::Retry(got.error());
  const Process& process = **got;
  if (process.metadata.being_deleted()) return ReconcileResult::Done();
  if (!process.spec.agentName.empty()) return mark_scheduled(process);

  auto agents = ctx.client.view_list<Agent>();
  if (!agents) return ReconcileResult::Retry(agents.error());
  auto processes = ctx.client.view_list<Process>();
  if (!processes) return ReconcileResult::Retry(processes.error());

  // What each agent runs: every bound Process that is not finished, and those of the same owner.
  const std::string_view owner = ControllerUid(process);
  struct Load {
    std::int64_t total = 0, same_owner = 0;
  };
  std::map<std::string, Load, std::less<>> load;
  for (const auto& q : *processes) {
    if (q->spec.agentName.empty() || PhaseIsFinished(q->status.phase)) continue;
    Load& l = load[q->spec.agentName];
    ++l.total;
    if (!owner.empty() && ControllerUid(*q) == owner) ++l.same_owner;
  }

  int misfits[kMisfits] = {};
  std::optional<std::tuple<std::int64_t, std::int64_t, std::string>> best;  // (same owner, total, name)
  for (const auto& a : *agents) {
    const std::string& name = a->metadata.name;
    const Load l = load.count(name) ? load.find(name)->second : Load{};
    const bool cordoned = a->spec.unschedulable || a->metadata.being_deleted();
    const std::int64_t capacity = a->status.capacity.processes.value_or(0);
    if (!types::IsConditionTrue(a->status.conditions, "Ready")) {
      ++misfits[kNotReady];
    } else if (cordoned) {
      ++misfits[kCordoned];
    } else if (!SelectorMatches(process, *a)) {
      ++misfits[kSelector];
    } else if (capacity > 0 && l.total >= capacity) {
      ++misfits[kFull];
    } else {
      auto key = std::make_tuple(l.same_owner, l.total, name);
      if (!best || key < *best) best = std::move(key);
    }
  }

  const WallTime now = clock_->now();
  if (!best) {
    const std::string message = UnschedulableMessage(agents->size(), misfits);
    bool wrote = false;
    Status s = WriteStatus<Process>(manager_.client(), process, [&](Process& p) {
      wrote = types::SetCondition(p.status.conditions, {"Scheduled", "False", 0, "", "Unschedulable", message}, now);
      if (p.status.phase != "Pending") {
        p.status.phase = "Pending";
        wrote = true;
      }
      return wrote;
    });
    if (wrote) ctx.event(process, "Warning", "FailedScheduling", message);
    // Agents changing, and Processes leaving agents, bring it back (see BuildSchedulerController).
    return s.ok() ? ReconcileResult::Done() : ReconcileResult::Retry(s);
  }

  // Bind: conditional on the version read, so a concurrent scheduler's bind makes this one fail.
  const std::string& agent = std::get<2>(*best);
  Process bound = process;
  bound.spec.agentName = agent;
  auto r = ctx.client.update(bound);
  if (!r) return Gone(r.error()) ? ReconcileResult::Done() : ReconcileResult::Retry(r.error());
  const std::string message = "Successfully assigned " + req.ns + "/" + req.name + " to " + agent;
  ctx.event(*r, "Normal", "Scheduled", message);
  Status s =
      WriteStatus<Process>(manager_.client(), *r, [&](Process& p) { return MarkScheduled(p, agent, message, now); });
  return s.ok() ? ReconcileResult::Done() : ReconcileResult::Retry(s);
}

Result<runtime::ControllerPtr> BuildSchedulerController(runtime::Manager& manager, Scheduler& scheduler) {
  runtime::Predicate needs;
  needs.create = [](const json::object& p) { return NeedsScheduler(p); };
  needs.update = [](const json::object&, const json::object& p) { return NeedsScheduler(p); };
  needs.remove = [](const json::object&) { return false; };
  auto everyone_waiting = [&scheduler](const json::object&) { return scheduler.unscheduled(); };
  return manager.controller("scheduler")
      .For<Process>({needs})
      .Watches<Agent>(everyone_waiting)
      .Watches<Process>(everyone_waiting, {FreesCapacity()})
      .Complete([&scheduler](const runtime::Context& ctx, const runtime::Request& req) {
        return scheduler.reconcile(ctx, req);
      });
}

}  // namespace setpoint::controllers
