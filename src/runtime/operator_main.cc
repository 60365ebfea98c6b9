#include "setpoint/runtime/operator_main.h"

#include <cstdlib>
#include <iostream>

#include "setpoint/api/yaml.h"
#include "setpoint/client/config.h"
#include "setpoint/client/rest_client.h"
#include "setpoint/runtime/stop_signals.h"

namespace setpoint::runtime {

namespace {

void Usage(std::ostream& out, const char* argv0, const OperatorOptions& options) {
  out << "usage: " << argv0 << " [--kubeconfig FILE] [--context NAME]"
      << (options.namespaced ? " [--namespace NS]" : "")
      << " [--health ADDR:PORT] [--leader-elect [--leader-election-namespace NS]]";
  for (const auto& f : options.flags) out << " [" << f.name << " VALUE]";
  out << (options.crds.empty() ? "" : " [--crd]") << "\n"
      << "  --kubeconfig FILE   the API server and credentials (default: $KUBECONFIG, then ~/.kube/config)\n"
      << "  --context NAME      the kubeconfig context (default: its current-context)\n";
  if (options.namespaced) out << "  --namespace NS      reconcile this namespace only (default: every namespace)\n";
  out << "  --health ADDR:PORT  /healthz, /readyz and /metrics (default " << options.health << "; port 0: any)\n"
      << "  --leader-elect      work only while holding the Lease " << options.name << ", so that replicas take turns\n"
      << "  --leader-election-namespace NS  the Lease's namespace (default: the kubeconfig context's)\n";
  if (!options.crds.empty()) out << "  --crd               print the CustomResourceDefinitions and exit\n";
  for (const auto& f : options.flags)
    out << "  " << f.name << ": " << f.help << (f.env.empty() ? "" : " ($" + std::string(f.env) + ")") << " (now \""
        << *f.value << "\")\n";
}

}  // namespace

int RunOperator(int argc, char** argv, const OperatorOptions& options, const OperatorSetup& setup) {
  for (const auto& f : options.flags)  // the environment first: a flag given on the command line wins
    if (const char* v = f.env.empty() ? nullptr : std::getenv(std::string(f.env).c_str())) *f.value = v;
  client::KubeconfigOptions kubeconfig;
  std::string ns, health = options.health, lease_namespace;
  bool leader_elect = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    bool known = true;
    if (arg == "--kubeconfig" && has_value) {
      kubeconfig.path = argv[++i];
    } else if (arg == "--context" && has_value) {
      kubeconfig.context = argv[++i];
    } else if (arg == "--leader-election-namespace" && has_value) {
      lease_namespace = argv[++i];
    } else if (arg == "--namespace" && has_value && options.namespaced) {
      ns = argv[++i];
    } else if (arg == "--health" && has_value) {
      health = argv[++i];
    } else if (arg == "--leader-elect") {
      leader_elect = true;
    } else if (arg == "--crd" && !options.crds.empty()) {
      for (const auto& crd : options.crds) std::cout << "---\n" << api::JsonToYaml(crd);
      return 0;
    } else if (arg == "--help" || arg == "-h") {
      Usage(std::cout, argv[0], options);
      return 0;
    } else {
      known = false;
      for (const auto& f : options.flags) {
        if (arg == f.name && has_value) {
          *f.value = argv[++i];
          known = true;
        }
      }
    }
    if (!known) {
      std::cerr << options.name << ": unknown option or missing value: " << arg << "\n";
      Usage(std::cerr, argv[0], options);
      return 2;
    }
  }
  // SIGINT/SIGTERM stop the manager; first, so that every thread started later inherits the mask.
  StopSignals signals;
  auto fail = [&](std::string_view what, const Status& s) {
    std::cerr << options.name << ": " << what << ": " << s.to_string() << std::endl;
    return 1;
  };
  auto config = client::LoadKubeconfig(kubeconfig);
  if (!config) return fail("kubeconfig", config.error());
  auto rest = client::RestClient::Create(*config);
  if (!rest) return fail("client", rest.error());

  ManagerOptions manager_options;
  manager_options.name = options.name;
  manager_options.health_listen = health;
  if (!ns.empty()) manager_options.watcher_tweak = [ns](WatcherOptions& w) { w.ns = ns; };
  if (leader_elect) {
    LeaderElectionConfig election;
    election.lease_namespace = !lease_namespace.empty()     ? lease_namespace
                               : config->namespace_.empty() ? "default"
                                                            : config->namespace_;
    election.lease_name = options.name;
    manager_options.leader_election = election;
  }
  auto manager = Manager::Create(**rest, std::move(manager_options));
  if (!manager) return fail("manager", manager.error());
  if (Status s = setup(**manager); !s.ok()) return fail("setup", s);

  std::cout << options.name << ": reconciling " << (options.what.empty() ? "" : options.what + " ")
            << (!options.namespaced ? "(cluster-scoped)"
                : ns.empty()        ? "in every namespace"
                                    : "in namespace " + ns)
            << "; health and metrics on " << health << (leader_elect ? "; waiting for the Lease" : "") << std::endl;
  const Status result = (*manager)->run(signals.token());
  if (!signals.signalled()) return fail("stopped", result);
  std::cout << options.name << ": stopped" << std::endl;
  return result.ok() ? 0 : 1;
}

}  // namespace setpoint::runtime
