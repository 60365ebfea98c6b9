#include "agent/heartbeat.h"

#include <unistd.h>

#include <condition_variable>
#include <mutex>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "agent/kinds.h"
#include "agent/os_process.h"
#include "setpoint/common/clock.h"
#include "setpoint/common/json.h"
#include "setpoint/runtime/conditions.h"

namespace setpoint::agent {

namespace json = boost::json;

namespace {

std::string Hostname() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

std::string MicroTime(WallTime t) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(us % 1000000));
  return buf;
}

}  // namespace

Heartbeat::Heartbeat(client::DynamicClient& api, const AgentOptions& options, std::string endpoint_address,
                     unsigned short log_port, std::function<int()> processes)
    : api_(api),
      options_(options),
      endpoint_address_(std::move(endpoint_address)),
      log_port_(log_port),
      processes_(std::move(processes)) {}

void Heartbeat::run(std::stop_token stop) {
  const auto period = std::max<std::chrono::milliseconds>(
      std::chrono::milliseconds(250),
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.lease_duration) / 4);
  std::mutex mu;
  std::condition_variable_any cv;
  while (!stop.stop_requested()) {
    if (Status s = beat(); !s.ok()) spdlog::warn("agent {}: heartbeat: {}", options_.name, s.to_string());
    std::unique_lock lock(mu);
    cv.wait_for(lock, stop, period, [] { return false; });
  }
}

Status Heartbeat::beat() {
  if (Status s = ensure_agent(); !s.ok()) return s;
  return renew_lease();
}

Status Heartbeat::ensure_agent() {
  auto current = api_.get(kAgents, "", options_.name);
  if (!current && current.error().code() != StatusCode::kNotFound) return current.error();
  if (!current) {
    json::object labels;
    for (const auto& [k, v] : options_.labels) labels[k] = v;
    json::object agent{{"apiVersion", "setpoint.dev/v1alpha1"},
                       {"kind", "Agent"},
                       {"metadata", {{"name", options_.name}, {"labels", std::move(labels)}}},
                       {"spec", json::object{}}};
    auto created = api_.create(kAgents, "", agent);
    if (!created) return created.error();
    current = std::move(created);
    reported_processes_ = -1;
    reported_ready_ = false;
  } else if (!options_.labels.empty()) {
    // Labels the agent was started with win over edits (as kubelet --node-labels).
    json::object labels;
    const json::object* meta = GetObject(*current, "metadata");
    const json::object* have = meta ? GetObject(*meta, "labels") : nullptr;
    for (const auto& [k, v] : options_.labels)
      if (!have || GetStringOr(*have, k, "\x01") != v) labels[k] = v;
    if (!labels.empty()) {
      auto patched = api_.patch(kAgents, "", options_.name, client::PatchType::kMerge,
                                json::serialize(json::object{{"metadata", {{"labels", std::move(labels)}}}}));
      if (!patched) return patched.error();
      current = std::move(patched);
    }
  }
  json::array conditions;
  if (const json::object* st = GetObject(*current, "status"))
    if (const json::array* c = GetArray(*st, "conditions")) conditions = *c;
  const bool ready_now = runtime::is_true(conditions, "Ready");
  const int processes = processes_();
  if (ready_now && reported_ready_ && processes == reported_processes_) return Status::Ok();
  runtime::Condition ready{"Ready", "True", "AgentReady", "agent is posting ready status", 0, std::nullopt};
  runtime::set_condition(conditions, ready, std::chrono::system_clock::now());
  json::object status{
      {"capacity", {{"processes", options_.capacity}}},
      {"processes", processes},
      {"addresses", json::array{json::object{{"type", "Hostname"}, {"address", Hostname()}},
                                json::object{{"type", "InternalIP"}, {"address", endpoint_address_}}}},
      {"endpoint", {{"address", endpoint_address_}, {"port", log_port_}}},
      {"agentInfo",
       {{"version", options_.version}, {"bootID", BootId()}, {"hostname", Hostname()}, {"dataDir", options_.data_dir}}},
      {"conditions", std::move(conditions)}};
  auto patched = api_.patch(kAgents, "", options_.name, client::PatchType::kMerge,
                            json::serialize(json::object{{"status", std::move(status)}}), "status");
  if (!patched) return patched.error();
  reported_ready_ = true;
  reported_processes_ = processes;
  return Status::Ok();
}

Status Heartbeat::renew_lease() {
  const std::string now = MicroTime(std::chrono::system_clock::now());
  const auto seconds = static_cast<std::int64_t>(options_.lease_duration.count());
  auto lease = api_.get(kLeases, kAgentLeaseNamespace, options_.name);
  if (!lease && lease.error().code() != StatusCode::kNotFound) return lease.error();
  if (!lease) {
    json::object obj{{"apiVersion", "coordination.k8s.io/v1"},
                     {"kind", "Lease"},
                     {"metadata", {{"name", options_.name}, {"namespace", kAgentLeaseNamespace}}},
                     {"spec",
                      {{"holderIdentity", options_.name},
                       {"leaseDurationSeconds", seconds},
                       {"acquireTime", now},
                       {"renewTime", now}}}};
    auto created = api_.create(kLeases, kAgentLeaseNamespace, obj);
    return created ? Status::Ok() : created.error();
  }
  json::object& spec = EnsureObject(*lease, "spec");
  spec["holderIdentity"] = options_.name;
  spec["leaseDurationSeconds"] = seconds;
  spec["renewTime"] = now;
  auto updated = api_.update(kLeases, kAgentLeaseNamespace, *lease);
  return updated ? Status::Ok() : updated.error();
}

}  // namespace setpoint::agent
