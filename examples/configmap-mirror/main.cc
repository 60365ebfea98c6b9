// configmap-mirror: a small operator on the setpoint SDK (see mirror.h for what it does).
//
//   configmap-mirror [--kubeconfig FILE] [--namespace NS] [--health 127.0.0.1:8081] [--leader-elect]
//
// The Manager owns the caches (one watch of ConfigMaps, shared by For and Owns), a client whose
// cached reads wait for our own writes, an event recorder, /healthz /readyz /metrics, and with
// --leader-elect a Lease so that only one of several replicas works at a time.
#include <iostream>
#include <string>

#include "mirror.h"
#include "setpoint/client/config.h"
#include "setpoint/client/rest_client.h"
#include "setpoint/runtime/manager.h"
#include "setpoint/runtime/stop_signals.h"

namespace client = setpoint::client;
namespace runtime = setpoint::runtime;

int main(int argc, char** argv) {
  client::KubeconfigOptions kubeconfig;  // empty path: $KUBECONFIG, then ~/.kube/config
  std::string ns;                        // empty: the kubeconfig context's namespace
  std::string health = "127.0.0.1:8081";
  bool leader_elect = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--kubeconfig" && i + 1 < argc) {
      kubeconfig.path = argv[++i];
    } else if (arg == "--namespace" && i + 1 < argc) {
      ns = argv[++i];
    } else if (arg == "--health" && i + 1 < argc) {
      health = argv[++i];
    } else if (arg == "--leader-elect") {
      leader_elect = true;
    } else {
      std::cerr << "usage: " << argv[0]
                << " [--kubeconfig FILE] [--namespace NS] [--health ADDR:PORT] [--leader-elect]\n";
      return 2;
    }
  }
  // SIGINT/SIGTERM stop the manager; first, so that every thread started later inherits the mask.
  runtime::StopSignals signals;

  auto config = client::LoadKubeconfig(kubeconfig);
  if (!config) return std::cerr << "kubeconfig: " << config.error().to_string() << "\n", 1;
  if (ns.empty()) ns = config->namespace_;
  auto rest = client::RestClient::Create(*config);
  if (!rest) return std::cerr << "client: " << rest.error().to_string() << "\n", 1;

  runtime::ManagerOptions options;
  options.name = "configmap-mirror";
  options.health_listen = health;
  if (leader_elect) {
    runtime::LeaderElectionConfig election;
    election.lease_namespace = ns;
    election.lease_name = "configmap-mirror";
    options.leader_election = election;
  }
  auto manager = runtime::Manager::Create(**rest, std::move(options));
  if (!manager) return std::cerr << "manager: " << manager.error().to_string() << "\n", 1;
  runtime::Manager& m = **manager;
  m.set_cache_options(mirror::kConfigMaps, {.ns = ns});  // watch our namespace only

  mirror::MirrorReconciler reconciler(m.client(), m.recorder());
  auto controller = mirror::BuildController(m.controller("configmap-mirror"), reconciler);
  if (!controller) return std::cerr << "controller: " << controller.error().to_string() << "\n", 1;
  if (auto s = m.add(std::move(*controller)); !s.ok()) return std::cerr << s.to_string() << "\n", 1;

  std::cout << "configmap-mirror: mirroring ConfigMaps labelled " << mirror::kWantsMirror << " in namespace " << ns
            << "; health and metrics on " << health << std::endl;
  const setpoint::Status result = m.run(signals.token());  // returns after SIGTERM, or on failure
  if (!signals.signalled()) {
    std::cerr << "configmap-mirror: " << result.to_string() << std::endl;
    return 1;
  }
  std::cout << "configmap-mirror: stopped" << std::endl;
  return result.ok() ? 0 : 1;
}
