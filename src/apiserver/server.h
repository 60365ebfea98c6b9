// Server: one running setpoint API server — store, watch cache, registry, API handler and HTTP
// transport — started and stopped as a unit. Used by `setpoint server` and by tests that want a
// real server in process. start()/stop() from one thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "apiserver/http.h"
#include "setpoint/common/status.h"

namespace setpoint::apiserver {

class FaultInjector;

struct ServerOptions {
  std::string data_dir = "./setpoint-data";
  std::string listen = "127.0.0.1:7080";
  // sqlite | memory | etcd://HOST:PORT[,HOST:PORT...] | etcd+https://HOST:PORT[,...]
  std::string store = "sqlite";
  // etcd only. TLS files (PEM): the CA that signed etcd's certificate (empty: system roots) and
  // the client certificate and key etcd checks with --client-cert-auth. Any of them turns TLS on.
  std::string etcd_ca;
  std::string etcd_cert;
  std::string etcd_key;
  // Prepended to every key in etcd, to share one etcd between setpoint clusters ("" = keys are
  // /registry/..., exactly as Kubernetes lays them out).
  std::string etcd_prefix;
  // Every interval, compact etcd to the revision seen one interval earlier (kube-apiserver's
  // --etcd-compaction-interval); 0 = only the history_max_events bound.
  std::chrono::seconds etcd_compaction_interval{300};
  int worker_threads = 64;
  int io_threads = 2;
  std::size_t history_max_events = 100000;
  std::chrono::seconds history_max_age{600};
  // Events one watch may fall behind its client before it is ended with 410 (the client relists).
  std::size_t watch_queue_events = 10000;
  bool write_kubeconfig = true;
  // What a client connection may hold, and for how long.
  ConnectionLimits connection_limits;
  // Fault injection for tests: the watch cache applies each store event this late.
  std::chrono::milliseconds test_cache_delay{0};
  // Fault injection for tests (the test kit's knobs): sits in front of the API handler.
  std::shared_ptr<FaultInjector> faults;
};

class Server {
 public:
  static Result<std::unique_ptr<Server>> Start(ServerOptions options);
  virtual ~Server() = default;
  virtual unsigned short port() const = 0;
  virtual std::string kubeconfig_path() const = 0;
  // Graceful: stop accepting, finish in-flight writes, end watches, close the store.
  virtual void stop() = 0;
  // Appends `render`'s text to /metrics (the controller manager's metrics).
  virtual void set_extra_metrics(std::function<std::string()> render) = 0;
  // A named /readyz check (the controller manager's): the reason it fails, or nullopt when it
  // passes; a null check removes it.
  virtual void set_ready_check(const std::string& name, std::function<std::optional<std::string>()> check) = 0;
};

// Splits "ADDR:PORT"; refuses non-loopback addresses while there is no authentication.
Result<std::pair<std::string, unsigned short>> ParseListenAddress(const std::string& listen);

}  // namespace setpoint::apiserver
