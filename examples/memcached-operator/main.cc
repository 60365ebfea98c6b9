// memcached-operator: Memcacheds run as memcached servers supervised by setpoint (memcached.h).
// `--help` lists the flags, `--crd` prints the CRD; MEMCACHED_BINARY also names the binary.
#include <cstdlib>

#include "memcached.h"
#include "setpoint/runtime/operator_main.h"

int main(int argc, char** argv) {
  std::string binary = std::getenv("MEMCACHED_BINARY") ? std::getenv("MEMCACHED_BINARY") : "memcached";
  const setpoint::runtime::OperatorOptions options{
      .name = "memcached-operator",
      .flags = {{"--memcached-binary", &binary, "the memcached program the agent runs"}},
      .crds = {setpoint::types::Crd<memcached::Memcached>()}};
  return setpoint::runtime::RunOperator(argc, argv, options, [&](setpoint::runtime::Manager& m) {
    auto c = m.controller("memcached")
                 .For<memcached::Memcached>()
                 .Owns<setpoint::setpointv1alpha1::ProcessSet>()  // a hand-made change wakes its Memcached
                 .Complete([&](const auto& ctx, const auto& req) { return memcached::Reconcile(ctx, req, binary); });
    return c ? m.add(std::move(*c)) : c.error();
  });
}
