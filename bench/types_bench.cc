// What typed objects cost: decoding a served ProcessSet (the JSON a cache holds) into its type,
// encoding it back over that JSON for a write, and — for scale — parsing the same text, the work
// every object already pays. Prints numbers; never fails on slowness.
//   ninja -C <build> types_bench && <build>/bench/types_bench
#include <memory>
#include <string>

#include <benchmark/benchmark.h>
#include <boost/json.hpp>

#include "setpoint/types/setpoint_v1alpha1.h"

namespace setpoint {
namespace {

namespace json = boost::json;

// A ProcessSet as the server returns it: defaults filled in, status and managed fields written.
const char* kServed = R"json({
  "apiVersion": "setpoint.dev/v1alpha1", "kind": "ProcessSet",
  "metadata": {"name": "cache", "namespace": "default", "uid": "5b9e2d3c-8f1a-4c1e-9d55-0e8f3a7c6b21",
    "resourceVersion": "123456", "generation": 3, "creationTimestamp": "2026-12-01T10:00:00Z",
    "labels": {"app.kubernetes.io/name": "memcached", "app.kubernetes.io/instance": "cache",
               "app.kubernetes.io/managed-by": "MemcachedController"},
    "ownerReferences": [{"apiVersion": "cache.example.com/v1alpha1", "kind": "Memcached", "name": "cache",
                         "uid": "0c1d2e3f-4a5b-6c7d-8e9f-a0b1c2d3e4f5", "controller": true, "blockOwnerDeletion": true}],
    "finalizers": ["setpoint.dev/agent"],
    "managedFields": [{"manager": "memcached-operator", "operation": "Update", "apiVersion": "setpoint.dev/v1alpha1"}]},
  "spec": {"replicas": 3, "minReadySeconds": 0,
    "selector": {"matchLabels": {"app.kubernetes.io/name": "memcached", "app.kubernetes.io/instance": "cache"}},
    "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}},
    "template": {"metadata": {"labels": {"app.kubernetes.io/name": "memcached", "app.kubernetes.io/instance": "cache"}},
      "spec": {"command": ["memcached", "-p", "$(PORT_MEMCACHED)", "-l", "127.0.0.1", "-U", "0"],
        "args": ["-m", "64", "-u", "nobody"], "env": [{"name": "MODE", "value": "cache"}],
        "ports": [{"name": "memcached", "port": 11211, "address": "127.0.0.1", "passSocket": false, "indexed": true}],
        "restartPolicy": "Always",
        "readinessProbe": {"tcpSocket": {"port": "memcached"}, "initialDelaySeconds": 0, "periodSeconds": 1,
                           "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3},
        "livenessProbe": {"tcpSocket": {"port": "memcached"}, "initialDelaySeconds": 0, "periodSeconds": 10,
                          "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3},
        "stopSignal": "SIGTERM", "terminationGracePeriodSeconds": 10, "drainPeriodSeconds": 0, "maxRetries": 10,
        "initialBackoffMilliseconds": 200}}},
  "status": {"replicas": 3, "readyReplicas": 3, "updatedReplicas": 3, "availableReplicas": 3,
    "observedGeneration": 3, "selector": "app.kubernetes.io/instance=cache,app.kubernetes.io/name=memcached",
    "templateHash": "6d5f8c7b9a",
    "conditions": [{"type": "Available", "status": "True", "observedGeneration": 3,
                    "lastTransitionTime": "2026-12-01T10:00:05Z", "reason": "MinimumReplicasAvailable",
                    "message": "3 of 3 ready"}]}})json";

void BM_ParseJson(benchmark::State& state) {
  const std::string text = kServed;
  for (auto _ : state) benchmark::DoNotOptimize(json::parse(text));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
}
BENCHMARK(BM_ParseJson);

// What a typed cache read adds: the cached JSON is shared (no copy), the struct is built.
void BM_DecodeProcessSet(benchmark::State& state) {
  const auto served = std::make_shared<const json::object>(json::parse(kServed).as_object());
  for (auto _ : state) benchmark::DoNotOptimize(types::Decode<setpointv1alpha1::ProcessSet>(served));
}
BENCHMARK(BM_DecodeProcessSet);

// What a typed write adds: the JSON it came from copied and the typed fields written over it.
void BM_EncodeProcessSet(benchmark::State& state) {
  const auto served = std::make_shared<const json::object>(json::parse(kServed).as_object());
  const auto set = *types::Decode<setpointv1alpha1::ProcessSet>(served);
  for (auto _ : state) benchmark::DoNotOptimize(types::Encode(set));
}
BENCHMARK(BM_EncodeProcessSet);

// The JSON path's write: a copy of the cached object to modify.
void BM_CopyJson(benchmark::State& state) {
  const json::object served = json::parse(kServed).as_object();
  for (auto _ : state) benchmark::DoNotOptimize(json::object(served));
}
BENCHMARK(BM_CopyJson);

}  // namespace
}  // namespace setpoint

BENCHMARK_MAIN();
