// The Operator SDK tutorial's Memcached operator on setpoint; `--crd` prints the CRD of these types.
#pragma once

#include "setpoint/operator.h"

namespace memcached {

namespace types = setpoint::types;

struct MemcachedSpec {
  std::int32_t size = 1, port = 11211, memoryMB = 64;
  static void schema(types::Schema& s) {
    s["size"].required().minimum(1).maximum(5).description("How many memcached servers to run.");
    s["port"].minimum(1024).maximum(65000).default_value(11211).description("Server i listens on port + i.");
    s["memoryMB"].minimum(1).maximum(65536).default_value(64).description("Cache memory per server, in MiB.");
  }
};
BOOST_DESCRIBE_STRUCT(MemcachedSpec, (), (size, port, memoryMB))

struct MemcachedStatus {
  std::vector<types::Condition> conditions;       // Available; Degraded while deleted
  std::optional<std::vector<std::string>> nodes;  // the ready processes; [] is written
  std::int32_t readyReplicas = 0;
  std::int64_t observedGeneration = 0;
};
BOOST_DESCRIBE_STRUCT(MemcachedStatus, (), (conditions, nodes, readyReplicas, observedGeneration))

struct Memcached : types::Object {
  static constexpr types::Kind kKind{"cache.example.com", "v1alpha1", "Memcached", "memcacheds"};
  MemcachedSpec spec;
  MemcachedStatus status;
  static void schema(types::Schema& s) { s["spec"].required(); }
  static types::CrdOptions crd() {
    return {.columns = {{"Size", "integer", ".spec.size"},
                        {"Ready", "integer", ".status.readyReplicas"},
                        {"Available", "string", R"(.status.conditions[?(@.type=="Available")].status)"}}};
  }
};
BOOST_DESCRIBE_STRUCT(Memcached, (types::Object), (spec, status))

setpoint::runtime::ReconcileResult Reconcile(const setpoint::runtime::Context& ctx,
                                             const setpoint::runtime::Request& req, const std::string& binary);

}  // namespace memcached
