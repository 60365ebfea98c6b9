// The agent's log endpoint, which the API server's `processes/NAME/log` subresource proxies to:
//
//   GET /logs/<namespace>/<name>?follow=true&tailLines=N&limitBytes=N&epoch=E
//
// 200 text/plain with the log (followed until the epoch's process is gone and its output read,
// or the client leaves); errors are a Kubernetes Status in JSON with its HTTP code. The body ends
// when the connection closes (HTTP/1.1, Connection: close, no chunking), which keeps the
// proxy trivial.
//
// One accept thread; one thread per open request, at most 64 (more get 429). Thread-safe; the
// resolver is called from request threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "setpoint/common/status.h"

namespace setpoint::agent {

struct LogQuery {
  std::string ns, name;
  bool follow = false;
  std::optional<std::int64_t> tail_lines, limit_bytes;
  std::optional<int> epoch;
};

struct LogSource {
  std::string path;
  std::function<bool()> alive;  // while true a follow waits for more output
};

using LogResolver = std::function<Result<LogSource>(const LogQuery&)>;

class LogServer {
 public:
  // `listen` is "ADDR:PORT" (port 0 picks one).
  static Result<std::unique_ptr<LogServer>> Start(const std::string& listen, LogResolver resolver);
  virtual ~LogServer() = default;  // stops: closes the listener, ends every open request
  virtual unsigned short port() const = 0;
};

}  // namespace setpoint::agent
