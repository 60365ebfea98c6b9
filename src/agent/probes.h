// Readiness and liveness probes, as the kubelet runs them: exec (exit code 0), TCP connect, HTTP
// GET (2xx/3xx). Each call blocks for at most the timeout. Thread-safe (no shared state).
// An exec probe runs in its own session (Launch); when it exits or times out, whatever is left of
// that session is killed with SIGKILL, and the probe reaps its own child by pid.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace setpoint::agent {

struct ProbeSpec {
  enum class Kind { kExec, kTcp, kHttpGet };
  Kind kind = Kind::kTcp;
  std::vector<std::string> command;  // kExec: argv, run with `env`, in `working_dir`
  std::vector<std::pair<std::string, std::string>> env;
  std::string working_dir;
  std::string host = "127.0.0.1";  // kTcp, kHttpGet
  unsigned short port = 0;
  std::string path = "/";  // kHttpGet
  std::vector<std::pair<std::string, std::string>> http_headers;
  std::chrono::milliseconds timeout{1000};
};

struct ProbeResult {
  bool success = false;
  // Why it failed, in the kubelet's words where it has them: "dial tcp 127.0.0.1:8080: connect:
  // connection refused", "HTTP probe failed with statuscode: 503", "command timed out",
  // "exit status 1"; for exec also the first 1 KiB of its output.
  std::string message;
};

ProbeResult RunProbe(const ProbeSpec& spec);

}  // namespace setpoint::agent
