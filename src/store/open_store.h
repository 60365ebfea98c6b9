// Opening a store by the name `setpoint server --store` takes: the one place that knows every
// backend and how each is configured. The composition root (src/exe/main.cc) and the test kit
// open the store and hand it to the API server.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "setpoint/common/status.h"
#include "setpoint/store/store.h"

namespace setpoint::store {

struct StoreConfig {
  // sqlite | memory | etcd://HOST:PORT[,HOST:PORT...] | etcd+https://HOST:PORT[,...]
  std::string spec = "sqlite";
  std::string data_dir = "./setpoint-data";  // sqlite: <data_dir>/setpoint.db
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
  std::size_t history_max_events = 100000;
  std::chrono::seconds history_max_age{600};
};

// Errors: BadRequest for an unknown spec or a malformed etcd URL; the backend's own otherwise
// (an unreadable file, a newer schema, etcd unreachable).
Result<StorePtr> OpenStore(const StoreConfig& config);

}  // namespace setpoint::store
