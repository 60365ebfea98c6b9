// AgentImpl: the agent's private parts, shared by agent.cc (start, stop, the loop, objects),
// supervision.cc (epochs, OS processes, probes, ports, the state file) and process_status.cc
// (status writes, log lookups). See agent.h for the threads; every member not marked otherwise
// belongs to the loop thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <boost/json/object.hpp>

#include "agent/agent.h"
#include "agent/heartbeat.h"
#include "agent/log_server.h"
#include "agent/state_file.h"
#include "agent/supervised.h"
#include "setpoint/client/dynamic_client.h"
#include "setpoint/common/json.h"
#include "setpoint/runtime/event_recorder.h"
#include "setpoint/runtime/informer.h"

namespace setpoint::agent {

using SteadyClock = std::chrono::steady_clock;

inline std::string MetaString(const boost::json::object& obj, std::string_view key) {
  const boost::json::object* meta = GetObject(obj, "metadata");
  return meta ? std::string(GetStringOr(*meta, key, "")) : std::string();
}

inline std::int64_t Generation(const boost::json::object& obj) {
  const boost::json::object* meta = GetObject(obj, "metadata");
  return meta ? GetInt(*meta, "generation").value_or(0) : 0;
}

// A small pool for blocking probe calls.
class ProbePool {
 public:
  explicit ProbePool(int threads) {
    for (int i = 0; i < std::max(1, threads); ++i) threads_.emplace_back([this](std::stop_token st) { work(st); });
  }
  ~ProbePool() {
    for (auto& t : threads_) t.request_stop();
    cv_.notify_all();
  }
  void submit(std::function<void()> job) {
    {
      std::lock_guard lock(mu_);
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
  }

 private:
  void work(std::stop_token st) {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, st, [&] { return !jobs_.empty(); });
        if (st.stop_requested()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }
  std::mutex mu_;
  std::condition_variable_any cv_;
  std::deque<std::function<void()>> jobs_;  // GUARDED_BY(mu_)
  std::vector<std::jthread> threads_;
};

class AgentImpl final : public Agent {
 public:
  AgentImpl(client::RestClient& rest, AgentOptions options)
      : options_(std::move(options)), api_(rest), events_(api_, {"setpoint-agent", options_.name}) {}

  ~AgentImpl() override { stop(); }

  Status start();
  void stop() override;
  unsigned short log_port() const override { return log_server_ ? log_server_->port() : 0; }
  int supervised() const override { return supervised_count_.load(); }

 private:
  // --- posting to the loop (any thread)
  void post(std::function<void()> fn) {
    {
      std::lock_guard lock(mu_);
      inbox_.push_back(std::move(fn));
    }
    cv_.notify_one();
  }
  void loop(std::stop_token st);
  void writer(std::stop_token st);

  // --- loop thread only
  void adopt_from_state();
  void on_object(const boost::json::object& obj);
  void on_gone(const std::string& uid);
  void sweep_orphans();
  void on_exit(const ProcessIdentity& id, ExitInfo info);
  void on_probe(const std::string& uid, int epoch, bool liveness, ProbeResult result);
  void apply(Supervised& s, EpochActions actions);
  bool start_epoch(Supervised& s, const EpochAction& a);
  void begin_stop(Supervised& s, RunningEpoch& e, bool now);
  void due(Supervised& s, SteadyTime now);
  void run_probe(Supervised& s, RunningEpoch& e, bool liveness);
  Status ensure_ports(Supervised& s, const ProcessConfig& config, int index);
  Status ensure_finalizer(Supervised& s, bool present);
  void finish_if_done(const std::string& uid);
  void flush_statuses();
  // Snapshots the state file's records (and the log lookup table) on the loop; the write and
  // its fsync happen on the state thread, newest snapshot wins, so the loop never waits on disk.
  void save_state();
  void state_saver(std::stop_token st);
  // Its own thread: rotates the logs of running epochs past their size limit and tells the loop
  // about floods (supervision.cc). Not on the loop, which may block (an fsync under heavy write
  // load takes seconds) while a flood fills the disk.
  void log_janitor(std::stop_token st);
  void on_flood(const std::string& key, bool flooding);
  static constexpr std::chrono::milliseconds kRotationPeriod{100};
  static constexpr std::chrono::milliseconds kFloodRotationPeriod{20};
  std::optional<SteadyTime> next_deadline() const;
  Supervised* find(const ProcessIdentity& id, int* epoch);
  void event(const Supervised& s, std::string_view type, std::string_view reason, std::string message) {
    if (s.has_object) events_.event(s.object, type, reason, std::move(message));
  }
  Result<LogSource> resolve_log(const LogQuery& q);

  AgentOptions options_;
  client::DynamicClient api_;
  runtime::EventRecorder events_;
  std::string root_, state_path_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> inbox_;  // GUARDED_BY(mu_)

  std::map<std::string, Supervised> sups_;  // by uid; loop thread only
  std::atomic<int> supervised_count_{0};

  // Log lookups come from log-server threads: a copy of what they need, under its own lock.
  struct LogEntry {
    std::string dir;
    int newest = -1;
    std::set<int> running;
  };
  mutable std::mutex logs_mu_;
  std::map<std::string, LogEntry> logs_;  // by ns/name; GUARDED_BY(logs_mu_)

  std::mutex write_mu_;
  std::condition_variable_any write_cv_;
  std::map<std::string, std::pair<std::string, std::string>> pending_writes_;  // key -> (ns/name, body)

  std::unique_ptr<ExitWatcher> watcher_;
  std::unique_ptr<ProbePool> probes_;
  std::unique_ptr<LogServer> log_server_;
  std::unique_ptr<runtime::Informer> informer_;
  std::unique_ptr<Heartbeat> heartbeat_;
  std::mutex state_mu_;
  std::condition_variable_any state_cv_;
  std::optional<std::vector<ProcessRecord>> pending_state_;  // GUARDED_BY(state_mu_)
  std::jthread loop_thread_, writer_thread_, heartbeat_thread_, janitor_thread_, state_thread_;
  std::jthread orphans_thread_;  // until the first list is in: then it posts the orphan sweep
  bool stopped_ = false;
};

}  // namespace setpoint::agent
