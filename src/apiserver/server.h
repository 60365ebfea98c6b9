// Server: one running setpoint API server — over a store it is given: watch cache, registry, API
// handler and HTTP transport — started and stopped as a unit. Used by `setpoint server` and by tests that want a
// real server in process. start()/stop() from one thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "apiserver/http.h"
#include "setpoint/common/status.h"
#include "setpoint/store/store.h"

namespace setpoint::apiserver {

struct ServerOptions {
  std::string data_dir = "./setpoint-data";  // where the kubeconfig is written
  std::string listen = "127.0.0.1:7080";
  int worker_threads = 64;
  int io_threads = 2;
  // The watch cache's history (what a watch may resume from), as the store's.
  std::size_t history_max_events = 100000;
  std::chrono::seconds history_max_age{600};
  // Events one watch may fall behind its client before it is ended with 410 (the client relists).
  std::size_t watch_queue_events = 10000;
  bool write_kubeconfig = true;
  // What a client connection may hold, and for how long.
  ConnectionLimits connection_limits;
};

// What the test kit (setpoint::testing) plugs into a server; a production server has neither.
struct ServerSeams {
  // Put in front of the API handler (the test kit's fault injector): returns what to serve with.
  std::function<HttpHandler&(HttpHandler& api)> front;
  // Milliseconds the watch cache holds each batch of store events before applying it, read as it
  // goes: a cache lagging the store, as it may under load.
  std::shared_ptr<const std::atomic<std::int64_t>> cache_delay_ms;
};

class Server {
 public:
  // Serves `store` (opened by the caller: store/open_store.h), which it closes on stop().
  static Result<std::unique_ptr<Server>> Start(ServerOptions options, store::StorePtr store, ServerSeams seams = {});
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
