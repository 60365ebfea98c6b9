#include "agent/process_status.h"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "agent/agent_impl.h"
#include "agent/kinds.h"
#include "setpoint/common/clock.h"
#include "setpoint/common/json.h"
#include "setpoint/runtime/conditions.h"

namespace setpoint::agent {

namespace json = boost::json;

std::string PhaseOf(const Supervised& s) {
  if (s.deleting) return "Terminating";
  if (!s.invalid.empty()) return "Failed";
  switch (s.machine->state()) {
    case MachineState::kFailed:
      return "Failed";
    case MachineState::kSucceeded:
      return "Succeeded";
    case MachineState::kBackoff:
      return "BackOff";
    default:
      break;
  }
  const RunningEpoch* e = s.newest();
  if (e && e->ready && !e->draining) return "Running";
  return "Starting";
}

json::object BuildStatus(const Supervised& s, const std::string& agent, WallTime now) {
  const std::string phase = PhaseOf(s);
  const RunningEpoch* newest = s.newest();
  const bool ready = phase == "Running";
  json::object st;
  st["phase"] = phase;
  st["agent"] = agent;
  st["restartCount"] = s.restarts;
  st["ready"] = ready;
  st["pid"] = newest ? json::value(newest->id.pid) : json::value(nullptr);
  st["epoch"] = newest ? json::value(newest->number) : json::value(nullptr);
  st["startTime"] = newest ? json::value(FormatRfc3339(newest->started_wall)) : json::value(nullptr);
  std::int64_t generation = Generation(s.object);
  st["observedGeneration"] = newest ? newest->generation : generation;
  json::array ports;
  for (const auto& p : s.ports) ports.push_back({{"name", p.name}, {"port", p.port}, {"address", p.address}});
  st["ports"] = std::move(ports);
  json::array epochs;
  for (const auto& [n, e] : s.epochs)
    epochs.push_back({{"epoch", n},
                      {"pid", e.id.pid},
                      {"state", e.draining ? "Draining"
                                : e.ready  ? "Ready"
                                           : "Starting"},
                      {"ready", e.ready},
                      {"startTime", FormatRfc3339(e.started_wall)},
                      {"generation", e.generation}});
  st["epochs"] = std::move(epochs);
  if (s.last_termination) {
    const auto& t = *s.last_termination;
    json::object lt{
        {"epoch", t.epoch}, {"reason", t.reason}, {"message", t.message}, {"finishedAt", FormatRfc3339(t.finished)}};
    lt["exitCode"] = t.exit_code >= 0 ? json::value(t.exit_code) : json::value(nullptr);
    lt["signal"] = t.signal ? json::value(t.signal) : json::value(nullptr);
    st["lastTermination"] = std::move(lt);
  } else {
    st["lastTermination"] = nullptr;
  }
  std::string reason = s.reason, message = s.message;
  if (!s.invalid.empty()) {
    reason = "InvalidSpec";
    message = s.invalid;
  } else if (phase == "Running") {
    reason = "Running";
    message.clear();
  } else if (phase == "Starting" && newest) {
    reason = "Starting";
    message = newest->readiness.last_message.empty() ? "" : "readiness probe: " + newest->readiness.last_message;
  } else if (phase == "Terminating") {
    reason = "Terminating";
  }
  st["reason"] = reason;
  st["message"] = message;

  json::array conditions;
  if (const json::object* old = GetObject(s.object, "status"))
    if (const json::array* c = GetArray(*old, "conditions")) conditions = *c;
  runtime::Condition c;
  c.type = "Ready";
  c.status = ready ? "True" : "False";
  c.reason = ready ? "Ready" : (reason.empty() ? "NotReady" : reason);
  if (!runtime::is_valid_condition_reason(c.reason)) c.reason = "NotReady";
  c.message = ready ? "the newest epoch passes its readiness checks" : message;
  c.observed_generation = generation;
  runtime::set_condition(conditions, c, now);
  if (s.flooding) {
    runtime::Condition f{"LogFlood",
                         *s.flooding ? "True" : "False",
                         *s.flooding ? "OutputFlood" : "OutputCalm",
                         *s.flooding ? "the process writes faster than its log may grow; older output is dropped" : "",
                         generation,
                         std::nullopt};
    runtime::set_condition(conditions, f, now);
  }
  st["conditions"] = std::move(conditions);
  return st;
}

void AgentImpl::flush_statuses() {
  const auto now = std::chrono::system_clock::now();
  for (auto& [uid, s] : sups_) {
    if (!s.dirty || !s.has_object) continue;
    s.dirty = false;
    std::string body = json::serialize(json::object{{"status", BuildStatus(s, options_.name, now)}});
    if (body == s.last_status) continue;
    s.last_status = body;
    {
      std::lock_guard lock(write_mu_);
      pending_writes_[uid] = {s.key(), std::move(body)};
    }
    write_cv_.notify_one();
  }
}

// Sends statuses, newest per process wins; a failed write is retried unless a newer one replaced it.
void AgentImpl::writer(std::stop_token st) {
  for (;;) {
    std::map<std::string, std::pair<std::string, std::string>> batch;
    {
      std::unique_lock lock(write_mu_);
      write_cv_.wait(lock, st, [&] { return !pending_writes_.empty(); });
      if (st.stop_requested()) return;
      batch.swap(pending_writes_);
    }
    bool failed = false;
    for (auto& [uid, item] : batch) {
      const auto slash = item.first.find('/');
      auto r = api_.patch(kProcesses, item.first.substr(0, slash), item.first.substr(slash + 1),
                          client::PatchType::kMerge, item.second, "status");
      if (r || r.error().code() == StatusCode::kNotFound) continue;
      spdlog::warn("agent {}: status of {}: {}", options_.name, item.first, r.error().to_string());
      failed = true;
      std::lock_guard lock(write_mu_);
      pending_writes_.try_emplace(uid, std::move(item));
    }
    if (failed) {
      std::unique_lock lock(write_mu_);
      write_cv_.wait_for(lock, st, std::chrono::milliseconds(500), [] { return false; });
    }
  }
}

Result<LogSource> AgentImpl::resolve_log(const LogQuery& q) {
  std::lock_guard lock(logs_mu_);
  auto it = logs_.find(q.ns + "/" + q.name);
  if (it == logs_.end())
    return Err(Status::NotFound("process \"" + q.name + "\" in namespace \"" + q.ns + "\" has no logs on agent \"" +
                                options_.name + "\""));
  const LogEntry& e = it->second;
  int epoch = q.epoch.value_or(e.newest);
  if (epoch < 0) return Err(Status::NotFound("process \"" + q.name + "\" has not started yet"));
  LogSource src;
  src.path = e.dir + "/logs/" + std::to_string(epoch) + ".log";
  const std::string key = it->first;
  src.alive = [this, key, epoch] {
    std::lock_guard lock(logs_mu_);
    auto l = logs_.find(key);
    return l != logs_.end() && l->second.running.count(epoch) > 0;
  };
  return src;
}

}  // namespace setpoint::agent
