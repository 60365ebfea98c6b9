// RunOperator: the main() every operator writes — flags, kubeconfig, a Manager with optional
// leader election, health and metrics, SIGINT/SIGTERM — in one call.
//
//   int main(int argc, char** argv) {
//     std::string image = "memcached";
//     return setpoint::runtime::RunOperator(argc, argv, {.name = "memcached-operator",
//         .flags = {{"--memcached-binary", &image, "the memcached program"}}, .crds = {MemcachedCrd()}},
//         [&](setpoint::runtime::Manager& m) { return m.add(...); });
//   }
//
// Flags every operator gets: --kubeconfig FILE, --context NAME, --namespace NS (watch one
// namespace; default all; not a flag when `namespaced` is false), --health ADDR:PORT (/healthz,
// /readyz, /metrics; port 0: any free one), --leader-elect (work only while holding a Lease named
// after the operator) with --leader-election-namespace NS (default: the kubeconfig context's, else
// default), --crd (print `crds` as YAML and exit), and --help. Returns the exit code: 0 after a
// signal, 1 on failure, 2 on bad flags.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "setpoint/runtime/manager.h"

namespace setpoint::runtime {

struct OperatorFlag {
  std::string_view name;  // "--memcached-binary"; takes a value
  std::string* value;     // its default on entry
  std::string_view help;
  std::string_view env;  // an environment variable that sets it when the flag is not given
};

struct OperatorOptions {
  std::string name = "operator";  // the program, the manager and the Lease
  std::string what;               // what it reconciles, for the start-up line: "memcacheds.cache.example.com"
  bool namespaced = true;         // whether --namespace is offered
  std::string health = "127.0.0.1:8081";
  std::vector<OperatorFlag> flags;
  std::vector<boost::json::object> crds;  // what --crd prints
};

// Called once the manager exists, before it runs: add the controllers. A non-OK answer exits 1.
using OperatorSetup = std::function<Status(Manager& manager)>;

int RunOperator(int argc, char** argv, const OperatorOptions& options, const OperatorSetup& setup);

}  // namespace setpoint::runtime
