// The test plays the agent: a fixture that runs the real server with its controllers (scheduler,
// agentlifecycle, processset, garbage collector), registers Agents with Leases, and writes
// Process status through the status subresource the way an agent would. Every helper retries a
// status write that meets a Conflict (the controllers write the same objects).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "controllers/setpoint_kinds.h"
#include "setpoint/client/dynamic_client.h"
#include "setpoint/common/json.h"
#include "setpoint/runtime/conditions.h"
#include "setpoint/runtime/object_helpers.h"
#include "setpoint/testing/test_server.h"
#include "setpoint/types/core_v1.h"
#include "testing/eventually.h"

namespace setpoint::controllers::test_agent {

namespace json = boost::json;
using namespace std::chrono_literals;

inline const client::GroupVersionResource& kEventsGvr = setpoint::types::GvrOf<setpoint::corev1::Event>();

// A Kubernetes MicroTime: "2026-01-02T03:04:05.123456Z".
inline std::string MicroTime(WallTime t) {
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(micros / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(micros % 1000000));
  return buf;
}

inline std::string Label(const json::object& obj, std::string_view key) {
  const json::object* labels = GetObject(obj.at("metadata").as_object(), "labels");
  return labels ? std::string(GetStringOr(*labels, key, "")) : std::string();
}
inline std::string Name(const json::object& obj) { return std::string(obj.at("metadata").at("name").as_string()); }
inline std::string Phase(const json::object& obj) {
  const json::object* s = GetObject(obj, "status");
  return s ? std::string(GetStringOr(*s, "phase", "")) : std::string();
}
inline std::string AgentOf(const json::object& obj) {
  const json::object* s = GetObject(obj, "spec");
  return s ? std::string(GetStringOr(*s, "agentName", "")) : std::string();
}
inline bool IsReady(const json::object& obj) {
  const json::object* s = GetObject(obj, "status");
  return s && s->contains("ready") && s->at("ready") == true;
}
inline const json::object* Condition(const json::object& obj, std::string_view type) {
  const json::object* s = GetObject(obj, "status");
  const json::array* c = s ? GetArray(*s, "conditions") : nullptr;
  return c ? runtime::find_condition(*c, type) : nullptr;
}
inline std::string ConditionField(const json::object& obj, std::string_view type, std::string_view field) {
  const json::object* c = Condition(obj, type);
  if (!c) return "";
  if (const json::value* v = c->if_contains(field))
    return v->is_string() ? std::string(v->get_string()) : json::serialize(*v);
  return "";
}

class AgentFixture : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(); }

  void StartServer(testing::TestServerOptions options = {}) {
    auto s = testing::TestServer::Start(std::move(options));
    ASSERT_TRUE(s.has_value()) << s.error().to_string();
    server_ = std::move(*s);
    rest_ = server_->make_client();
    api_ = std::make_unique<client::DynamicClient>(*rest_);
  }

  // Registers an Agent (Ready unless told otherwise) and, when lease_seconds > 0, its Lease,
  // renewed now.
  void AddAgent(const std::string& name, json::object labels = {}, std::int64_t capacity = 0, bool ready = true,
                int lease_seconds = 3600, bool unschedulable = false) {
    json::object meta{{"name", name}};
    if (!labels.empty()) meta["labels"] = std::move(labels);
    auto r = api_->create(kAgents, "",
                          json::object{{"apiVersion", "setpoint.dev/v1alpha1"},
                                       {"kind", "Agent"},
                                       {"metadata", std::move(meta)},
                                       {"spec", {{"unschedulable", unschedulable}}}});
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    if (lease_seconds > 0) RenewLease(name, lease_seconds);
    UpdateStatus(kAgents, "", name, [&](json::object& status, const json::object&) {
      status["capacity"] = json::object{{"processes", capacity}};
      json::array conditions;
      runtime::set_condition(
          conditions, {"Ready", ready ? "True" : "False", ready ? "AgentReady" : "AgentNotReady", "test agent", 0, {}},
          std::chrono::system_clock::now());
      status["conditions"] = std::move(conditions);
    });
  }

  // Creates or renews the agent's Lease: renewTime now, this duration.
  void RenewLease(const std::string& name, int lease_seconds) {
    json::object lease{{"apiVersion", "coordination.k8s.io/v1"},
                       {"kind", "Lease"},
                       {"metadata", {{"name", name}, {"namespace", kAgentLeaseNamespace}}},
                       {"spec",
                        {{"holderIdentity", name},
                         {"leaseDurationSeconds", lease_seconds},
                         {"renewTime", MicroTime(std::chrono::system_clock::now())}}}};
    auto existing = api_->get(kLeases, kAgentLeaseNamespace, name);
    if (existing) {
      lease["metadata"].as_object()["resourceVersion"] = existing->at("metadata").at("resourceVersion");
      auto r = api_->update(kLeases, kAgentLeaseNamespace, lease);
      ASSERT_TRUE(r.has_value()) << r.error().to_string();
    } else {
      auto r = api_->create(kLeases, kAgentLeaseNamespace, lease);
      ASSERT_TRUE(r.has_value()) << r.error().to_string();
    }
  }

  // Reads the object afresh, lets `mutate` change its status, writes it; again on Conflict.
  void UpdateStatus(const client::GroupVersionResource& gvr, const std::string& ns, const std::string& name,
                    const std::function<void(json::object& status, const json::object& obj)>& mutate) {
    for (int attempt = 0; attempt < 20; ++attempt) {
      auto got = api_->get(gvr, ns, name);
      if (!got && got.error().code() == StatusCode::kNotFound) return;
      ASSERT_TRUE(got.has_value()) << got.error().to_string();
      json::object obj = *got;
      mutate(EnsureObject(obj, "status"), *got);
      auto r = api_->update_status(gvr, ns, obj);
      if (r || r.error().code() == StatusCode::kNotFound) return;
      ASSERT_EQ(r.error().code(), StatusCode::kConflict) << r.error().to_string();
    }
    FAIL() << "status of " << name << " kept conflicting";
  }

  // What an agent reports for a Process whose newest epoch runs the current spec and is ready.
  // `epochs` > 1 reports an older epoch still draining beside it (not settled).
  void ReportRunning(const std::string& ns, const std::string& name, int epochs = 1, bool ready = true) {
    UpdateStatus(kProcesses, ns, name, [&](json::object& status, const json::object& obj) {
      const std::int64_t generation = GetInt(obj.at("metadata").as_object(), "generation").value_or(1);
      const std::int64_t epoch =
          GetInt(status, "epoch").value_or(0) + (GetInt(status, "observedGeneration") == generation ? 0 : 1);
      json::array list;
      for (int i = epochs - 1; i >= 0; --i)
        list.push_back(json::object{{"epoch", epoch - i},
                                    {"pid", 1000 + epoch - i},
                                    {"state", i == 0 ? "Ready" : "Draining"},
                                    {"ready", ready || i > 0},
                                    {"generation", generation - i}});
      status["phase"] = ready ? "Running" : "Starting";
      status["agent"] = AgentOf(obj);
      status["epoch"] = epoch;
      status["pid"] = 1000 + epoch;
      status["ready"] = ready;
      status["observedGeneration"] = generation;
      status["epochs"] = std::move(list);
      json::array& conditions =
          status["conditions"].is_array() ? status["conditions"].as_array() : status["conditions"].emplace_array();
      runtime::set_condition(conditions, {"Ready", ready ? "True" : "False", ready ? "Ready" : "Starting", "", 0, {}},
                             std::chrono::system_clock::now());
    });
  }

  // Every bound, live Process of `selector` that is not yet settled is reported settled.
  void SettleAll(const std::string& ns, const std::string& selector) {
    for (const auto& p : List(ns, selector)) {
      if (runtime::deletion_requested(p) || AgentOf(p).empty() || Phase(p) == "Failed" || Phase(p) == "Lost") continue;
      const json::object* s = GetObject(p, "status");
      const json::array* epochs = s ? GetArray(*s, "epochs") : nullptr;
      const bool settled = IsReady(p) && epochs && epochs->size() == 1 &&
                           GetInt(*s, "observedGeneration") == GetInt(p.at("metadata").as_object(), "generation");
      if (!settled) ReportRunning(ns, Name(p));
    }
  }

  std::vector<json::object> List(const std::string& ns, const std::string& selector = {}) {
    client::ListOptions o;
    o.label_selector = selector;
    auto r = api_->list(kProcesses, ns, o);
    EXPECT_TRUE(r.has_value()) << r.error().to_string();
    return r ? r->items : std::vector<json::object>{};
  }

  json::object Get(const client::GroupVersionResource& gvr, const std::string& ns, const std::string& name) {
    auto r = api_->get(gvr, ns, name);
    return r ? *r : json::object{};
  }

  // A Process (no owner) with an optional agentSelector.
  void AddProcess(const std::string& ns, const std::string& name, json::object selector = {},
                  const std::string& agent = {}) {
    json::object spec{{"command", json::array{"sleep", "1000"}}};
    if (!selector.empty()) spec["agentSelector"] = std::move(selector);
    if (!agent.empty()) spec["agentName"] = agent;
    auto r = api_->create(kProcesses, ns,
                          json::object{{"apiVersion", "setpoint.dev/v1alpha1"},
                                       {"kind", "Process"},
                                       {"metadata", {{"name", name}, {"namespace", ns}}},
                                       {"spec", std::move(spec)}});
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
  }

  // A ProcessSet selecting app=<name>, its template running `sleep 1000 <version>`.
  void AddSet(const std::string& ns, const std::string& name, int replicas, json::object strategy = {},
              const std::string& version = "v1") {
    json::object spec{{"replicas", replicas},
                      {"selector", {{"matchLabels", {{"app", name}}}}},
                      {"template",
                       {{"metadata", {{"labels", {{"app", name}}}}},
                        {"spec", {{"command", json::array{"sleep", "1000"}}, {"args", json::array{version}}}}}}};
    if (!strategy.empty()) spec["strategy"] = std::move(strategy);
    auto r = api_->create(kProcessSets, ns,
                          json::object{{"apiVersion", "setpoint.dev/v1alpha1"},
                                       {"kind", "ProcessSet"},
                                       {"metadata", {{"name", name}, {"namespace", ns}}},
                                       {"spec", std::move(spec)}});
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
  }

  // Whether an Event of `reason` about `name` exists in `ns`.
  bool HasEvent(const std::string& ns, const std::string& name, const std::string& reason) {
    auto r = api_->list(kEventsGvr, ns);
    if (!r) return false;
    for (const auto& e : r->items)
      if (GetStringOr(e, "reason", "") == reason && GetStringOr(e.at("involvedObject").as_object(), "name", "") == name)
        return true;
    return false;
  }

  std::unique_ptr<testing::TestServer> server_;
  std::unique_ptr<client::RestClient> rest_;
  std::unique_ptr<client::DynamicClient> api_;
};

}  // namespace setpoint::controllers::test_agent
