// configmap-mirror: a small operator on the setpoint SDK (see mirror.h for what it does).
//
//   configmap-mirror [--kubeconfig FILE] [--namespace NS] [--health 127.0.0.1:8081] [--leader-elect]
//
// RunOperator builds the Manager: the caches (one watch of ConfigMaps, shared by For and Owns), a
// client whose cached reads wait for our own writes, an event recorder, /healthz /readyz /metrics,
// and with --leader-elect a Lease so that only one of several replicas works at a time.
#include "mirror.h"
#include "setpoint/runtime/operator_main.h"

int main(int argc, char** argv) {
  mirror::MirrorReconciler reconciler;
  const setpoint::runtime::OperatorOptions options{.name = "configmap-mirror",
                                                   .what = std::string("ConfigMaps labelled ") + mirror::kWantsMirror};
  return setpoint::runtime::RunOperator(argc, argv, options, [&](setpoint::runtime::Manager& m) {
    auto controller = mirror::BuildController(m.controller("configmap-mirror"), reconciler);
    return controller ? m.add(std::move(*controller)) : controller.error();
  });
}
