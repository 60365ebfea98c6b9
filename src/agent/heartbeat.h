// Heartbeat: the agent's presence in the API. It creates (or takes over) the cluster-scoped Agent
// object with the agent's labels, keeps its status true (capacity, endpoint, agent info, process
// count, Ready), and renews the Lease `kube-node-lease/<name>` every leaseDuration/4, as the
// kubelet renews its node Lease.
//
// run() on one thread until stopped; errors are logged and retried at the next beat (the API
// server may be away for a while). Thread-compatible otherwise.
#pragma once

#include <functional>
#include <stop_token>
#include <string>

#include <boost/json/object.hpp>

#include "agent/agent.h"
#include "setpoint/client/dynamic_client.h"

namespace setpoint::agent {

class Heartbeat {
 public:
  Heartbeat(client::DynamicClient& api, const AgentOptions& options, std::string endpoint_address,
            unsigned short log_port, std::function<int()> processes);
  void run(std::stop_token stop);
  // One beat: make sure the Agent exists and is Ready, renew the Lease. Exposed for tests.
  Status beat();

 private:
  Status ensure_agent();
  Status renew_lease();

  client::DynamicClient& api_;
  const AgentOptions& options_;
  const std::string endpoint_address_;
  const unsigned short log_port_;
  const std::function<int()> processes_;
  int reported_processes_ = -1;
  bool reported_ready_ = false;
};

}  // namespace setpoint::agent
