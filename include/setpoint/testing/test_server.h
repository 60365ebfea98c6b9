// setpoint::testing — the test kit for operator authors: the real setpoint API server, in process,
// with knobs that make it misbehave the way a real cluster does.
//
//   auto server = setpoint::testing::TestServer::Start().value();
//   auto rest = server->make_client();              // a RestClient for it
//   server->set_cache_delay(50ms);                  // reads and watches lag writes by 50 ms
//   server->conflict_next_updates(3);               // the next 3 updates get 409 Conflict
//   server->fail_next_watches(1);                   // the next watch gets 410 Expired: relist
//   server->drop_watches();                         // every open watch ends now
//
// With these a test proves that a reconciler converges, and never creates a duplicate child,
// under stale reads, lost watches and conflicts. For RequeueAfter and backoff without waiting,
// give the controller a FakeMonotonicClock (WorkQueueOptions::clock) and advance() it.
//
// Like `setpoint server`, it runs the built-in controllers (no leader election: it is alone), so
// owner references garbage-collect and namespaces delete their content.
//
// The server binds 127.0.0.1 on a free port, keeps its data in a fresh temporary directory (removed
// on destruction) and, by default, uses the memory store; use "sqlite" to keep data across
// restart(). Thread-safety: start/restart/destruction from one thread; the knobs from any thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "setpoint/client/config.h"
#include "setpoint/client/rest_client.h"
#include "setpoint/common/status.h"

namespace setpoint::testing {

struct TestServerOptions {
  std::string store = "memory";  // memory | sqlite
  std::chrono::milliseconds cache_delay{0};
  int worker_threads = 8;
  // The built-in controllers, as `setpoint server --controllers` (garbage collection by owner
  // references, namespace and CRD deletion, event expiry); "" for none.
  std::string controllers = "*";
  std::chrono::seconds event_ttl{3600};
};

class TestServer {
 public:
  static Result<std::unique_ptr<TestServer>> Start(TestServerOptions options = {});
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  unsigned short port() const { return port_; }
  std::string url() const;  // "http://127.0.0.1:PORT"
  client::RestConfig rest_config() const;
  // A client with a short per-request timeout and few retries, as tests want.
  std::unique_ptr<client::RestClient> make_client() const;
  // The kubeconfig the server wrote, for kubectl or a separately started operator.
  std::string kubeconfig_path() const;

  // Knobs.
  void set_cache_delay(std::chrono::milliseconds delay);
  void drop_watches();
  void fail_next_watches(int n = 1);
  // `resource` (plural) limits it to that resource; empty: any.
  void conflict_next_updates(int k, std::string resource = {});

  std::uint64_t watches_dropped() const;
  std::uint64_t watches_failed() const;
  std::uint64_t conflicts_injected() const;

  // Stops the server and starts it again on the same port and data directory (watches end;
  // clients reconnect). Data survives only with the sqlite store.
  Status restart();

 private:
  struct Impl;
  explicit TestServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  unsigned short port_ = 0;
};

}  // namespace setpoint::testing
