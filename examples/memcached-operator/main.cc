// memcached-operator: Memcacheds run as memcached servers supervised by setpoint (memcached.h).
// `--help` lists the flags, `--crd` prints the CRD; MEMCACHED_BINARY also names the binary.
#include "memcached.h"

int main(int argc, char** argv) {
  using namespace setpoint;
  std::string binary = "memcached";
  const runtime::OperatorOptions options{
      .name = "memcached-operator",
      .flags = {{"--memcached-binary", &binary, "the memcached program the agent runs", "MEMCACHED_BINARY"}},
      .crds = {types::Crd<memcached::Memcached>()}};
  return runtime::RunOperator(argc, argv, options, [&](runtime::Manager& m) {
    return m.add(
        m.controller("memcached")
            .For<memcached::Memcached>()
            .Owns<setpointv1alpha1::ProcessSet>()  // a hand-made change wakes its Memcached
            .Complete([&](const auto& ctx, const auto& req) { return memcached::Reconcile(ctx, req, binary); }));
  });
}
