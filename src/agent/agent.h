// Agent: keeps the OS processes of the Process objects assigned to it (spec.agentName == its
// name) running the way their specs say — the Istio pilot-agent pattern made general
// (docs/design/agent.md). It registers its Agent object, renews its Lease, watches its Processes,
// runs each one's RestartEpochs machine (start, probe, drain, abort, retry with backoff), writes
// their status, serves their logs, and remembers what runs in a state file so that an agent that
// was killed and started again re-adopts its processes instead of starting duplicates.
//
// Stopping the agent leaves its processes running (as stopping a kubelet leaves its containers);
// the next agent of the same name and data dir takes them back. Deleting a Process stops its
// processes (stop signal, grace period, SIGKILL of the group) before its finalizer goes.
//
// Threads: one loop thread owns every process's state; the informer, the exit watcher and the
// probe workers only post events to it; a writer thread sends status; a heartbeat thread keeps
// the Agent and its Lease fresh and rotates log files. Start/stop from one thread.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "agent/log_files.h"
#include "setpoint/client/rest_client.h"
#include "setpoint/common/status.h"

namespace setpoint::agent {

struct AgentOptions {
  std::string name;                    // required: the Agent object's name
  std::string data_dir;                // required: state file, process directories and logs live under it
  std::string listen = "127.0.0.1:0";  // the log endpoint the API server proxies to
  std::string advertise_address;       // published in status.endpoint; empty: listen's address
  std::map<std::string, std::string> labels;
  int capacity = 0;  // most processes it accepts (0: no limit)
  std::chrono::seconds lease_duration{40};
  RotationPolicy rotation;
  int probe_workers = 4;
  std::string version;
};

class Agent {
 public:
  // `rest` is borrowed and must outlive the agent. Errors: Invalid options, Unavailable when the
  // log endpoint cannot listen or the data dir cannot be written.
  static Result<std::unique_ptr<Agent>> Start(client::RestClient& rest, AgentOptions options);
  virtual ~Agent() = default;
  // Stops watching and supervising; leaves the processes running for the next agent to adopt.
  virtual void stop() = 0;
  virtual unsigned short log_port() const = 0;
  // Processes supervised now (for tests and metrics).
  virtual int supervised() const = 0;
};

}  // namespace setpoint::agent
