// memcached-operator: runs Memcached custom resources as memcached servers supervised by setpoint
// (see memcached_controller.h).
//
//   memcached-operator [--kubeconfig FILE] [--namespace NS] [--health ADDR:PORT] [--leader-elect]
//                      [--memcached-binary PATH]
//
// MEMCACHED_BINARY in the environment also names the binary (the tutorial's MEMCACHED_IMAGE).
#include <cstdlib>
#include <iostream>
#include <string>

#include "memcached_controller.h"
#include "memcached_types.h"
#include "setpoint/client/config.h"
#include "setpoint/client/rest_client.h"
#include "setpoint/runtime/manager.h"
#include "setpoint/runtime/stop_signals.h"

namespace client = setpoint::client;
namespace runtime = setpoint::runtime;

int main(int argc, char** argv) {
  client::KubeconfigOptions kubeconfig;
  std::string ns;  // empty: every namespace
  std::string health = "127.0.0.1:8081";
  bool leader_elect = false;
  memcached::Options options;
  if (const char* env = std::getenv("MEMCACHED_BINARY")) options.binary = env;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--kubeconfig" && has_value)
      kubeconfig.path = argv[++i];
    else if (arg == "--namespace" && has_value)
      ns = argv[++i];
    else if (arg == "--health" && has_value)
      health = argv[++i];
    else if (arg == "--memcached-binary" && has_value)
      options.binary = argv[++i];
    else if (arg == "--leader-elect")
      leader_elect = true;
    else {
      std::cerr << "usage: " << argv[0] << " [--kubeconfig FILE] [--namespace NS] [--health ADDR:PORT]"
                << " [--leader-elect] [--memcached-binary PATH]\n";
      return 2;
    }
  }
  // SIGINT/SIGTERM stop the manager; first, so that every thread started later inherits the mask.
  runtime::StopSignals signals;

  auto config = client::LoadKubeconfig(kubeconfig);
  if (!config) return std::cerr << "kubeconfig: " << config.error().to_string() << "\n", 1;
  auto rest = client::RestClient::Create(*config);
  if (!rest) return std::cerr << "client: " << rest.error().to_string() << "\n", 1;

  runtime::ManagerOptions manager_options;
  manager_options.name = "memcached-operator";
  manager_options.health_listen = health;
  if (leader_elect) {
    runtime::LeaderElectionConfig election;
    election.lease_namespace = config->namespace_.empty() ? "default" : config->namespace_;
    election.lease_name = "memcached-operator";
    manager_options.leader_election = election;
  }
  auto manager = runtime::Manager::Create(**rest, std::move(manager_options));
  if (!manager) return std::cerr << "manager: " << manager.error().to_string() << "\n", 1;
  runtime::Manager& m = **manager;
  if (!ns.empty()) {
    for (const auto& gvr : {memcached::kMemcacheds, memcached::kProcessSets, memcached::kProcesses})
      m.set_cache_options(gvr, {.ns = ns});
  }
  memcached::MemcachedReconciler reconciler(m.client(), m.recorder(), options);
  auto controller = memcached::BuildController(m.controller("memcached"), reconciler);
  if (!controller) return std::cerr << "controller: " << controller.error().to_string() << "\n", 1;
  if (auto s = m.add(std::move(*controller)); !s.ok()) return std::cerr << s.to_string() << "\n", 1;

  std::cout << "memcached-operator: reconciling Memcacheds in " << (ns.empty() ? "every namespace" : "namespace " + ns)
            << " with " << options.binary << "; health and metrics on " << health << std::endl;
  const setpoint::Status result = m.run(signals.token());
  if (!signals.signalled()) {
    std::cerr << "memcached-operator: " << result.to_string() << std::endl;
    return 1;
  }
  std::cout << "memcached-operator: stopped" << std::endl;
  return result.ok() ? 0 : 1;
}
