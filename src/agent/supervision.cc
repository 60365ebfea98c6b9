// The agent's hands: carrying out what each Process's RestartEpochs machine decides — starting
// an epoch as an OS process group, draining, aborting, noticing exits, probing — plus its ports
// and the state file that lets a restarted agent re-adopt what runs.
#include <csignal>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "agent/agent_impl.h"
#include "agent/kinds.h"
#include "agent/state_file.h"

namespace setpoint::agent {

namespace json = boost::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::string Env(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::string DescribeExit(const ExitInfo& info) {
  if (!info.known) return "exit status unknown (the agent was not its parent)";
  if (info.signal) return "killed by " + SignalName(info.signal);
  return "exit code " + std::to_string(info.exit_code);
}

}  // namespace

void AgentImpl::adopt_from_state() {
  auto records = LoadState(state_path_);
  if (!records) {
    spdlog::error("agent {}: {}; starting with no processes adopted", options_.name, records.error().to_string());
    return;
  }
  const auto now = Clock::now();
  const auto wall_now = std::chrono::system_clock::now();
  for (const auto& r : *records) {
    Supervised s;
    s.uid = r.uid;
    s.ns = r.ns;
    s.name = r.name;
    s.restarts = r.restarts;
    s.dir = root_ + "/processes/" + r.uid;
    s.machine = std::make_unique<RestartEpochs>();
    for (const auto& p : r.ports) s.ports.push_back({p.name, 0, p.port, p.address, false, -1});
    for (const auto& e : r.epochs) {
      if (!StillRunning(e.id)) continue;
      RunningEpoch re;
      re.number = e.epoch;
      re.id = e.id;
      re.config = e.config;
      re.generation = e.generation;
      auto age = wall_now - WallTime(std::chrono::milliseconds(e.started_unix_ms));
      re.started = now - std::chrono::duration_cast<Clock::duration>(age);
      re.started_wall = WallTime(std::chrono::milliseconds(e.started_unix_ms));
      if (auto parsed = ParseJson(e.config); parsed && parsed->is_object()) {
        if (auto spec = ParseProcessSpec(parsed->get_object())) {
          re.stop_signal = spec->stop_signal;
          re.grace_seconds = spec->termination_grace_seconds;
          re.spec = std::move(*spec);
          re.readiness.next = now;
          re.liveness.next = now + std::chrono::seconds(re.spec->liveness ? re.spec->liveness->period_seconds : 0);
        }
      }
      re.ready = !re.spec || !re.spec->readiness;  // re-probed before it counts as ready again
      if (Status st = watcher_->watch(re.id); !st.ok()) continue;
      s.machine->adopt(re.number, re.config, re.started);
      spdlog::info("agent {}: re-adopted {} epoch {} (pid {})", options_.name, s.key(), re.number, re.id.pid);
      s.epochs.emplace(re.number, std::move(re));
    }
    if (s.epochs.empty()) {
      // Nothing left running: its files go unless the object still wants it (then it starts anew).
      s.deleting = false;
    }
    std::string uid = s.uid;
    sups_.emplace(uid, std::move(s));
  }
  save_state();
}

void AgentImpl::save_state() {
  std::vector<ProcessRecord> records;
  for (const auto& [uid, s] : sups_) {
    ProcessRecord r;
    r.uid = uid;
    r.ns = s.ns;
    r.name = s.name;
    r.restarts = s.restarts;
    for (const auto& p : s.ports) r.ports.push_back({p.name, p.port, p.address});
    for (const auto& [n, e] : s.epochs)
      r.epochs.push_back(
          {n, e.id, e.config, e.generation,
           std::chrono::duration_cast<std::chrono::milliseconds>(e.started_wall.time_since_epoch()).count()});
    records.push_back(std::move(r));
  }
  if (!state_thread_.joinable()) {
    // At start-up, before the threads: write it now.
    if (Status st = SaveState(state_path_, records); !st.ok())
      spdlog::error("agent {}: saving state: {}", options_.name, st.to_string());
  } else {
    {
      std::lock_guard lock(state_mu_);
      pending_state_ = std::move(records);
    }
    state_cv_.notify_one();
  }
  std::lock_guard lock(logs_mu_);
  for (const auto& [uid, s] : sups_) {
    if (s.deleting && s.epochs.empty()) continue;
    auto& entry = logs_[s.key()];
    entry.dir = s.dir;
    entry.running.clear();
    for (const auto& [n, e] : s.epochs) entry.running.insert(n);
    if (!s.epochs.empty()) entry.newest = s.epochs.rbegin()->first;
  }
}

void AgentImpl::state_saver(std::stop_token st) {
  for (;;) {
    std::optional<std::vector<ProcessRecord>> records;
    {
      std::unique_lock lock(state_mu_);
      state_cv_.wait(lock, st, [&] { return pending_state_.has_value(); });
      records.swap(pending_state_);
    }
    if (records) {
      if (Status s = SaveState(state_path_, *records); !s.ok())
        spdlog::error("agent {}: saving state: {}", options_.name, s.to_string());
    }
    if (st.stop_requested()) {
      std::lock_guard lock(state_mu_);
      if (!pending_state_) return;  // the last snapshot is on disk
    }
  }
}

// Output beyond the size limit is cut by copy-and-truncate. A process that fills its log faster
// than the rotation period keeps the disk bounded all the same (what it writes within one period
// at most, plus `keep` files), and is reported: LogFlood=True and a Warning event, once per flood.
void AgentImpl::log_janitor(std::stop_token st) {
  constexpr auto kWindow = std::chrono::seconds(10);
  constexpr std::size_t kFloodRotations = 3;
  std::map<std::string, std::deque<SteadyTime>> rotations;  // by ns/name
  std::map<std::string, bool> flooding;
  std::mutex mu;
  std::condition_variable_any cv;
  while (!st.stop_requested()) {
    std::vector<std::pair<std::string, std::string>> files;  // key, path
    {
      std::lock_guard lock(logs_mu_);
      for (const auto& [key, entry] : logs_)
        for (int n : entry.running) files.emplace_back(key, entry.dir + "/logs/" + std::to_string(n) + ".log");
    }
    const auto now = SteadyClock::now();
    for (const auto& [key, path] : files) {
      auto rotated = RotateIfNeeded(path, options_.rotation);
      if (!rotated)
        spdlog::warn("agent {}: rotating {}: {}", options_.name, path, rotated.error().to_string());
      else if (*rotated)
        rotations[key].push_back(now);
    }
    bool any = false;
    for (auto it = rotations.begin(); it != rotations.end();) {
      auto& times = it->second;
      while (!times.empty() && now - times.front() > kWindow) times.pop_front();
      const bool now_flooding = times.size() >= kFloodRotations;
      bool& was = flooding[it->first];
      if (now_flooding != was && (now_flooding || times.empty())) {
        was = now_flooding;
        post([this, key = it->first, now_flooding] { on_flood(key, now_flooding); });
      }
      any = any || was;
      if (times.empty() && !was) {
        flooding.erase(it->first);
        it = rotations.erase(it);
      } else {
        ++it;
      }
    }
    // While a process floods its log, check often: the disk it can fill between two checks is
    // what it writes in one period.
    std::unique_lock lock(mu);
    cv.wait_for(lock, st, any ? kFloodRotationPeriod : kRotationPeriod, [] { return false; });
  }
}

void AgentImpl::on_flood(const std::string& key, bool flooding) {
  for (auto& [uid, s] : sups_) {
    if (s.key() != key) continue;
    if (s.flooding == flooding) return;
    s.flooding = flooding;
    s.dirty = true;
    if (flooding)
      event(s, "Warning", "LogFlood",
            "output exceeds " + std::to_string(options_.rotation.max_bytes >> 20) +
                " MiB several times in 10s; "
                "only the newest output is kept");
    return;
  }
}

void AgentImpl::apply(Supervised& s, EpochActions actions) {
  std::deque<EpochAction> work(actions.begin(), actions.end());
  const auto now = Clock::now();
  while (!work.empty()) {
    EpochAction a = std::move(work.front());
    work.pop_front();
    s.dirty = true;
    switch (a.type) {
      case EpochAction::Type::kStart: {
        if (a.restart) ++s.restarts;
        if (!start_epoch(s, a)) {
          auto more = s.machine->exited(a.epoch, ExitKind::kFailed, now);
          work.insert(work.end(), more.begin(), more.end());
        }
        break;
      }
      case EpochAction::Type::kDrain: {
        auto it = s.epochs.find(a.epoch);
        if (it != s.epochs.end()) begin_stop(s, it->second, s.deleting);
        break;
      }
      case EpochAction::Type::kAbort: {
        auto it = s.epochs.find(a.epoch);
        if (it != s.epochs.end() && !it->second.aborted) {
          it->second.aborted = true;
          SignalGroup(it->second.id.pid, SIGKILL);
        }
        break;
      }
      case EpochAction::Type::kCleanup:
        break;  // the exit handler already forgot the OS process; logs stay for `setpoint logs`
      case EpochAction::Type::kPanic: {
        const bool never = s.machine->desired() && s.epochs.empty() && s.object.contains("spec") &&
                           GetStringOr(s.object.at("spec").as_object(), "restartPolicy", "") == "Never";
        s.reason = never ? "Failed" : "RetryBudgetExhausted";
        s.message = never
                        ? "the process failed and its restartPolicy is Never"
                        : "gave up after " + std::to_string(s.restarts) + " restarts; a change of the spec tries again";
        if (s.last_termination && !s.last_termination->message.empty()) s.message += ": " + s.last_termination->message;
        event(s, "Warning", "Failed", s.message);
        break;
      }
    }
  }
  save_state();
}

Status AgentImpl::ensure_ports(Supervised& s, const ProcessConfig& config, int index) {
  std::vector<PortAllocation> next;
  const bool others_running = !s.epochs.empty();
  for (auto want : config.ports) {
    if (want.indexed && want.port > 0) {
      if (index < 0)
        return Status::Invalid("spec.ports: \"" + want.name + "\" is indexed but the process has no index");
      want.port += index;
      if (want.port > 65535) return Status::Invalid("spec.ports: \"" + want.name + "\" + index is past 65535");
    }
    auto have =
        std::find_if(s.ports.begin(), s.ports.end(), [&](const PortAllocation& p) { return p.name == want.name; });
    const bool reusable = have != s.ports.end() && have->address == want.address &&
                          (want.port == 0 ? have->requested == 0 || have->port != 0 : have->port == want.port);
    PortAllocation p;
    p.name = want.name;
    p.requested = want.port;
    p.address = want.address;
    p.pass_socket = want.pass_socket;
    if (reusable) {
      p.port = have->port;
      if (want.pass_socket && have->fd >= 0) {
        p.fd = have->fd;
        have->fd = -1;
      }
    }
    if (want.pass_socket && p.fd < 0) {
      auto sock = ListenTcp(want.address, static_cast<unsigned short>(p.port ? p.port : want.port));
      if (!sock) return sock.error();
      p.fd = sock->fd;
      p.port = sock->port;
    } else if (!want.pass_socket && (p.port == 0 || !others_running)) {
      // Programs that bind for themselves: allocate, or check the fixed port is free. While an
      // older epoch runs it holds the port, and the program must share it (SO_REUSEPORT).
      auto port = ReservePort(want.address, static_cast<unsigned short>(p.port ? p.port : want.port));
      if (!port) return port.error();
      p.port = *port;
    }
    next.push_back(std::move(p));
  }
  for (auto& old : s.ports)
    if (old.fd >= 0) ::close(old.fd);
  s.ports = std::move(next);
  return Status::Ok();
}

bool AgentImpl::start_epoch(Supervised& s, const EpochAction& a) {
  const auto now = Clock::now();
  auto fail = [&](std::string reason, std::string message) {
    s.reason = reason;
    s.message = message;
    s.last_termination = Termination{a.epoch, -1, 0, reason, message, std::chrono::system_clock::now()};
    event(s, "Warning", reason == "PortConflict" ? "PortConflict" : "FailedStart", message);
    spdlog::warn("agent {}: {} epoch {}: {}", options_.name, s.key(), a.epoch, message);
    return false;
  };
  auto parsed = ParseJson(a.config);
  if (!parsed || !parsed->is_object()) return fail("StartFailed", "the desired config is not an object");
  auto config = ParseProcessSpec(parsed->get_object());
  if (!config) return fail("InvalidSpec", config.error().message());
  std::string index;
  if (const json::object* meta = GetObject(s.object, "metadata"))
    if (const json::object* labels = GetObject(*meta, "labels"))
      index = std::string(GetStringOr(*labels, kIndexLabel, ""));
  const int index_number =
      !index.empty() && index.find_first_not_of("0123456789") == std::string::npos && index.size() < 6
          ? std::stoi(index)
          : -1;
  if (Status st = ensure_ports(s, *config, index_number); !st.ok())
    return fail(st.code() == StatusCode::kAlreadyExists ? "PortConflict"
                : st.code() == StatusCode::kInvalid     ? "InvalidSpec"
                                                        : "StartFailed",
                st.message());
  std::error_code ec;
  fs::create_directories(s.dir + "/logs", ec);
  fs::create_directories(s.dir + "/work", ec);
  if (ec) return fail("StartFailed", "cannot create " + s.dir + ": " + ec.message());

  std::vector<std::pair<std::string, std::string>> base = {{"PATH", Env("PATH", "/usr/local/bin:/usr/bin:/bin")},
                                                           {"HOME", Env("HOME", "/")},
                                                           {"PROCESS_NAME", s.name},
                                                           {"PROCESS_NAMESPACE", s.ns},
                                                           {"PROCESS_INDEX", index},
                                                           {"PROCESS_EPOCH", std::to_string(a.epoch)},
                                                           {"AGENT_NAME", options_.name}};
  for (const auto& p : s.ports) base.emplace_back(PortConfig{p.name, 0, "", false}.env_name(), std::to_string(p.port));
  auto env = BuildEnvironment(*config, s.object, base);
  if (!env) return fail("InvalidSpec", env.error().message());
  std::map<std::string, std::string> vars(env->begin(), env->end());

  LaunchSpec launch;
  for (const auto& c : config->command) launch.argv.push_back(Expand(c, vars));
  for (const auto& c : config->args) launch.argv.push_back(Expand(c, vars));
  launch.env = *env;
  launch.working_dir = config->working_dir.empty() ? s.dir + "/work" : Expand(config->working_dir, vars);
  launch.stdout_path = launch.stderr_path = s.dir + "/logs/" + std::to_string(a.epoch) + ".log";
  for (const auto& p : s.ports)
    if (p.pass_socket && p.fd >= 0) {
      launch.pass_fds.push_back(p.fd);
      launch.fd_names.push_back(p.name);
    }
  auto id = Launch(launch);
  if (!id) return fail("StartFailed", id.error().message());
  if (Status st = watcher_->watch(*id); !st.ok())
    spdlog::warn("agent {}: watching pid {}: {}", options_.name, id->pid, st.to_string());

  RunningEpoch e;
  e.number = a.epoch;
  e.id = *id;
  e.config = a.config;
  e.generation = Generation(s.object);
  e.started = now;
  e.started_wall = std::chrono::system_clock::now();
  e.stop_signal = config->stop_signal;
  e.grace_seconds = config->termination_grace_seconds;
  e.env = launch.env;
  e.working_dir = launch.working_dir;
  if (config->readiness) e.readiness.next = now + std::chrono::seconds(config->readiness->initial_delay_seconds);
  if (config->liveness) e.liveness.next = now + std::chrono::seconds(config->liveness->initial_delay_seconds);
  const bool ready_now = !config->readiness;
  e.ready = ready_now;
  e.spec = std::move(*config);
  s.epochs[a.epoch] = std::move(e);
  s.reason = "Started";
  s.message.clear();
  event(s, "Normal", "Started",
        "Started epoch " + std::to_string(a.epoch) + " (pid " + std::to_string(id->pid) + ")" +
            (a.restart ? " after a failure" : ""));
  if (ready_now) {
    auto more = s.machine->ready(a.epoch, now);
    for (const auto& m : more)
      if (m.type == EpochAction::Type::kDrain)
        if (auto it = s.epochs.find(m.epoch); it != s.epochs.end()) begin_stop(s, it->second, s.deleting);
  }
  return true;
}

// Drain then stop: the drain period (skipped when `now`), the stop signal, the grace period, SIGKILL.
void AgentImpl::begin_stop(Supervised& s, RunningEpoch& e, bool now_) {
  if (e.draining) {
    if (now_ && e.stop_at) e.stop_at = Clock::now();
    return;
  }
  e.draining = true;
  const RunningEpoch* newest = s.newest();
  int drain = (newest && newest->spec) ? newest->spec->drain_seconds : 0;
  e.stop_at = Clock::now() + std::chrono::seconds(now_ ? 0 : drain);
  event(s, "Normal", "Draining",
        "Stopping epoch " + std::to_string(e.number) + " (pid " + std::to_string(e.id.pid) + ")" +
            (now_ || drain == 0 ? "" : " after a drain period of " + std::to_string(drain) + "s"));
}

Supervised* AgentImpl::find(const ProcessIdentity& id, int* epoch) {
  for (auto& [uid, s] : sups_)
    for (auto& [n, e] : s.epochs)
      if (e.id.pid == id.pid && e.id.start_time == id.start_time) {
        *epoch = n;
        return &s;
      }
  return nullptr;
}

void AgentImpl::on_exit(const ProcessIdentity& id, ExitInfo info) {
  int n = -1;
  Supervised* s = find(id, &n);
  if (!s) return;
  RunningEpoch e = std::move(s->epochs.at(n));
  s->epochs.erase(n);
  // Whatever is left in its process group goes with it: children never outlive their epoch.
  SignalGroup(e.id.pid, SIGKILL);
  ExitKind kind;
  Termination t{
      n, info.known ? info.exit_code : -1, info.signal, "", DescribeExit(info), std::chrono::system_clock::now()};
  if (e.aborted) {
    kind = ExitKind::kAborted;
    t.reason = "Aborted";
  } else if (e.draining) {
    kind = ExitKind::kNormal;
    t.reason = "Stopped";
  } else if (e.liveness_failed) {
    kind = ExitKind::kFailed;
    t.reason = "LivenessProbeFailed";
  } else if (info.known && info.signal == 0 && info.exit_code == 0) {
    kind = ExitKind::kNormal;
    t.reason = "Completed";
  } else {
    kind = ExitKind::kFailed;
    t.reason = info.known ? "Error" : "Unknown";
  }
  spdlog::info("agent {}: {} epoch {} (pid {}) exited: {} ({})", options_.name, s->key(), n, id.pid, t.message,
               t.reason);
  s->last_termination = t;
  auto actions = s->machine->exited(n, kind, Clock::now());
  if (kind == ExitKind::kFailed && s->machine->state() == MachineState::kBackoff) {
    s->reason = "CrashLoopBackOff";
    s->message = "back-off restarting failed process: epoch " + std::to_string(n) + " " + t.message;
    event(*s, "Warning", "BackOff", s->message);
  }
  apply(*s, std::move(actions));
}

void AgentImpl::run_probe(Supervised& s, RunningEpoch& e, bool liveness) {
  const ProbeConfig& pc = liveness ? *e.spec->liveness : *e.spec->readiness;
  ProbeState& ps = liveness ? e.liveness : e.readiness;
  ProbeSpec spec;
  spec.kind = pc.kind;
  spec.command = pc.command;
  spec.env = e.env;
  spec.working_dir = e.working_dir;
  spec.host = pc.host;
  spec.path = pc.path;
  spec.http_headers = pc.headers;
  spec.timeout = std::chrono::seconds(pc.timeout_seconds);
  if (pc.kind != ProbeSpec::Kind::kExec) {
    int port = std::atoi(pc.port.c_str());
    if (port == 0)
      for (const auto& p : s.ports)
        if (p.name == pc.port) port = p.port;
    if (port <= 0 || port > 65535) {
      on_probe(s.uid, e.number, liveness,
               {false, "port \"" + pc.port + "\" is neither a number nor a port of the process"});
      return;
    }
    spec.port = static_cast<unsigned short>(port);
  }
  ps.in_flight = true;
  probes_->submit([this, spec = std::move(spec), uid = s.uid, n = e.number, liveness] {
    ProbeResult r = RunProbe(spec);
    post([this, uid, n, liveness, r = std::move(r)] { on_probe(uid, n, liveness, r); });
  });
}

void AgentImpl::on_probe(const std::string& uid, int n, bool liveness, ProbeResult result) {
  auto it = sups_.find(uid);
  if (it == sups_.end()) return;
  Supervised& s = it->second;
  auto ei = s.epochs.find(n);
  if (ei == s.epochs.end() || !ei->second.spec) return;
  RunningEpoch& e = ei->second;
  const ProbeConfig& pc = liveness ? *e.spec->liveness : *e.spec->readiness;
  ProbeState& ps = liveness ? e.liveness : e.readiness;
  ps.in_flight = false;
  ps.next = Clock::now() + std::chrono::seconds(pc.period_seconds);
  if (result.success) {
    ps.failures = 0;
    ++ps.successes;
  } else {
    ps.successes = 0;
    ++ps.failures;
    ps.last_message = result.message;
  }
  if (liveness) {
    if (ps.failures == pc.failure_threshold && !e.draining && !e.aborted) {
      e.liveness_failed = true;
      event(s, "Warning", "Unhealthy", "Liveness probe failed: " + result.message);
      event(s, "Normal", "Killing", "Epoch " + std::to_string(n) + " failed its liveness probe, will be restarted");
      begin_stop(s, e, true);
      s.dirty = true;
    }
    return;
  }
  if (!e.ready && ps.successes >= pc.success_threshold) {
    e.ready = true;
    s.dirty = true;
    apply(s, s.machine->ready(n, Clock::now()));
  } else if (e.ready && ps.failures >= pc.failure_threshold) {
    e.ready = false;
    s.dirty = true;
    event(s, "Warning", "Unhealthy", "Readiness probe failed: " + result.message);
  } else if (!e.ready && ps.failures == pc.failure_threshold) {
    s.dirty = true;
    event(s, "Warning", "Unhealthy", "Readiness probe failed: " + result.message);
  }
}

}  // namespace setpoint::agent
