// A scripted RestClient for watcher tests: list answers and watch streams are queued by the test
// and handed out in order; every request path is recorded. Thread-safe (one mutex): the watcher
// thread calls it while the test thread scripts and inspects it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <stop_token>
#include <string>
#include <variant>
#include <vector>

#include <boost/json.hpp>

#include "setpoint/client/rest_client.h"

namespace setpoint::runtime::testing {

// One step of a scripted watch stream: an event, or the error that ends it.
using WatchStep = std::variant<client::WatchEvent, Status>;

class FakeWatchStream final : public client::WatchStream {
 public:
  // With `hang_at_end` the stream stays open (nothing arrives) after its steps until cancel().
  FakeWatchStream(std::vector<WatchStep> steps, bool hang_at_end)
      : steps_(steps.begin(), steps.end()), hang_(hang_at_end) {}

  Result<std::optional<client::WatchEvent>> next(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(mu_);
    if (cancelled_ || (steps_.empty() && !hang_)) {
      ended_ = true;
      return std::optional<client::WatchEvent>();
    }
    if (steps_.empty()) {
      cv_.wait_for(lock, timeout, [&] { return cancelled_; });
      if (cancelled_) ended_ = true;
      return std::optional<client::WatchEvent>();
    }
    WatchStep step = std::move(steps_.front());
    steps_.pop_front();
    if (auto* s = std::get_if<Status>(&step)) {
      ended_ = true;
      return Err(*s);
    }
    return std::optional<client::WatchEvent>(std::get<client::WatchEvent>(std::move(step)));
  }
  bool ended() const override {
    std::lock_guard lock(mu_);
    return ended_;
  }
  void cancel() override {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    cv_.notify_all();
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<WatchStep> steps_;
  bool hang_;
  bool cancelled_ = false, ended_ = false;
};

// Scripts are kept per resource (the plural in the request path); "" serves every path that no
// other script names.
class FakeRestClient final : public client::RestClient {
 public:
  // A list page: items, the list's resourceVersion and continue token.
  void add_list(std::vector<boost::json::object> items, std::string rv, std::string cont = {},
                const std::string& resource = {}) {
    boost::json::array arr;
    for (auto& i : items) arr.push_back(std::move(i));
    boost::json::object meta{{"resourceVersion", rv}};
    if (!cont.empty()) meta["continue"] = cont;
    boost::json::object body{{"kind", "List"}, {"metadata", meta}, {"items", std::move(arr)}};
    std::lock_guard lock(mu_);
    scripts_[resource].lists.push_back(client::Response{200, {}, boost::json::serialize(body)});
    scripted_.notify_all();
  }
  void add_list_error(Status s) {
    std::lock_guard lock(mu_);
    scripts_[""].lists.push_back(Err(std::move(s)));
    scripted_.notify_all();
  }
  void add_watch(std::vector<WatchStep> steps, bool hang_at_end = false, const std::string& resource = {}) {
    std::lock_guard lock(mu_);
    scripts_[resource].watches.push_back(std::move(steps));
    scripts_[resource].hangs.push_back(hang_at_end);
    scripted_.notify_all();
  }
  void add_watch_error(Status s) {
    std::lock_guard lock(mu_);
    scripts_[""].watches.push_back(std::move(s));
    scripts_[""].hangs.push_back(false);
    scripted_.notify_all();
  }

  // Waits until some list or watch is scripted and not yet handed out, or `stop`: a watcher's
  // backoff sleep that comes back exactly when there is something new to fetch. (State, not an
  // edge: a script added just before the wait is not missed.)
  void wait_for_script(std::stop_token stop) {
    std::unique_lock lock(mu_);
    scripted_.wait(lock, stop, [&] {
      for (const auto& [resource, script] : scripts_)
        if (!script.lists.empty() || !script.watches.empty()) return true;
      return false;
    });
  }

  // With no watch scripted, a watch normally stays open (idle) until cancelled; with this set it
  // ends at once, so the watcher comes back (after its sleeper) for scripts added later.
  void set_idle_watches_end(bool end) {
    std::lock_guard lock(mu_);
    idle_watches_end_ = end;
  }

  // Waits until `n` requests (lists + watches) were made.
  bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return paths_.size() >= n; });
  }
  std::vector<std::string> paths() const {
    std::lock_guard lock(mu_);
    return paths_;
  }

  Result<client::Response> request(client::Method, std::string_view path, std::string_view, std::string_view,
                                   const client::Headers&) override {
    std::lock_guard lock(mu_);
    paths_.emplace_back(path);
    cv_.notify_all();
    auto& lists = route(path).lists;
    if (lists.empty()) return Err(Status::Unavailable("no scripted list left"));
    auto r = std::move(lists.front());
    lists.pop_front();
    return r;
  }

  Result<client::WatchStreamPtr> watch(std::string_view path) override {
    std::lock_guard lock(mu_);
    paths_.emplace_back(path);
    cv_.notify_all();
    Script& sc = route(path);
    if (sc.watches.empty())
      return client::WatchStreamPtr(std::make_unique<FakeWatchStream>(std::vector<WatchStep>{}, !idle_watches_end_));
    auto w = std::move(sc.watches.front());
    bool hang = sc.hangs.front();
    sc.watches.pop_front();
    sc.hangs.pop_front();
    if (auto* s = std::get_if<Status>(&w)) return Err(*s);
    return client::WatchStreamPtr(
        std::make_unique<FakeWatchStream>(std::get<std::vector<WatchStep>>(std::move(w)), hang));
  }

  const client::RestConfig& config() const override { return config_; }
  std::size_t connections_opened() const override { return 0; }

 private:
  struct Script {
    std::deque<Result<client::Response>> lists;
    std::deque<std::variant<std::vector<WatchStep>, Status>> watches;
    std::deque<bool> hangs;
  };
  Script& route(std::string_view path) {
    std::string_view p = path.substr(0, path.find('?'));
    for (auto& [resource, script] : scripts_)
      if (!resource.empty() && p.ends_with("/" + resource)) return script;
    return scripts_[""];
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable_any scripted_;  // a script was added
  std::map<std::string, Script> scripts_;
  bool idle_watches_end_ = false;
  std::vector<std::string> paths_;
  client::RestConfig config_;
};

inline boost::json::object Obj(std::string ns, std::string name, std::string rv) {
  return boost::json::object{{"apiVersion", "v1"},
                             {"kind", "ConfigMap"},
                             {"metadata", {{"namespace", ns}, {"name", name}, {"resourceVersion", rv}}}};
}

inline client::WatchEvent Ev(std::string type, boost::json::object obj) { return {std::move(type), std::move(obj)}; }

inline client::WatchEvent Bookmark(std::string rv) {
  return {"BOOKMARK", boost::json::object{{"kind", "ConfigMap"}, {"metadata", {{"resourceVersion", rv}}}}};
}

}  // namespace setpoint::runtime::testing
