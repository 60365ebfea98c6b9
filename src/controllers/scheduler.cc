#include "controllers/scheduler.h"

#include <map>
#include <tuple>

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

bool Gone(const Status& s) { return s.code() == StatusCode::kNotFound; }

std::string_view ControllerUid(const json::object& obj) {
  const json::object* ref = runtime::get_controller_of(obj);
  return ref ? GetStringOr(*ref, "uid", "") : std::string_view();
}

// Every key of spec.agentSelector is a label of the agent with that value.
bool SelectorMatches(const json::object& process, const json::object& agent) {
  const json::object* spec = GetObject(process, "spec");
  const json::object* selector = spec ? GetObject(*spec, "agentSelector") : nullptr;
  if (!selector || selector->empty()) return true;
  const json::object* meta = GetObject(agent, "metadata");
  const json::object* labels = meta ? GetObject(*meta, "labels") : nullptr;
  for (const auto& [key, want] : *selector) {
    const json::value* have = labels ? labels->if_contains(key) : nullptr;
    if (!have || !have->is_string() || !want.is_string() || have->get_string() != want.get_string()) return false;
  }
  return true;
}

std::int64_t Capacity(const json::object& agent) {
  const json::object* status = GetObject(agent, "status");
  const json::object* capacity = status ? GetObject(*status, "capacity") : nullptr;
  return capacity ? GetInt(*capacity, "processes").value_or(0) : 0;
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
      clock_(clock ? std::move(clock) : std::make_shared<SystemClock>()),
      processes_(manager.informers().get(kProcesses)) {}

std::vector<runtime::Request> Scheduler::unscheduled() const {
  std::vector<runtime::Request> out;
  for (const auto& p : processes_->cache().list())
    if (Unschedulable(*p)) out.push_back(runtime::RequestForObject(*p));
  return out;
}

ReconcileResult Scheduler::mark_scheduled(const json::object& process) {
  if (ScheduledTrue(process)) return ReconcileResult::Done();
  const std::string agent(AgentNameOf(process));
  const std::string message = "Assigned to agent " + agent;
  Status s = WriteStatus(manager_.client(), kProcesses, process, [&](json::object& p) {
    if (AgentNameOf(p) != agent) return false;  // someone else's business now
    bool changed =
        runtime::set_condition(MutableConditions(p), {"Scheduled", "True", "Scheduled", message, 0, {}}, clock_->now());
    json::object& status = p["status"].as_object();
    if (GetStringOr(status, "phase", "").empty()) {
      status["phase"] = "Pending";
      changed = true;
    }
    return changed;
  });
  return s.ok() ? ReconcileResult::Done() : ReconcileResult::Retry(s);
}

ReconcileResult Scheduler::reconcile(const runtime::Request& req) {
  runtime::CachedClient& client = manager_.client();
  auto got = client.get(kProcesses, req.ns, req.name);
  if (!got) return Gone(got.error()) ? ReconcileResult::Done() : ReconcileResult::Retry(got.error());
  const json::object& process = **got;
  if (runtime::deletion_requested(process)) return ReconcileResult::Done();
  if (!AgentNameOf(process).empty()) return mark_scheduled(process);

  auto agents = client.list(kAgents);
  if (!agents) return ReconcileResult::Retry(agents.error());
  auto processes = client.list(kProcesses);
  if (!processes) return ReconcileResult::Retry(processes.error());

  // What each agent runs: every bound Process that is not finished, and those of the same owner.
  const std::string_view owner = ControllerUid(process);
  struct Load {
    std::int64_t total = 0, same_owner = 0;
  };
  std::map<std::string, Load, std::less<>> load;
  for (const auto& q : *processes) {
    const std::string_view agent = AgentNameOf(*q);
    if (agent.empty() || PhaseIsFinished(ProcessPhase(*q))) continue;
    Load& l = load[std::string(agent)];
    ++l.total;
    if (!owner.empty() && ControllerUid(*q) == owner) ++l.same_owner;
  }

  int misfits[kMisfits] = {};
  std::optional<std::tuple<std::int64_t, std::int64_t, std::string>> best;  // (same owner, total, name)
  for (const auto& a : *agents) {
    const std::string name(runtime::ObjectName(*a));
    const Load l = load.count(name) ? load.find(name)->second : Load{};
    const json::object* spec = GetObject(*a, "spec");
    const bool cordoned = (spec && spec->contains("unschedulable") && spec->at("unschedulable") == true) ||
                          runtime::deletion_requested(*a);
    const std::int64_t capacity = Capacity(*a);
    if (!AgentReady(*a)) {
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
    Status s = WriteStatus(client, kProcesses, process, [&](json::object& p) {
      wrote =
          runtime::set_condition(MutableConditions(p), {"Scheduled", "False", "Unschedulable", message, 0, {}}, now);
      json::object& status = p["status"].as_object();
      if (GetStringOr(status, "phase", "") != "Pending") {
        status["phase"] = "Pending";
        wrote = true;
      }
      return wrote;
    });
    if (wrote) manager_.recorder().event(process, "Warning", "FailedScheduling", message);
    // Agents changing, and Processes leaving agents, bring it back (see BuildSchedulerController).
    return s.ok() ? ReconcileResult::Done() : ReconcileResult::Retry(s);
  }

  // Bind: conditional on the version read, so a concurrent scheduler's bind makes this one fail.
  const std::string& agent = std::get<2>(*best);
  json::object bound = process;
  EnsureObject(bound, "spec")["agentName"] = agent;
  auto r = client.update(kProcesses, req.ns, bound);
  if (!r) return Gone(r.error()) ? ReconcileResult::Done() : ReconcileResult::Retry(r.error());
  const std::string message = "Successfully assigned " + req.ns + "/" + req.name + " to " + agent;
  manager_.recorder().event(*r, "Normal", "Scheduled", message);
  Status s = WriteStatus(client, kProcesses, *r, [&](json::object& p) {
    if (AgentNameOf(p) != agent) return false;
    bool changed =
        runtime::set_condition(MutableConditions(p), {"Scheduled", "True", "Scheduled", message, 0, {}}, now);
    json::object& status = p["status"].as_object();
    if (GetStringOr(status, "phase", "").empty()) {
      status["phase"] = "Pending";
      changed = true;
    }
    return changed;
  });
  return s.ok() ? ReconcileResult::Done() : ReconcileResult::Retry(s);
}

Result<runtime::ControllerPtr> BuildSchedulerController(runtime::Manager& manager, Scheduler& scheduler) {
  runtime::Predicate needs;
  needs.create = [](const json::object& p) { return NeedsScheduler(p); };
  needs.update = [](const json::object&, const json::object& p) { return NeedsScheduler(p); };
  needs.remove = [](const json::object&) { return false; };
  auto everyone_waiting = [&scheduler](const json::object&) { return scheduler.unscheduled(); };
  return manager.controller("scheduler")
      .For(kProcesses, {needs})
      .Watches(kAgents, everyone_waiting)
      .Watches(kProcesses, everyone_waiting, {FreesCapacity()})
      .Complete(scheduler);
}

}  // namespace setpoint::controllers
