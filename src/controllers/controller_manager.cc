#include "controllers/controller_manager.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "controllers/agent_lifecycle.h"
#include "controllers/garbage_collector.h"
#include "controllers/lifecycle.h"
#include "controllers/processset.h"
#include "controllers/scheduler.h"
#include "setpoint/runtime/manager.h"

namespace setpoint::controllers {
namespace {

class ControllerManagerImpl final : public ControllerManager {
 public:
  ~ControllerManagerImpl() override { stop(); }

  Status start(const std::string& server_url, ControllerManagerOptions options, std::vector<std::string> enabled) {
    client::RestConfig config;
    config.server = server_url;
    config.timeout = std::chrono::seconds(10);  // well below the renew deadline
    config.user_agent = "setpoint-controller-manager";
    auto rest = client::RestClient::Create(config);
    if (!rest) return rest.error();
    rest_ = std::move(*rest);
    runtime::ManagerOptions mo;
    mo.name = "setpoint-controller-manager";
    mo.health_listen = options.health_listen;
    if (options.leader_elect) {
      runtime::LeaderElectionConfig le;
      le.lease_namespace = options.lease_namespace;
      le.lease_name = options.lease_name;
      le.identity = options.identity;
      mo.leader_election = le;
    }
    auto m = runtime::Manager::Create(*rest_, std::move(mo));
    if (!m) return m.error();
    manager_ = std::move(*m);
    auto on = [&](std::string_view name) { return std::find(enabled.begin(), enabled.end(), name) != enabled.end(); };
    if (on("garbagecollector")) {
      gc_ = std::make_unique<GarbageCollector>(*manager_, *rest_);
      if (Status s = manager_->add_runnable("garbagecollector", [gc = gc_.get()](std::stop_token st) { gc->run(st); });
          !s.ok())
        return s;
      manager_->add_metrics([gc = gc_.get()] { return gc->metrics_text(); });
    }
    if (on("namespace")) {
      namespaces_ = std::make_unique<NamespaceReconciler>(*manager_, *rest_);
      auto c = manager_->controller("namespace").For(kNamespaces).WithMaxConcurrentReconciles(2).Complete(*namespaces_);
      if (!c) return c.error();
      if (Status s = manager_->add(std::move(*c)); !s.ok()) return s;
    }
    if (on("customresourcecleanup")) {
      crds_ = std::make_unique<CrdCleanupReconciler>(*manager_);
      auto c = manager_->controller("customresourcecleanup").For(kCrds).Complete(*crds_);
      if (!c) return c.error();
      if (Status s = manager_->add(std::move(*c)); !s.ok()) return s;
    }
    if (on("eventttl")) {
      events_ = std::make_unique<EventTtlReconciler>(*manager_, options.event_ttl);
      auto c = manager_->controller("eventttl").For(kEvents).Complete(*events_);
      if (!c) return c.error();
      if (Status s = manager_->add(std::move(*c)); !s.ok()) return s;
    }
    if (on("scheduler")) {
      scheduler_ = std::make_unique<Scheduler>(*manager_);
      auto c = BuildSchedulerController(*manager_, *scheduler_);
      if (!c) return c.error();
      if (Status s = manager_->add(std::move(*c)); !s.ok()) return s;
    }
    if (on("agentlifecycle")) {
      agents_ = std::make_unique<AgentLifecycle>(
          *manager_, AgentLifecycleOptions{.grace_without_lease = options.agent_grace_without_lease});
      auto c = BuildAgentLifecycleController(*manager_, *agents_);
      if (!c) return c.error();
      if (Status s = manager_->add(std::move(*c)); !s.ok()) return s;
    }
    if (on("processset")) {
      processsets_ = std::make_unique<ProcessSetReconciler>(*manager_);
      auto c = BuildProcessSetController(*manager_, *processsets_);
      if (!c) return c.error();
      if (Status s = manager_->add(std::move(*c)); !s.ok()) return s;
    }
    run_ = std::jthread([this](std::stop_token st) {
      Status s = manager_->run(st);
      if (!s.ok() && !st.stop_requested()) spdlog::error("controller manager stopped: {}", s.to_string());
    });
    std::string names;
    for (const auto& n : enabled) names += (names.empty() ? "" : ",") + n;
    spdlog::info("controller manager: {}", names.empty() ? "no controllers" : names);
    return Status::Ok();
  }

  std::string metrics_text() const override { return manager_ ? manager_->metrics_text() : std::string(); }
  bool leading() const override { return manager_ && manager_->leading(); }

  void stop() override {
    if (run_.joinable()) {
      run_.request_stop();
      run_.join();
    }
  }

 private:
  std::unique_ptr<client::RestClient> rest_;
  std::unique_ptr<runtime::Manager> manager_;
  std::unique_ptr<GarbageCollector> gc_;
  std::unique_ptr<NamespaceReconciler> namespaces_;
  std::unique_ptr<CrdCleanupReconciler> crds_;
  std::unique_ptr<EventTtlReconciler> events_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<AgentLifecycle> agents_;
  std::unique_ptr<ProcessSetReconciler> processsets_;
  std::jthread run_;
};

}  // namespace

const std::vector<std::string>& KnownControllers() {
  static const std::vector<std::string> names = {"garbagecollector", "namespace", "customresourcecleanup", "eventttl",
                                                   "scheduler", "agentlifecycle", "processset"};
  return names;
}

Result<std::vector<std::string>> SelectControllers(const std::string& flag) {
  std::vector<std::string> on;
  bool star = false;
  std::vector<std::string> off;
  std::size_t start = 0;
  while (start <= flag.size()) {
    const auto comma = flag.find(',', start);
    std::string item = flag.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma == std::string::npos ? flag.size() + 1 : comma + 1;
    if (item.empty()) continue;
    if (item == "*") {
      star = true;
      continue;
    }
    const bool minus = item[0] == '-';
    const std::string name = minus ? item.substr(1) : item;
    const auto& known = KnownControllers();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      return Err(Status::BadRequest("unknown controller \"" + name + "\" in --controllers (known: " + list + ")"));
    }
    (minus ? off : on).push_back(name);
  }
  std::vector<std::string> out;
  for (const auto& k : KnownControllers()) {
    const bool wanted = star || std::find(on.begin(), on.end(), k) != on.end();
    if (wanted && std::find(off.begin(), off.end(), k) == off.end()) out.push_back(k);
  }
  return out;
}

Result<std::unique_ptr<ControllerManager>> ControllerManager::Start(const std::string& server_url,
                                                                      ControllerManagerOptions options) {
  auto enabled = SelectControllers(options.controllers);
  if (!enabled) return Err(enabled.error());
  auto m = std::make_unique<ControllerManagerImpl>();
  if (Status s = m->start(server_url, std::move(options), std::move(*enabled)); !s.ok()) return Err(std::move(s));
  return std::unique_ptr<ControllerManager>(std::move(m));
}

}  // namespace setpoint::controllers
