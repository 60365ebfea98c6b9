#include "testing/fault_injector.h"

#include <boost/json.hpp>

#include "apiserver/request_info.h"
#include "setpoint/common/json.h"

namespace setpoint::testing {

using apiserver::QueryParams;
using apiserver::SharedBytes;

namespace {

namespace json = boost::json;

std::string StatusBody(int code, std::string_view reason, std::string message, json::object details = {}) {
  json::object st{{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", json::object()},
                  {"status", "Failure"}, {"message", message}, {"reason", reason},
                  {"code", code}};
  if (!details.empty()) st["details"] = std::move(details);
  return ToJson(st);
}

}  // namespace

// Forwards to the real stream until drop() is called, then ends it.
class FaultInjector::DroppableStream final : public apiserver::StreamSource {
 public:
  explicit DroppableStream(std::shared_ptr<apiserver::StreamSource> inner) : inner_(std::move(inner)) {}
  Poll poll(std::vector<SharedBytes>& out) override {
    if (dropped_.load()) return Poll::kEnd;
    return inner_->poll(out);
  }
  std::chrono::steady_clock::time_point next_deadline() const override { return inner_->next_deadline(); }
  void set_waker(std::function<void()> waker) override {
    {
      std::lock_guard lock(mu_);
      waker_ = waker;
    }
    inner_->set_waker(std::move(waker));
  }
  void close() override { inner_->close(); }
  void drop() {
    dropped_.store(true);
    std::function<void()> w;
    {
      std::lock_guard lock(mu_);
      w = waker_;
    }
    if (w) w();
  }

 private:
  std::shared_ptr<apiserver::StreamSource> inner_;
  std::atomic<bool> dropped_{false};
  std::mutex mu_;
  std::function<void()> waker_;  // GUARDED_BY(mu_)
};

FaultInjector::FaultInjector() : cache_delay_ms_(std::make_shared<std::atomic<std::int64_t>>(0)) {}

apiserver::HttpHandler& FaultInjector::attach(apiserver::HttpHandler& inner) {
  inner_ = &inner;
  return *this;
}

void FaultInjector::drop_watches() {
  std::vector<std::shared_ptr<DroppableStream>> live;
  {
    std::lock_guard lock(mu_);
    for (auto& w : streams_)
      if (auto s = w.lock()) live.push_back(std::move(s));
    streams_.clear();
  }
  for (auto& s : live) {
    s->drop();
    watches_dropped_.fetch_add(1);
  }
}

void FaultInjector::fail_next_watches(int n) { fail_watches_.store(n); }

void FaultInjector::conflict_next_updates(int k, std::string resource) {
  std::lock_guard lock(mu_);
  conflicts_ = k;
  conflict_resource_ = std::move(resource);
}

std::optional<apiserver::HttpResponse> FaultInjector::inject(const apiserver::HttpRequest& request) {
  const auto q = QueryParams::Parse(request.query);
  auto ri = apiserver::ParseRequestInfo(request.method, request.path, q.flag("watch"));
  if (!ri || !ri->is_resource) return std::nullopt;
  if (ri->verb == "watch") {
    int left = fail_watches_.load();
    while (left > 0 && !fail_watches_.compare_exchange_weak(left, left - 1)) {
    }
    if (left <= 0) return std::nullopt;
    watches_failed_.fetch_add(1);
    // As a real server answers a watch from a compacted resourceVersion: 200, one ERROR event.
    apiserver::HttpResponse r;
    r.body = "{\"type\":\"ERROR\",\"object\":" +
             StatusBody(410, "Expired", "too old resource version: injected by the test kit") + "}\n";
    return r;
  }
  if (ri->verb != "update" && ri->verb != "patch") return std::nullopt;
  {
    std::lock_guard lock(mu_);
    if (conflicts_ <= 0) return std::nullopt;
    if (!conflict_resource_.empty() && conflict_resource_ != ri->resource) return std::nullopt;
    --conflicts_;
  }
  conflicts_injected_.fetch_add(1);
  const std::string what = ri->group.empty() ? ri->resource : ri->resource + "." + ri->group;
  apiserver::HttpResponse r;
  r.status = 409;
  json::object details{{"name", ri->name}, {"kind", ri->resource}};
  if (!ri->group.empty()) details["group"] = ri->group;
  r.body = StatusBody(409, "Conflict",
                      "Operation cannot be fulfilled on " + what + " \"" + ri->name +
                          "\": the object has been modified; please apply your changes to the latest version and "
                          "try again",
                      std::move(details));
  return r;
}

apiserver::HttpResponse FaultInjector::wrap(apiserver::HttpResponse response) {
  if (!response.stream) return response;
  auto s = std::make_shared<DroppableStream>(std::move(response.stream));
  {
    std::lock_guard lock(mu_);
    std::erase_if(streams_, [](const auto& w) { return w.expired(); });
    streams_.push_back(s);
  }
  response.stream = std::move(s);
  return response;
}

apiserver::HttpResponse FaultInjector::handle(apiserver::HttpRequest& request) {
  if (auto r = inject(request)) return std::move(*r);
  return wrap(inner_->handle(request));
}

apiserver::HttpResponse FaultInjector::transport_error(int http_code, std::string_view message) {
  return inner_->transport_error(http_code, message);
}

bool FaultInjector::accepts_async(const apiserver::HttpRequest& request) const {
  return inner_->accepts_async(request);
}

void FaultInjector::handle_async(apiserver::HttpRequest& request,
                                 std::function<void(apiserver::HttpResponse)> respond) {
  if (auto r = inject(request)) return respond(std::move(*r));
  inner_->handle_async(
      request, [this, respond = std::move(respond)](apiserver::HttpResponse r) { respond(wrap(std::move(r))); });
}

void FaultInjector::set_blocking_executor(std::function<void(std::function<void()>)> run) {
  run_blocking_ = run;
  inner_->set_blocking_executor(std::move(run));
}

}  // namespace setpoint::testing
