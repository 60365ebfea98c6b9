// What the agent runs for a Process: its spec parsed into a ProcessConfig (after the server's
// schema defaulting, so absent fields take their schema defaults here too), the environment and
// $(VAR) expansion of Kubernetes, and the "config" string whose changes start a new epoch.
//
// Pure functions, no I/O; thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "agent/epochs.h"
#include "agent/probes.h"
#include "setpoint/common/status.h"

namespace setpoint::agent {

struct PortConfig {
  std::string name;
  int port = 0;  // 0: allocated by the agent
  std::string address = "127.0.0.1";
  bool pass_socket = false;
  bool indexed = false;          // the fixed port is port + the replica's index
  std::string env_name() const;  // "PORT_" + upper-cased name, '-' → '_'
};

struct ProbeConfig {
  ProbeSpec::Kind kind = ProbeSpec::Kind::kTcp;
  std::vector<std::string> command;  // exec
  std::string host = "127.0.0.1";
  std::string port;  // a number or a port name, resolved at run time
  std::string path = "/";
  std::vector<std::pair<std::string, std::string>> headers;
  int initial_delay_seconds = 0, period_seconds = 10, timeout_seconds = 1;
  int success_threshold = 1, failure_threshold = 3;
};

struct EnvVar {
  std::string name;
  std::string value;
  std::string field_path;  // valueFrom.fieldRef.fieldPath when set
};

struct ProcessConfig {
  std::vector<std::string> command, args;
  std::vector<EnvVar> env;
  std::string working_dir;
  std::vector<PortConfig> ports;
  RestartPolicy restart = RestartPolicy::kAlways;
  std::optional<ProbeConfig> readiness, liveness;
  int stop_signal = 15;
  int termination_grace_seconds = 30;
  int drain_seconds = 0;
  int max_retries = 10;
  int initial_backoff_ms = 200;

  RetryPolicy retry_policy() const;
};

// Errors: Invalid, with a message naming the field ("spec.stopSignal: unknown signal \"SIGFOO\"").
Result<ProcessConfig> ParseProcessSpec(const boost::json::object& spec);

// The part of a Process that, when it changes, needs a new epoch: the spec without where it
// runs (agentName, agentSelector), in a canonical form (keys sorted), so equal specs compare equal
// whatever order the server wrote them in.
std::string EpochConfig(const boost::json::object& spec);

// Kubernetes' $(VAR) expansion: $(NAME) becomes vars[NAME] when defined and stays as written
// otherwise; $$ becomes $ ("$$(X)" → "$(X)").
std::string Expand(std::string_view text, const std::map<std::string, std::string>& vars);

// A fieldRef.fieldPath read from the object: metadata.name, metadata.namespace, metadata.uid,
// metadata.labels['k'], metadata.annotations['k'], spec.agentName. Invalid for other paths.
Result<std::string> FieldRef(const boost::json::object& process, std::string_view path);

// The environment of one epoch (docs/design/agent.md "Environment of a process"): `base` first
// (PATH, HOME, PROCESS_*, AGENT_NAME, PORT_*), then spec.env in order, each value expanded with
// the variables defined before it. Errors from FieldRef.
Result<std::vector<std::pair<std::string, std::string>>> BuildEnvironment(
    const ProcessConfig& config, const boost::json::object& process,
    const std::vector<std::pair<std::string, std::string>>& base);

}  // namespace setpoint::agent
