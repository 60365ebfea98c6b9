// HealthServer: the operator's own small HTTP endpoint for probes and scraping —
// controller-runtime's health probe and metrics servers in one.
//
//   GET /healthz  200 "ok" while the process works at all (liveness)
//   GET /readyz   200 "ok" when ready() (caches synced; leading or waiting to lead), else 503
//   GET /metrics  Prometheus text format 0.0.4, from metrics()
// Anything else is 404; anything but GET or HEAD is 405. One request per connection at a time,
// answered on the server's one thread; a client gets 10 s to send its request.
//
// Thread-safety: constructed and destroyed on one thread; the callbacks run on the server thread.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "setpoint/common/status.h"

namespace setpoint::runtime {

struct HealthHandlers {
  std::function<bool()> healthy;         // null: always
  std::function<bool()> ready;           // null: always
  std::function<std::string()> metrics;  // null: empty
};

class HealthServer {
 public:
  // Binds `listen` ("ADDR:PORT"; port 0 picks a free one) and serves until destroyed.
  static Result<std::unique_ptr<HealthServer>> Start(const std::string& listen, HealthHandlers handlers);
  virtual ~HealthServer() = default;
  virtual unsigned short port() const = 0;
};

}  // namespace setpoint::runtime
