#include "apiserver/server.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "apiserver/api_handler.h"
#include "apiserver/http.h"
#include "apiserver/resources.h"
#include "apiserver/setpoint_kinds.h"
#include "setpoint/common/json.h"
#include "store/cache/watch_cache.h"

namespace setpoint::apiserver {

namespace json = boost::json;

Result<std::pair<std::string, unsigned short>> ParseListenAddress(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return Err(Status::BadRequest("--listen must be ADDR:PORT, got \"" + listen + "\""));
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::string port_s = listen.substr(colon + 1);
  char* end = nullptr;
  long port = std::strtol(port_s.c_str(), &end, 10);
  if (port_s.empty() || *end != '\0' || port < 0 || port > 65535)
    return Err(Status::BadRequest("invalid port in --listen: \"" + port_s + "\""));
  if (host == "localhost") host = "127.0.0.1";
  bool loopback = host.rfind("127.", 0) == 0 || host == "::1";
  if (!loopback)
    return Err(Status::Forbidden("refusing to listen on " + host +
                                 ": setpoint has no authentication yet, so it only listens on loopback addresses"));
  return std::make_pair(host, static_cast<unsigned short>(port));
}

namespace {

// The field selectors the watch cache indexes: the selectable fields (ResourceInfo::
// selectable_fields, dotted paths into the object) of every natively served kind, by key prefix.
class SelectableFields {
 public:
  SelectableFields() {
    std::vector<ResourceInfoPtr> kinds = BuiltinResources();
    for (auto& r : SetpointResources()) kinds.push_back(r);
    for (const auto& r : kinds)
      if (!r->selectable_fields.empty())
        kinds_.push_back({r->key_prefix(), {r->selectable_fields.begin(), r->selectable_fields.end()}});
  }

  bool has_fields(std::string_view key) const { return find(key) != nullptr; }

  void extract(std::string_view key, const json::object& obj,
               std::vector<std::pair<std::string, std::string>>& out) const {
    const Kind* kind = find(key);
    if (!kind) return;
    for (const auto& field : kind->fields) {
      // An Event's "source" is its source.component, as upstream's field selector reads it.
      const std::string_view path = field == "source" ? std::string_view("source.component") : field;
      out.emplace_back(field, ValueAt(obj, path));
    }
  }

 private:
  struct Kind {
    std::string prefix;
    std::vector<std::string> fields;
  };

  const Kind* find(std::string_view key) const {
    for (const auto& k : kinds_)
      if (key.starts_with(k.prefix)) return &k;
    return nullptr;
  }

  // The string at a dotted path ("spec.agentName"), or "".
  static std::string ValueAt(const json::object& obj, std::string_view path) {
    const json::object* at = &obj;
    for (;;) {
      const auto dot = path.find('.');
      if (dot == std::string_view::npos) return std::string(GetStringOr(*at, path, ""));
      at = GetObject(*at, path.substr(0, dot));
      if (!at) return "";
      path.remove_prefix(dot + 1);
    }
  }

  std::vector<Kind> kinds_;
};

class ServerImpl final : public Server {
 public:
  ~ServerImpl() override { stop(); }

  unsigned short port() const override { return port_; }
  void set_extra_metrics(std::function<std::string()> render) override {
    if (handler_) handler_->set_extra_metrics(std::move(render));
  }
  void set_ready_check(const std::string& name, std::function<std::optional<std::string>()> check) override {
    if (handler_) handler_->set_ready_check(name, std::move(check));
  }
  std::string kubeconfig_path() const override { return kubeconfig_; }

  Status start(ServerOptions options, store::StorePtr store, ServerSeams seams) {
    options_ = std::move(options);
    store_ = std::move(store);
    seams_ = std::move(seams);
    auto listen = ParseListenAddress(options_.listen);
    if (!listen) return listen.error();
    if (!store_) return Status::BadRequest("the server needs a store");
    std::error_code ec;
    std::filesystem::create_directories(options_.data_dir, ec);
    if (ec) return Status::Internal("cannot create data dir " + options_.data_dir + ": " + ec.message());
    store::WatchCacheOptions co;
    co.history_max_events = options_.history_max_events;
    co.history_max_age = options_.history_max_age;
    co.watcher_max_pending = std::max<std::size_t>(1, options_.watch_queue_events);
    auto fields = std::make_shared<const SelectableFields>();
    co.field_extractor = [fields](std::string_view key, const json::object& obj,
                                  std::vector<std::pair<std::string, std::string>>& out) {
      fields->extract(key, obj, out);
    };
    co.has_fields = [fields](std::string_view key) { return fields->has_fields(key); };
    co.ingest_delay_knob = seams_.cache_delay_ms;
    auto cache = store::WatchCache::Start(*store_, co);
    if (!cache) return cache.error();
    cache_ = std::move(*cache);
    registry_ = std::make_unique<Registry>();
    refresh_registry();
    handler_ = std::make_unique<ApiHandler>(*store_, *cache_, *registry_, std::make_shared<SystemClock>());
    // The registry follows CRD changes from the cache, so every server sharing a store sees them.
    store::Filter crds;
    crds.prefix = "/registry/apiextensions.k8s.io/customresourcedefinitions/";
    auto w = cache_->watch(crds, {cache_->revision(), false, false}, nullptr);
    if (!w) return w.error();
    crd_watcher_ = *w;
    crd_thread_ = std::jthread([this](std::stop_token st) { follow_crds(st); });
    for (const char* ns : {"default", "kube-system", "kube-public", "kube-node-lease"}) {
      if (cache_->get(std::string("/registry/core/namespaces/") + ns)) continue;
      json::object obj{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}};
      Status s = handler_->create_internal("", "namespaces", "", std::move(obj));
      if (!s.ok() && s.code() != StatusCode::kAlreadyExists) return s;
    }
    HttpServerOptions ho;
    ho.address = listen->first;
    ho.port = listen->second;
    ho.worker_threads = options_.worker_threads;
    ho.io_threads = options_.io_threads;
    ho.limits = options_.connection_limits;
    HttpHandler* front = handler_.get();
    if (seams_.front) front = &seams_.front(*handler_);
    http_ = NewHttpServer(ho, *front);
    auto [port, err] = http_->start();
    if (!err.empty()) return Status::Unavailable(err);
    handler_->set_connection_stats([http = http_.get()] { return http->connection_stats(); });
    port_ = port;
    if (options_.write_kubeconfig) {
      kubeconfig_ = (std::filesystem::path(options_.data_dir) / "kubeconfig").string();
      if (Status s = write_kubeconfig(listen->first); !s.ok()) return s;
    }
    handler_->set_ready(true);
    return Status::Ok();
  }

  void stop() override {
    if (stopped_ || !handler_) return;
    stopped_ = true;
    handler_->set_ready(false);
    handler_->shutdown();
    handler_->set_connection_stats(nullptr);
    if (http_) http_->stop();
    // Destroying the transport destroys any connection coroutines still suspended in its
    // io_context, and with them their watch streams, which unregister from the cache: so the
    // transport goes before the cache does.
    http_.reset();
    crd_thread_.request_stop();
    if (crd_thread_.joinable()) crd_thread_.join();
    if (crd_watcher_) cache_->unwatch(crd_watcher_);
    cache_.reset();
    if (store_) store_->close();
  }

 private:
  void refresh_registry() {
    store::Filter crds;
    crds.prefix = "/registry/apiextensions.k8s.io/customresourcedefinitions/";
    auto rev = cache_->revision();
    auto page = cache_->list(crds, 0, "", 0);
    std::vector<ResourceInfoPtr> resources;
    if (page) {
      rev = page->revision;
      for (const auto& item : page->items) {
        auto parsed = ParseJson(item->json);
        if (!parsed || !parsed->is_object()) continue;
        // Serve only CRDs whose names were accepted.
        bool accepted = false;
        if (const json::object* st = GetObject(parsed->get_object(), "status"))
          if (const json::array* conds = GetArray(*st, "conditions"))
            for (const auto& c : *conds)
              if (c.is_object() && GetStringOr(c.get_object(), "type", "") == "Established" &&
                  GetStringOr(c.get_object(), "status", "") == "True")
                accepted = true;
        if (!accepted) continue;
        auto r = ResourceFromCrd(parsed->get_object());
        if (r)
          resources.push_back(*r);
        else
          spdlog::warn("CRD {} is not servable: {}", item->name(), r.error().message());
      }
    }
    registry_->rebuild(std::move(resources), rev);
  }

  void follow_crds(std::stop_token st) {
    std::vector<store::WatchItem> items;
    while (!st.stop_requested()) {
      crd_watcher_->wait(std::chrono::steady_clock::now() + std::chrono::milliseconds(100));
      // Read the revision first: every CRD event at or below it is then already queued.
      auto rev = cache_->revision();
      items.clear();
      crd_watcher_->take(items);
      if (!items.empty())
        refresh_registry();
      else
        registry_->advance(rev);  // nothing changed: waiters on "caught up with rev" finish
    }
  }

  Status write_kubeconfig(const std::string& host) {
    std::string server =
        "http://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port_);
    std::string text =
        "apiVersion: v1\n"
        "kind: Config\n"
        "clusters:\n"
        "- name: setpoint\n"
        "  cluster:\n"
        "    server: " +
        server +
        "\n"
        "users:\n"
        "- name: setpoint-admin\n"
        "  user: {}\n"
        "contexts:\n"
        "- name: setpoint\n"
        "  context:\n"
        "    cluster: setpoint\n"
        "    user: setpoint-admin\n"
        "    namespace: default\n"
        "current-context: setpoint\n";
    std::string tmp = kubeconfig_ + ".tmp";
    {
      std::ofstream f(tmp, std::ios::trunc);
      if (!f) return Status::Internal("cannot write " + tmp);
      f << text;
      if (!f.flush()) return Status::Internal("cannot write " + tmp);
    }
    std::error_code ec;
    std::filesystem::rename(tmp, kubeconfig_, ec);
    if (ec) return Status::Internal("cannot write " + kubeconfig_ + ": " + ec.message());
    return Status::Ok();
  }

  ServerOptions options_;
  ServerSeams seams_;
  store::StorePtr store_;
  std::unique_ptr<store::WatchCache> cache_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<ApiHandler> handler_;
  std::unique_ptr<HttpServer> http_;
  store::CacheWatcherPtr crd_watcher_;
  std::jthread crd_thread_;
  unsigned short port_ = 0;
  std::string kubeconfig_;
  bool stopped_ = false;
};

}  // namespace

Result<std::unique_ptr<Server>> Server::Start(ServerOptions options, store::StorePtr store, ServerSeams seams) {
  auto s = std::make_unique<ServerImpl>();
  Status st = s->start(std::move(options), std::move(store), std::move(seams));
  if (!st.ok()) return Err(st);
  return std::unique_ptr<Server>(std::move(s));
}

}  // namespace setpoint::apiserver
