#include "agent/agent.h"

#include <arpa/inet.h>
#include <csignal>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "agent/agent_impl.h"
#include "agent/kinds.h"
#include "agent/state_file.h"
#include "setpoint/runtime/object_helpers.h"

namespace setpoint::agent {

namespace json = boost::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------------
// Start and stop

Status AgentImpl::start() {
  if (options_.name.empty()) return Status::Invalid("agent: a name is required");
  if (options_.data_dir.empty()) return Status::Invalid("agent: a data dir is required");
  root_ = options_.data_dir;
  std::error_code ec;
  fs::create_directories(root_ + "/processes", ec);
  if (ec) return Status::Unavailable("agent: cannot create " + root_ + "/processes: " + ec.message());
  state_path_ = root_ + "/state.json";

  auto w =
      ExitWatcher::Start([this](const ProcessIdentity& id, ExitInfo info) { post([=, this] { on_exit(id, info); }); });
  if (!w) return w.error();
  watcher_ = std::move(*w);
  probes_ = std::make_unique<ProbePool>(options_.probe_workers);
  auto ls = LogServer::Start(options_.listen, [this](const LogQuery& q) { return resolve_log(q); });
  if (!ls) return ls.error();
  log_server_ = std::move(*ls);

  adopt_from_state();

  runtime::WatcherOptions wo;
  wo.gvr = kProcesses;
  wo.field_selector = "spec.agentName=" + options_.name;
  wo.transform = runtime::StripManagedFields;
  wo.backoff_initial = std::chrono::milliseconds(200);
  wo.backoff_max = std::chrono::milliseconds(5000);
  informer_ = std::make_unique<runtime::Informer>(api_, wo);
  runtime::EventHandlers h;
  h.on_add = [this](const runtime::ObjectPtr& o) { post([this, o] { on_object(*o); }); };
  h.on_update = [this](const runtime::ObjectPtr&, const runtime::ObjectPtr& o) { post([this, o] { on_object(*o); }); };
  h.on_delete = [this](const runtime::ObjectPtr& o) {
    std::string uid = MetaString(*o, "uid");
    post([this, uid] { on_gone(uid); });
  };
  auto id = informer_->add_handlers(std::move(h));
  informer_->start();

  std::string address = options_.advertise_address;
  if (address.empty()) {
    address = options_.listen.substr(0, options_.listen.rfind(':'));
    if (address == "0.0.0.0" || address.empty()) address = "127.0.0.1";
  }
  heartbeat_ = std::make_unique<Heartbeat>(api_, options_, address, log_server_->port(),
                                           [this] { return supervised_count_.load(); });
  state_thread_ = std::jthread([this](std::stop_token st) { state_saver(st); });
  loop_thread_ = std::jthread([this](std::stop_token st) { loop(st); });
  writer_thread_ = std::jthread([this](std::stop_token st) { writer(st); });
  heartbeat_thread_ = std::jthread([this](std::stop_token st) { heartbeat_->run(st); });
  janitor_thread_ = std::jthread([this](std::stop_token st) { log_janitor(st); });
  // Orphans (adopted processes whose object is gone) are stopped once the first list is in. A
  // thread of the agent's own (it was detached, and could outlive the agent it referred to), so
  // stop() ends and joins it: it looks for the stop request between waits of 100 ms.
  orphans_thread_ = std::jthread([this, id](std::stop_token st) {
    while (!st.stop_requested())
      if (informer_->wait_for_sync(id, std::chrono::milliseconds(100))) return post([this] { sweep_orphans(); });
  });
  spdlog::info("agent {}: supervising, logs on port {}, {} process(es) re-adopted", options_.name, log_server_->port(),
               sups_.size());
  return Status::Ok();
}

void AgentImpl::stop() {
  if (stopped_) return;
  stopped_ = true;
  orphans_thread_ = {};  // before the informer it waits on goes
  if (informer_) informer_->stop();
  heartbeat_thread_ = {};
  janitor_thread_ = {};
  loop_thread_ = {};
  state_thread_ = {};  // after the loop: it writes the last snapshot
  writer_thread_ = {};
  if (watcher_) watcher_->stop();
  probes_.reset();
  log_server_.reset();
  events_.flush(std::chrono::seconds(2));
  for (auto& [uid, s] : sups_)
    for (auto& p : s.ports)
      if (p.fd >= 0) ::close(p.fd);
}

// ---------------------------------------------------------------------------------------------
// The loop

void AgentImpl::loop(std::stop_token st) {
  while (!st.stop_requested()) {
    std::deque<std::function<void()>> batch;
    {
      std::unique_lock lock(mu_);
      auto deadline = next_deadline();
      auto ready = [&] { return !inbox_.empty() || st.stop_requested(); };
      if (deadline)
        cv_.wait_until(lock, *deadline, ready);
      else
        cv_.wait_for(lock, std::chrono::seconds(1), ready);
      batch.swap(inbox_);
    }
    if (st.stop_requested()) return;
    for (auto& fn : batch) fn();
    const auto now = Clock::now();
    std::vector<std::string> uids;
    for (auto& [uid, s] : sups_) uids.push_back(uid);
    for (const auto& uid : uids) {
      auto it = sups_.find(uid);
      if (it == sups_.end()) continue;
      due(it->second, now);
      finish_if_done(uid);
    }
    flush_statuses();
    supervised_count_ =
        static_cast<int>(std::count_if(sups_.begin(), sups_.end(), [](auto& kv) { return !kv.second.epochs.empty(); }));
  }
}

std::optional<SteadyTime> AgentImpl::next_deadline() const {
  std::optional<SteadyTime> best;
  auto consider = [&](std::optional<SteadyTime> t) {
    if (t && (!best || *t < *best)) best = t;
  };
  for (const auto& [uid, s] : sups_) {
    consider(s.machine->next_wake());
    consider(s.finalize_retry_at);
    for (const auto& [n, e] : s.epochs) {
      consider(e.stop_at);
      consider(e.kill_at);
      if (e.spec && !e.draining && !e.aborted) {
        if (e.spec->readiness && !e.readiness.in_flight) consider(e.readiness.next);
        if (e.spec->liveness && !e.liveness.in_flight) consider(e.liveness.next);
      }
    }
  }
  return best;
}

// Timers of one process: the machine's retry or rate-limited reconcile, stop and kill deadlines,
// probes.
void AgentImpl::due(Supervised& s, SteadyTime now) {
  if (auto w = s.machine->next_wake(); w && *w <= now) apply(s, s.machine->tick(now));
  for (auto& [n, e] : s.epochs) {
    if (e.stop_at && *e.stop_at <= now) {
      e.stop_at.reset();
      SignalGroup(e.id.pid, e.stop_signal);
      e.kill_at = now + std::chrono::seconds(e.grace_seconds);
    }
    if (e.kill_at && *e.kill_at <= now) {
      e.kill_at.reset();
      spdlog::info("agent {}: {} epoch {} (pid {}) outlived its grace period: SIGKILL", options_.name, s.key(), n,
                   e.id.pid);
      SignalGroup(e.id.pid, SIGKILL);
    }
    if (!e.spec || e.draining || e.aborted) continue;
    if (e.spec->readiness && !e.readiness.in_flight && e.readiness.next <= now) run_probe(s, e, false);
    if (e.spec->liveness && !e.liveness.in_flight && e.liveness.next <= now) run_probe(s, e, true);
  }
  if (s.finalize_retry_at && *s.finalize_retry_at <= now) s.finalize_retry_at.reset();
}

// ---------------------------------------------------------------------------------------------
// Objects

void AgentImpl::on_object(const json::object& obj) {
  const std::string uid = MetaString(obj, "uid");
  if (uid.empty()) return;
  auto [it, inserted] = sups_.try_emplace(uid);
  Supervised& s = it->second;
  if (inserted) {
    s.uid = uid;
    s.machine = std::make_unique<RestartEpochs>();
  }
  s.ns = MetaString(obj, "namespace");
  s.name = MetaString(obj, "name");
  s.object = obj;
  s.has_object = true;
  s.dirty = true;
  if (s.dir.empty()) s.dir = root_ + "/processes/" + uid;
  s.finalizer_added = runtime::has_finalizer(obj, kAgentFinalizer);
  const auto now = Clock::now();
  if (runtime::deletion_requested(obj)) {
    if (!s.deleting) {
      s.deleting = true;
      apply(s, s.machine->terminate(now));
    }
    return;
  }
  const json::object* spec = GetObject(obj, "spec");
  static const json::object kEmpty;
  auto config = ParseProcessSpec(spec ? *spec : kEmpty);
  if (!config) {
    if (s.invalid != config.error().message()) {
      s.invalid = config.error().message();
      event(s, "Warning", "InvalidSpec", s.invalid);
    }
    return;
  }
  s.invalid.clear();
  const std::string epoch_config = EpochConfig(spec ? *spec : kEmpty);
  // A spec change that leaves the epoch config alone (binding to this agent) moves the running
  // epochs to the new generation: they run it already.
  for (auto& [n, e] : s.epochs)
    if (e.config == epoch_config) e.generation = Generation(obj);
  // The restart policy, retries and backoff are the spec's, also for a re-adopted process and
  // after a change of the spec.
  s.machine->set_policy(config->retry_policy());
  if (!s.finalizer_added) {
    if (Status st = ensure_finalizer(s, true); !st.ok()) {
      spdlog::warn("agent {}: {}: cannot add finalizer: {}", options_.name, s.key(), st.to_string());
      s.finalize_retry_at = now + std::chrono::seconds(1);
      return;  // the update that follows (or the retry) brings it back here
    }
  }
  apply(s, s.machine->set_desired(epoch_config, now));
}

void AgentImpl::on_gone(const std::string& uid) {
  auto it = sups_.find(uid);
  if (it == sups_.end()) return;
  Supervised& s = it->second;
  s.has_object = false;
  if (!s.deleting) {
    s.deleting = true;
    apply(s, s.machine->terminate(Clock::now()));
  }
}

void AgentImpl::sweep_orphans() {
  for (auto& [uid, s] : sups_) {
    if (s.has_object || s.deleting) continue;
    spdlog::info("agent {}: {} (uid {}) is gone or no longer assigned here: stopping what it left running",
                 options_.name, s.key(), uid);
    s.deleting = true;
    apply(s, s.machine->terminate(Clock::now()));
  }
}

Status AgentImpl::ensure_finalizer(Supervised& s, bool present) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto fresh = api_.get(kProcesses, s.ns, s.name);
    if (!fresh) return fresh.error().code() == StatusCode::kNotFound && !present ? Status::Ok() : fresh.error();
    if (MetaString(*fresh, "uid") != s.uid)
      return present ? Status::NotFound("the process was replaced") : Status::Ok();
    bool changed =
        present ? runtime::add_finalizer(*fresh, kAgentFinalizer) : runtime::remove_finalizer(*fresh, kAgentFinalizer);
    if (!changed) {
      s.finalizer_added = present;
      return Status::Ok();
    }
    auto updated = api_.update(kProcesses, s.ns, *fresh);
    if (updated) {
      s.finalizer_added = present;
      if (present) s.object = std::move(*updated);
      return Status::Ok();
    }
    if (updated.error().code() == StatusCode::kNotFound && !present) return Status::Ok();
    if (updated.error().code() != StatusCode::kConflict) return updated.error();
  }
  return Status::Conflict("the process kept changing");
}

// Everything stopped for a Process that is going away: drop its finalizer, its files, its state.
void AgentImpl::finish_if_done(const std::string& uid) {
  auto it = sups_.find(uid);
  if (it == sups_.end()) return;
  Supervised& s = it->second;
  if (!s.deleting || !s.epochs.empty() || s.finalize_retry_at) return;
  if (s.has_object && s.finalizer_added) {
    if (Status st = ensure_finalizer(s, false); !st.ok()) {
      spdlog::warn("agent {}: {}: cannot remove finalizer: {}", options_.name, s.key(), st.to_string());
      s.finalize_retry_at = Clock::now() + std::chrono::seconds(1);
      return;
    }
  }
  for (auto& p : s.ports)
    if (p.fd >= 0) ::close(p.fd);
  std::error_code ec;
  if (!s.dir.empty()) fs::remove_all(s.dir, ec);
  {
    std::lock_guard lock(logs_mu_);
    auto l = logs_.find(s.key());
    if (l != logs_.end() && l->second.dir == s.dir) logs_.erase(l);
  }
  spdlog::info("agent {}: {} stopped and forgotten", options_.name, s.key());
  sups_.erase(it);
  save_state();
}

Result<std::unique_ptr<Agent>> Agent::Start(client::RestClient& rest, AgentOptions options) {
  auto a = std::make_unique<AgentImpl>(rest, std::move(options));
  if (Status s = a->start(); !s.ok()) return Err(std::move(s));
  return std::unique_ptr<Agent>(std::move(a));
}

}  // namespace setpoint::agent
