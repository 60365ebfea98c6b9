// Typed kinds of group setpoint.dev/v1alpha1: Agent, Process and ProcessSet (docs/processes.md is
// their user's guide, docs/design/agent.md their contract). Defaults are the served schema's, so a
// typed object built in code compares equal to the one the server returns for it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "setpoint/types/meta.h"

namespace setpoint::setpointv1alpha1 {

using types::Condition;
using types::IntOrString;

struct ExecAction {
  std::vector<std::string> command;
  friend bool operator==(const ExecAction&, const ExecAction&) = default;
};
BOOST_DESCRIBE_STRUCT(ExecAction, (), (command))

struct TcpSocketAction {
  std::string host;
  IntOrString port;  // a number or the name of one of the process's ports
  friend bool operator==(const TcpSocketAction&, const TcpSocketAction&) = default;
};
BOOST_DESCRIBE_STRUCT(TcpSocketAction, (), (host, port))

struct HttpHeader {
  std::string name, value;
  friend bool operator==(const HttpHeader&, const HttpHeader&) = default;
};
BOOST_DESCRIBE_STRUCT(HttpHeader, (), (name, value))

struct HttpGetAction {
  std::string host, path = "/";
  IntOrString port;
  std::vector<HttpHeader> httpHeaders;
  friend bool operator==(const HttpGetAction&, const HttpGetAction&) = default;
};
BOOST_DESCRIBE_STRUCT(HttpGetAction, (), (host, path, port, httpHeaders))

struct Probe {
  std::optional<ExecAction> exec;
  std::optional<TcpSocketAction> tcpSocket;
  std::optional<HttpGetAction> httpGet;
  std::int32_t initialDelaySeconds = 0, periodSeconds = 10, timeoutSeconds = 1, successThreshold = 1,
               failureThreshold = 3;
  friend bool operator==(const Probe&, const Probe&) = default;
};
BOOST_DESCRIBE_STRUCT(Probe, (),
                      (exec, tcpSocket, httpGet, initialDelaySeconds, periodSeconds, timeoutSeconds, successThreshold,
                       failureThreshold))

struct FieldRef {
  std::string fieldPath;
  friend bool operator==(const FieldRef&, const FieldRef&) = default;
};
BOOST_DESCRIBE_STRUCT(FieldRef, (), (fieldPath))

struct EnvSource {
  std::optional<FieldRef> fieldRef;
  friend bool operator==(const EnvSource&, const EnvSource&) = default;
};
BOOST_DESCRIBE_STRUCT(EnvSource, (), (fieldRef))

struct EnvVar {
  std::string name, value;
  std::optional<EnvSource> valueFrom;
  friend bool operator==(const EnvVar&, const EnvVar&) = default;
};
BOOST_DESCRIBE_STRUCT(EnvVar, (), (name, value, valueFrom))

struct Port {
  std::string name;
  std::int32_t port = 0;  // 0: the agent allocates a free port
  std::string address = "127.0.0.1";
  bool passSocket = false;  // the agent binds it and passes the listening socket (LISTEN_FDS)
  bool indexed = false;     // port + the replica's index
  friend bool operator==(const Port&, const Port&) = default;
};
BOOST_DESCRIBE_STRUCT(Port, (), (name, port, address, passSocket, indexed))

struct ProcessSpec {
  std::string agentName;
  std::map<std::string, std::string> agentSelector;
  std::vector<std::string> command, args;
  std::vector<EnvVar> env;
  std::string workingDir;
  std::vector<Port> ports;
  std::string restartPolicy = "Always";  // Always | OnFailure | Never
  std::optional<Probe> readinessProbe, livenessProbe;
  std::string stopSignal = "SIGTERM";
  std::int32_t terminationGracePeriodSeconds = 30, drainPeriodSeconds = 0, maxRetries = 10,
               initialBackoffMilliseconds = 200;
  friend bool operator==(const ProcessSpec&, const ProcessSpec&) = default;
};
BOOST_DESCRIBE_STRUCT(ProcessSpec, (),
                      (agentName, agentSelector, command, args, env, workingDir, ports, restartPolicy, readinessProbe,
                       livenessProbe, stopSignal, terminationGracePeriodSeconds, drainPeriodSeconds, maxRetries,
                       initialBackoffMilliseconds))

struct PortStatus {
  std::string name;
  std::int32_t port = 0;
  std::string address;
  friend bool operator==(const PortStatus&, const PortStatus&) = default;
};
BOOST_DESCRIBE_STRUCT(PortStatus, (), (name, port, address))

struct EpochStatus {
  std::int64_t epoch = 0, pid = 0;
  std::string state;
  bool ready = false;
  std::string startTime;
  std::int64_t generation = 0;
  friend bool operator==(const EpochStatus&, const EpochStatus&) = default;
};
BOOST_DESCRIBE_STRUCT(EpochStatus, (), (epoch, pid, state, ready, startTime, generation))

struct Termination {
  std::int64_t epoch = 0, exitCode = 0, signal = 0;
  std::string reason, message, finishedAt;
  friend bool operator==(const Termination&, const Termination&) = default;
};
BOOST_DESCRIBE_STRUCT(Termination, (), (epoch, exitCode, signal, reason, message, finishedAt))

struct ProcessStatus {
  std::string phase;  // Pending | Starting | Running | BackOff | Succeeded | Failed | Lost | Terminating
  std::string reason, message, agent;
  std::int64_t pid = 0, epoch = 0, restartCount = 0;
  bool ready = false;
  std::string startTime;
  std::optional<std::int64_t> observedGeneration;  // absent until the agent has reported
  std::vector<PortStatus> ports;
  std::vector<EpochStatus> epochs;
  std::optional<Termination> lastTermination;
  std::vector<Condition> conditions;
  friend bool operator==(const ProcessStatus&, const ProcessStatus&) = default;
};
BOOST_DESCRIBE_STRUCT(ProcessStatus, (),
                      (phase, reason, message, agent, pid, epoch, restartCount, ready, startTime, observedGeneration,
                       ports, epochs, lastTermination, conditions))

struct Process : types::Object {
  static constexpr types::Kind kKind{"setpoint.dev", "v1alpha1", "Process", "processes"};
  ProcessSpec spec;
  ProcessStatus status;
};
BOOST_DESCRIBE_STRUCT(Process, (types::Object), (spec, status))

struct ProcessTemplate {
  types::ObjectMeta metadata;  // labels and annotations are kept; the server drops the rest
  ProcessSpec spec;
  friend bool operator==(const ProcessTemplate&, const ProcessTemplate&) = default;
};
BOOST_DESCRIBE_STRUCT(ProcessTemplate, (), (metadata, spec))

struct RollingUpdate {
  std::optional<IntOrString> maxSurge, maxUnavailable;
  friend bool operator==(const RollingUpdate&, const RollingUpdate&) = default;
};
BOOST_DESCRIBE_STRUCT(RollingUpdate, (), (maxSurge, maxUnavailable))

struct UpdateStrategy {
  std::string type_ = "RollingUpdate";  // RollingUpdate | HotRestart
  std::optional<RollingUpdate> rollingUpdate;
  friend bool operator==(const UpdateStrategy&, const UpdateStrategy&) = default;
};
BOOST_DESCRIBE_STRUCT(UpdateStrategy, (), (type_, rollingUpdate))

struct ProcessSetSpec {
  std::int32_t replicas = 1, minReadySeconds = 0;
  types::LabelSelector selector;
  ProcessTemplate template_;
  UpdateStrategy strategy;
  friend bool operator==(const ProcessSetSpec&, const ProcessSetSpec&) = default;
};
BOOST_DESCRIBE_STRUCT(ProcessSetSpec, (), (replicas, minReadySeconds, selector, template_, strategy))

struct ProcessSetStatus {
  std::int32_t replicas = 0, readyReplicas = 0, updatedReplicas = 0, availableReplicas = 0;
  std::int64_t observedGeneration = 0;
  std::string selector, templateHash;
  std::vector<Condition> conditions;
  friend bool operator==(const ProcessSetStatus&, const ProcessSetStatus&) = default;
};
BOOST_DESCRIBE_STRUCT(ProcessSetStatus, (),
                      (replicas, readyReplicas, updatedReplicas, availableReplicas, observedGeneration, selector,
                       templateHash, conditions))

struct ProcessSet : types::Object {
  static constexpr types::Kind kKind{"setpoint.dev", "v1alpha1", "ProcessSet", "processsets"};
  ProcessSetSpec spec;
  ProcessSetStatus status;
};
BOOST_DESCRIBE_STRUCT(ProcessSet, (types::Object), (spec, status))

struct AgentSpec {
  bool unschedulable = false;
  friend bool operator==(const AgentSpec&, const AgentSpec&) = default;
};
BOOST_DESCRIBE_STRUCT(AgentSpec, (), (unschedulable))

struct AgentCapacity {
  std::optional<std::int64_t> processes;
  friend bool operator==(const AgentCapacity&, const AgentCapacity&) = default;
};
BOOST_DESCRIBE_STRUCT(AgentCapacity, (), (processes))

struct AgentAddress {
  std::string type_, address;
  friend bool operator==(const AgentAddress&, const AgentAddress&) = default;
};
BOOST_DESCRIBE_STRUCT(AgentAddress, (), (type_, address))

struct AgentEndpoint {
  std::string address;
  std::int32_t port = 0;
  friend bool operator==(const AgentEndpoint&, const AgentEndpoint&) = default;
};
BOOST_DESCRIBE_STRUCT(AgentEndpoint, (), (address, port))

struct AgentInfo {
  std::string version, bootID, hostname, dataDir;
  friend bool operator==(const AgentInfo&, const AgentInfo&) = default;
};
BOOST_DESCRIBE_STRUCT(AgentInfo, (), (version, bootID, hostname, dataDir))

struct AgentStatus {
  AgentCapacity capacity;
  std::int64_t processes = 0;
  std::vector<AgentAddress> addresses;
  AgentEndpoint endpoint;
  AgentInfo agentInfo;
  std::vector<Condition> conditions;
  friend bool operator==(const AgentStatus&, const AgentStatus&) = default;
};
BOOST_DESCRIBE_STRUCT(AgentStatus, (), (capacity, processes, addresses, endpoint, agentInfo, conditions))

struct Agent : types::Object {
  static constexpr types::Kind kKind{"setpoint.dev", "v1alpha1", "Agent", "agents", false};
  AgentSpec spec;
  AgentStatus status;
};
BOOST_DESCRIBE_STRUCT(Agent, (types::Object), (spec, status))

}  // namespace setpoint::setpointv1alpha1
