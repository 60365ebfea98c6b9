#include "controllers/controller_manager.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>

#include <spdlog/spdlog.h>

#include "controllers/agent_lifecycle.h"
#include "controllers/bank_reconciliation.h"
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
    options_ = std::move(options);
    enabled_ = std::move(enabled);
    {
      std::lock_guard lock(mu_);
      if (Status s = build(); !s.ok()) return s;
    }
    run_ = std::jthread([this](std::stop_token st) { supervise(st); });
    std::string names;
    for (const auto& n : enabled_) names += (names.empty() ? "" : ",") + n;
    spdlog::info("controller manager: {}", names.empty() ? "no controllers" : names);
    return Status::Ok();
  }

  std::string metrics_text() const override {
    std::string out;
    {
      std::lock_guard lock(mu_);
      if (manager_) out = manager_->metrics_text();
    }
    const bool running = !not_running();
    out +=
        "# HELP setpoint_controller_manager_running Whether the built-in controllers run or wait healthily for the "
        "Lease (1), or are stopped or cannot reach the Lease (0).\n# TYPE setpoint_controller_manager_running gauge\n"
        "setpoint_controller_manager_running " +
        std::string(running ? "1" : "0") + "\n";
    out +=
        "# HELP setpoint_controller_manager_restarts_total Managers built again after one stopped by itself (its "
        "Lease lost).\n# TYPE setpoint_controller_manager_restarts_total counter\n"
        "setpoint_controller_manager_restarts_total " +
        std::to_string(restarts_.load()) + "\n";
    return out;
  }
  bool leading() const override {
    std::lock_guard lock(mu_);
    return manager_ && manager_->leading();
  }

  std::optional<std::string> not_running() const override {
    std::lock_guard lock(mu_);
    if (!down_reason_.empty()) return "stopped (" + down_reason_ + "), starting again";
    if (!manager_) return "not started";
    if (Status e = manager_->election_error(); !e.ok())
      return "cannot acquire or renew the Lease " + options_.lease_namespace + "/" + options_.lease_name + ": " +
             e.message();
    return std::nullopt;
  }

  std::uint64_t restarts() const override { return restarts_.load(); }

  void stop() override {
    if (run_.joinable()) {
      run_.request_stop();
      run_.join();
    }
  }

 private:
  // Runs the manager until asked to stop. A manager that stops by itself — its Lease lost (the
  // store refusing writes for longer than the renew deadline, say), or a controller failed — cannot
  // be started again, so a new one is built and campaigns again, after a pause that doubles with
  // each restart in a row (1 s up to 30 s) and starts over once a run lasted a minute.
  void supervise(std::stop_token st) {
    using namespace std::chrono_literals;
    std::chrono::seconds pause = 1s;
    for (;;) {
      runtime::Manager* m = nullptr;
      {
        std::lock_guard lock(mu_);
        m = manager_.get();
      }
      const auto began = std::chrono::steady_clock::now();
      Status s = m ? m->run(st) : Status::Unavailable("no manager");
      if (st.stop_requested()) return;
      if (std::chrono::steady_clock::now() - began > 60s) pause = 1s;
      spdlog::error("controller manager stopped: {}; campaigning again in {} s", s.to_string(), pause.count());
      {
        std::lock_guard lock(mu_);
        down_reason_ = s.message();
      }
      std::mutex wait_mu;
      std::condition_variable_any wake;
      std::unique_lock wait_lock(wait_mu);
      if (wake.wait_for(wait_lock, st, pause, [] { return false; }) || st.stop_requested()) return;
      pause = std::min<std::chrono::seconds>(pause * 2, 30s);
      std::lock_guard lock(mu_);
      teardown();
      if (Status b = build(); !b.ok()) {
        down_reason_ = "rebuilding it failed: " + b.message();
        continue;
      }
      down_reason_.clear();
      restarts_.fetch_add(1);
    }
  }

  // The manager and the selected controllers; with mu_ held.
  Status build() {
    runtime::ManagerOptions mo;
    mo.name = "setpoint-controller-manager";
    mo.health_listen = options_.health_listen;
    if (options_.leader_elect) {
      runtime::LeaderElectionConfig le;
      le.lease_namespace = options_.lease_namespace;
      le.lease_name = options_.lease_name;
      le.identity = options_.identity;
      mo.leader_election = le;
    }
    auto m = runtime::Manager::Create(*rest_, std::move(mo));
    if (!m) return m.error();
    manager_ = std::move(*m);
    auto on = [&](std::string_view name) {
      return std::find(enabled_.begin(), enabled_.end(), name) != enabled_.end();
    };
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
      events_ = std::make_unique<EventTtlReconciler>(*manager_, options_.event_ttl);
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
      agents_ = std::make_unique<AgentLifecycle>(AgentLifecycleOptions{
          .grace_without_lease = options_.agent_grace_without_lease, .clock = manager_->env()->wall()});
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
    if (on("bankreconciliation")) {
      banks_ = std::make_unique<BankReconciler>(*manager_);
      auto cs = BuildBankReconciliationControllers(*manager_, *banks_);
      if (!cs) return cs.error();
      for (auto& c : *cs)
        if (Status s = manager_->add(std::move(c)); !s.ok()) return s;
    }
    return Status::Ok();
  }

  // Drops a stopped manager and its controllers, the controllers first (they hold the manager);
  // with mu_ held.
  void teardown() {
    banks_.reset();
    processsets_.reset();
    agents_.reset();
    scheduler_.reset();
    events_.reset();
    crds_.reset();
    namespaces_.reset();
    gc_.reset();
    manager_.reset();
  }

  std::unique_ptr<client::RestClient> rest_;
  ControllerManagerOptions options_;
  std::vector<std::string> enabled_;
  mutable std::mutex mu_;  // guards the manager and controllers across a restart
  std::unique_ptr<runtime::Manager> manager_;
  std::unique_ptr<GarbageCollector> gc_;
  std::unique_ptr<NamespaceReconciler> namespaces_;
  std::unique_ptr<CrdCleanupReconciler> crds_;
  std::unique_ptr<EventTtlReconciler> events_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<AgentLifecycle> agents_;
  std::unique_ptr<ProcessSetReconciler> processsets_;
  std::unique_ptr<BankReconciler> banks_;
  std::string down_reason_;  // GUARDED_BY(mu_): why the manager is stopped; "" while it runs
  std::atomic<std::uint64_t> restarts_{0};
  std::jthread run_;
};

}  // namespace

const std::vector<std::string>& KnownControllers() {
  static const std::vector<std::string> names = {"garbagecollector", "namespace",         "customresourcecleanup",
                                                 "eventttl",         "scheduler",         "agentlifecycle",
                                                 "processset",       "bankreconciliation"};
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
