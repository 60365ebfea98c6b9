// The agent's state for one Process: its object, its RestartEpochs machine, the OS processes of
// its running epochs with their probe and stop state, its ports, and the facts its status
// reports. Owned and touched only by the agent's loop thread.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "agent/epochs.h"
#include "agent/os_process.h"
#include "agent/process_spec.h"
#include "setpoint/common/clock.h"

namespace setpoint::agent {

struct ProbeState {
  SteadyTime next{};
  bool in_flight = false;
  int successes = 0, failures = 0;
  std::string last_message;
};

struct RunningEpoch {
  int number = 0;
  ProcessIdentity id;
  std::string config;
  std::int64_t generation = 0;
  SteadyTime started{};
  WallTime started_wall{};
  bool ready = false;
  bool draining = false;  // stop requested by us (drain, deletion)
  bool aborted = false;   // SIGKILLed by us
  bool liveness_failed = false;
  std::optional<SteadyTime> stop_at;  // drain period over: send the stop signal
  std::optional<SteadyTime> kill_at;  // grace period over: SIGKILL the group
  int stop_signal = 15;
  int grace_seconds = 30;
  std::optional<ProcessConfig> spec;                     // null for adopted epochs whose config no longer parses
  std::vector<std::pair<std::string, std::string>> env;  // for exec probes
  std::string working_dir;
  ProbeState readiness, liveness;
};

struct PortAllocation {
  std::string name;
  int requested = 0;  // the spec's port (0: allocated)
  int port = 0;
  std::string address;
  bool pass_socket = false;
  int fd = -1;  // the agent's listening socket for pass_socket ports
};

struct Termination {
  int epoch = 0;
  int exit_code = -1;
  int signal = 0;
  std::string reason, message;
  WallTime finished{};
};

struct Supervised {
  std::string uid, ns, name;
  boost::json::object object;  // the latest version seen (empty for orphans found at start-up)
  std::unique_ptr<RestartEpochs> machine;
  std::map<int, RunningEpoch> epochs;
  std::vector<PortAllocation> ports;
  std::optional<Termination> last_termination;
  int restarts = 0;
  bool deleting = false;  // stopping for good: deletion, reassignment, orphan
  bool has_object = false;
  bool finalizer_added = false;
  std::string reason, message;  // why it is where it is (StartFailed, CrashLoopBackOff, ...)
  std::string invalid;          // the spec does not parse: the message
  bool dirty = true;            // status to write
  std::string last_status;      // the status body last handed to the writer
  std::optional<SteadyTime> finalize_retry_at;
  std::optional<bool> flooding;  // set once a flood was seen: the LogFlood condition
  std::string dir;               // <data>/processes/<uid>: logs/ and work/

  std::string key() const { return ns + "/" + name; }
  const RunningEpoch* newest() const { return epochs.empty() ? nullptr : &epochs.rbegin()->second; }
};

}  // namespace setpoint::agent
