#include "setpoint/testing/test_server.h"

#include <cstdlib>
#include <filesystem>

#include "apiserver/server.h"
#include "controllers/controller_manager.h"
#include "store/open_store.h"
#include "testing/fault_injector.h"

namespace setpoint::testing {

struct TestServer::Impl {
  TestServerOptions options;
  std::filesystem::path dir;
  std::shared_ptr<FaultInjector> faults = std::make_shared<FaultInjector>();
  std::unique_ptr<apiserver::Server> server;
  std::unique_ptr<controllers::ControllerManager> controllers;

  void stop() {
    if (controllers) controllers->stop();
    controllers.reset();
    if (server) server->stop();
    server.reset();
  }

  Status start(unsigned short port) {
    store::StoreConfig sc;
    sc.spec = options.store;
    sc.data_dir = dir.string();
    auto store = store::OpenStore(sc);
    if (!store) return store.error();
    apiserver::ServerOptions so;
    so.data_dir = dir.string();
    so.listen = "127.0.0.1:" + std::to_string(port);
    so.worker_threads = options.worker_threads;
    so.io_threads = 1;
    apiserver::ServerSeams seams;
    seams.front = [f = faults](apiserver::HttpHandler& api) -> apiserver::HttpHandler& { return f->attach(api); };
    seams.cache_delay_ms = faults->cache_delay_knob();
    auto s = apiserver::Server::Start(std::move(so), std::move(*store), std::move(seams));
    if (!s) return s.error();
    server = std::move(*s);
    if (!options.controllers.empty()) {
      controllers::ControllerManagerOptions co;
      co.controllers = options.controllers;
      co.event_ttl = options.event_ttl;
      co.leader_elect = false;
      auto cm = controllers::ControllerManager::Start("http://127.0.0.1:" + std::to_string(server->port()), co);
      if (!cm) return cm.error();
      controllers = std::move(*cm);
      server->set_extra_metrics([c = controllers.get()] { return c->metrics_text(); });
    }
    return Status::Ok();
  }
};

TestServer::TestServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<TestServer>> TestServer::Start(TestServerOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  std::string tmpl = (std::filesystem::temp_directory_path() / "setpoint-test-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) return Err(Status::Internal("cannot make a temporary directory for the test server"));
  impl->dir = tmpl;
  impl->faults->set_cache_delay(impl->options.cache_delay);
  if (Status s = impl->start(0); !s.ok()) {
    impl->stop();
    std::error_code ec;
    std::filesystem::remove_all(impl->dir, ec);
    return Err(std::move(s));
  }
  std::unique_ptr<TestServer> t(new TestServer(std::move(impl)));
  t->port_ = t->impl_->server->port();
  return t;
}

TestServer::~TestServer() {
  impl_->stop();
  std::error_code ec;
  std::filesystem::remove_all(impl_->dir, ec);
}

std::string TestServer::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

client::RestConfig TestServer::rest_config() const {
  client::RestConfig c;
  c.server = url();
  c.timeout = std::chrono::seconds(10);
  c.user_agent = "setpoint-testing/0.1";
  return c;
}

std::unique_ptr<client::RestClient> TestServer::make_client() const {
  client::RestClientOptions o;
  o.retry.max_attempts = 3;
  o.retry.initial_backoff = std::chrono::milliseconds(20);
  o.retry.max_backoff = std::chrono::milliseconds(200);
  auto c = client::RestClient::Create(rest_config(), std::move(o));
  return c ? std::move(*c) : nullptr;
}

std::string TestServer::kubeconfig_path() const { return (impl_->dir / "kubeconfig").string(); }

void TestServer::set_cache_delay(std::chrono::milliseconds delay) { impl_->faults->set_cache_delay(delay); }
void TestServer::drop_watches() { impl_->faults->drop_watches(); }
void TestServer::fail_next_watches(int n) { impl_->faults->fail_next_watches(n); }
void TestServer::conflict_next_updates(int k, std::string resource) {
  impl_->faults->conflict_next_updates(k, std::move(resource));
}
std::uint64_t TestServer::watches_dropped() const { return impl_->faults->watches_dropped(); }
std::uint64_t TestServer::watches_failed() const { return impl_->faults->watches_failed(); }
std::uint64_t TestServer::conflicts_injected() const { return impl_->faults->conflicts_injected(); }

Status TestServer::restart() {
  impl_->stop();
  return impl_->start(port_);
}

}  // namespace setpoint::testing
