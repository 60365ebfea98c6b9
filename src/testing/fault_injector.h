// FaultInjector: the test kit's knobs, as an HTTP handler in front of the API handler. It makes a
// real server misbehave the ways a real cluster does, on demand:
//   - the watch cache lags the store by N ms (cache_delay_knob, read by the watch cache);
//   - every open watch ends now (drop_watches), as when a load balancer or the server drops them;
//   - the next N watch requests get 410 Expired as an ERROR event (fail_next_watches), as when
//     the requested resourceVersion was compacted;
//   - the next K updates (PUT, PATCH) of a resource get 409 Conflict (conflict_next_updates), as
//     when someone else wrote first.
// Unarmed, it forwards everything unchanged. Thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "apiserver/http.h"

namespace setpoint::testing {

class FaultInjector final : public apiserver::HttpHandler {
 public:
  FaultInjector();
  // Puts this in front of `inner` (borrowed; it must outlive the server) and returns itself.
  apiserver::HttpHandler& attach(apiserver::HttpHandler& inner);

  std::shared_ptr<const std::atomic<std::int64_t>> cache_delay_knob() const { return cache_delay_ms_; }
  void set_cache_delay(std::chrono::milliseconds d) { cache_delay_ms_->store(d.count()); }
  void drop_watches();
  void fail_next_watches(int n);
  // `resource` (plural, e.g. "configmaps") limits it to that resource; empty: any.
  void conflict_next_updates(int k, std::string resource = {});

  std::uint64_t watches_dropped() const { return watches_dropped_.load(); }
  std::uint64_t watches_failed() const { return watches_failed_.load(); }
  std::uint64_t conflicts_injected() const { return conflicts_injected_.load(); }

  apiserver::HttpResponse handle(apiserver::HttpRequest& request) override;
  apiserver::HttpResponse transport_error(int http_code, std::string_view message) override;
  bool accepts_async(const apiserver::HttpRequest& request) const override;
  void handle_async(apiserver::HttpRequest& request, std::function<void(apiserver::HttpResponse)> respond) override;
  void set_blocking_executor(std::function<void(std::function<void()>)> run) override;

 private:
  class DroppableStream;
  // A response standing in for the real one, or nullopt to pass the request on.
  std::optional<apiserver::HttpResponse> inject(const apiserver::HttpRequest& request);
  apiserver::HttpResponse wrap(apiserver::HttpResponse response);

  apiserver::HttpHandler* inner_ = nullptr;
  std::shared_ptr<std::atomic<std::int64_t>> cache_delay_ms_;
  std::atomic<int> fail_watches_{0};
  std::mutex mu_;
  int conflicts_ = 0;                                    // GUARDED_BY(mu_)
  std::string conflict_resource_;                        // GUARDED_BY(mu_)
  std::vector<std::weak_ptr<DroppableStream>> streams_;  // GUARDED_BY(mu_)
  std::atomic<std::uint64_t> watches_dropped_{0}, watches_failed_{0}, conflicts_injected_{0};
};

}  // namespace setpoint::testing
