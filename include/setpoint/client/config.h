// RestConfig: where the API server is and how to authenticate to it, loaded from a kubeconfig
// (kubectl's rules) or from the in-cluster service-account environment.
//
// Plain value type; the loaders are stateless free functions, safe from any thread (they read
// the environment and files, nothing else).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "setpoint/common/status.h"

namespace setpoint::client {

struct RestConfig {
  std::string server;                // https://host:port or http://host:port (optionally with a path prefix)
  std::string ca_file, ca_data;      // PEM; data wins over file
  std::string cert_file, cert_data;  // client certificate chain, PEM
  std::string key_file, key_data;    // client private key, PEM
  std::string token, token_file;     // bearer token; token wins over token_file
  bool insecure_skip_tls_verify = false;
  std::string namespace_ = "default";
  std::chrono::milliseconds timeout{30000};  // per attempt of one request
  std::string user_agent = "setpoint/0.1";
};

struct KubeconfigOptions {
  std::string path;     // explicit file; empty: $KUBECONFIG (':'-separated), else ~/.kube/config
  std::string context;  // empty: the merged current-context
  // Test seams: when set, used instead of the process environment.
  std::string kubeconfig_env;       // value of $KUBECONFIG
  std::string home;                 // value of $HOME
  bool ignore_environment = false;  // true: use only the two fields above, never getenv()
};

// Loads and merges kubeconfig files the way kubectl does: among several files the first one that
// sets a field (current-context, a named cluster/user/context) wins. Relative certificate and
// token paths are resolved against the directory of the file that named them.
// Errors: NotFound (no file, or an unknown context/cluster/user, naming it), BadRequest (YAML that
// does not parse or has the wrong shape, bad base64, no server).
Result<RestConfig> LoadKubeconfig(const KubeconfigOptions& options = {});

struct InClusterOptions {
  std::string token_path = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  std::string ca_path = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
  std::string namespace_path = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
  // Empty: read KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT from the environment.
  std::string host, port;
};

// Config for a process running in a pod. Errors: NotFound when the environment variables or the
// token file are missing (i.e. not running in a cluster).
Result<RestConfig> InClusterConfig(const InClusterOptions& options = {});

// Standard base64 (RFC 4648, padding optional, whitespace ignored). BadRequest on bad input.
Result<std::string> DecodeBase64(std::string_view text);

}  // namespace setpoint::client
