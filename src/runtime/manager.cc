#include "setpoint/runtime/manager.h"

#include <future>
#include <map>
#include <sstream>

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "setpoint/common/uuid.h"
#include "setpoint/runtime/workqueue_metrics.h"

namespace setpoint::runtime {
namespace {

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

}  // namespace

std::string MergeExpositions(const std::vector<std::string>& texts) {
  struct Family {
    std::string help, type;
    std::vector<std::string> samples;
  };
  std::vector<std::string> order;
  std::map<std::string, Family, std::less<>> families;
  auto family = [&](const std::string& name) -> Family& {
    auto [it, inserted] = families.try_emplace(name);
    if (inserted) order.push_back(name);
    return it->second;
  };
  for (const auto& text : texts) {
    std::istringstream in(text);
    std::string line, current;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
        const auto rest = line.substr(7);
        current = rest.substr(0, rest.find(' '));
        auto& f = family(current);
        (line[2] == 'H' ? f.help : f.type) = line;
        continue;
      }
      if (line[0] == '#') continue;
      if (current.empty()) current = line.substr(0, line.find_first_of("{ "));
      family(current).samples.push_back(line);
    }
  }
  std::string out;
  for (const auto& name : order) {
    const auto& f = families.at(name);
    if (!f.help.empty()) out.append(f.help).append("\n");
    if (!f.type.empty()) out.append(f.type).append("\n");
    for (const auto& s : f.samples) out.append(s).append("\n");
  }
  return out;
}

Result<std::unique_ptr<Manager>> Manager::Create(client::RestClient& rest, ManagerOptions options) {
  if (options.leader_election) {
    auto& le = *options.leader_election;
    if (le.identity.empty()) le.identity = HostName() + "_" + NewUuid();
    if (le.lease_name.empty()) le.lease_name = options.name;
  }
  std::unique_ptr<Manager> m(new Manager(rest, std::move(options)));
  if (m->options_.leader_election) {
    LeaderElectionConfig config = *m->options_.leader_election;
    if (!config.env) config.env = m->options_.env;
    Manager* self = m.get();
    config.callbacks.on_started_leading = [self](std::stop_token leading) {
      spdlog::info("{}: leading; starting controllers", self->options_.name);
      Status s = self->start_controllers();
      std::mutex mu;
      std::condition_variable_any cv;
      std::unique_lock lock(mu);
      if (s.ok()) cv.wait(lock, leading, [] { return false; });
      Status stopped = self->stop_controllers();
      if (!stopped.ok()) spdlog::error("{}: {}", self->options_.name, stopped.message());
    };
    config.callbacks.on_stopped_leading = [self] {
      std::lock_guard lock(self->mu_);
      if (!self->stopped_) {
        spdlog::error("{}: leader election lost", self->options_.name);
        self->lost_ = true;
      }
      self->cv_.notify_all();
    };
    config.callbacks.on_new_leader = [self](const std::string& id) {
      spdlog::info("{}: the leader is {}", self->options_.name, id);
    };
    auto elector = LeaderElector::Create(m->api_, std::move(config));
    if (!elector) return Err(elector.error());
    m->elector_ = std::move(*elector);
  }
  return m;
}

Manager::Manager(client::RestClient& rest, ManagerOptions options) : api_(rest), options_(std::move(options)) {
  if (!options_.env) options_.env = DefaultEnv();
  informers_ =
      std::make_unique<SharedInformers>(api_, [env = options_.env, tweak = options_.watcher_tweak](WatcherOptions& w) {
        if (!w.env) w.env = env;
        if (tweak) tweak(w);
      });
  CachedClientOptions co = options_.client;
  if (!co.env) co.env = options_.env;
  if (co.cache_sync_timeout > options_.cache_sync_timeout) co.cache_sync_timeout = options_.cache_sync_timeout;
  client_ = std::make_unique<CachedClient>(api_, *informers_, co);
  EventRecorderOptions ro;
  ro.component = options_.name;
  ro.instance = options_.leader_election ? options_.leader_election->identity : HostName();
  ro.env = options_.env;
  recorder_ = std::make_unique<EventRecorder>(api_, std::move(ro));
}

Manager::~Manager() {
  (void)stop();
  if (stopping_.valid()) stopping_.wait();  // a shutdown that overran its deadline still owns them
  // Controllers go before the informers and the client they borrow.
  controllers_.clear();
  election_ = {};
  elector_.reset();
  recorder_.reset();
  client_.reset();
  informers_.reset();
}

void Manager::set_cache_options(const client::GroupVersionResource& gvr, CacheOptions options) {
  informers_->set_options(gvr, std::move(options));
}

Controller::Builder Manager::controller(std::string name) {
  Controller::Builder b(std::move(name), api_);
  b.WithSharedInformers(*informers_);
  b.WithWriteCheck([client = client_.get()](const WriteRecord& w) { return client->seen(w); });
  b.WithClient(*client_);
  b.WithEvents(*recorder_);
  b.WithEnv(options_.env);
  return b;
}

Status Manager::add(ControllerPtr controller) {
  if (!controller) return Status::BadRequest("manager: add() needs a controller");
  std::lock_guard lock(mu_);
  if (started_) return Status::Conflict("manager: add() controllers before start()");
  controllers_.push_back(std::move(controller));
  return Status::Ok();
}

Status Manager::add_runnable(std::string name, Runnable run) {
  if (!run) return Status::BadRequest("manager: add_runnable() needs a function");
  std::lock_guard lock(mu_);
  if (started_) return Status::Conflict("manager: add_runnable() before start()");
  runnables_.emplace_back(std::move(name), std::move(run));
  return Status::Ok();
}

void Manager::add_metrics(std::function<std::string()> render) {
  std::lock_guard lock(mu_);
  metrics_sources_.push_back(std::move(render));
}

Status Manager::start() {
  {
    std::lock_guard lock(mu_);
    if (started_) return Status::Ok();
    started_ = true;
  }
  informers_->start();
  if (!informers_->wait_for_sync(options_.cache_sync_timeout)) {
    failed_ = true;
    return Status::Timeout(options_.name + ": caches did not sync within " +
                           std::to_string(options_.cache_sync_timeout.count()) + " ms");
  }
  if (!options_.health_listen.empty()) {
    HealthHandlers h;
    h.healthy = [this] { return healthy(); };
    h.ready = [this] { return ready(); };
    h.metrics = [this] { return metrics_text(); };
    auto server = HealthServer::Start(options_.health_listen, std::move(h));
    if (!server) {
      failed_ = true;
      return server.error();
    }
    health_ = std::move(*server);
  }
  if (elector_) {
    election_ = std::jthread([this](std::stop_token st) { elector_->run(st); });
    return Status::Ok();
  }
  return start_controllers();
}

Status Manager::start_controllers() {
  for (auto& c : controllers_) {
    if (Status s = c->start(options_.cache_sync_timeout); !s.ok()) {
      failed_ = true;
      std::lock_guard lock(mu_);
      controllers_status_ = s;
      cv_.notify_all();
      return s;
    }
  }
  for (auto& [name, run] : runnables_) running_.emplace_back([run = run](std::stop_token st) { run(st); });
  std::lock_guard lock(mu_);
  controllers_running_ = true;
  return Status::Ok();
}

Status Manager::stop_controllers() {
  // Each controller's stop() joins its workers; a reconcile that never returns would hold the
  // shutdown for ever, so it runs beside a deadline.
  // Kept in a member: a local future's destructor would wait for it, deadline or not.
  stopping_ = std::async(std::launch::async, [this] {
    for (auto& r : running_) r.request_stop();
    for (auto& c : controllers_) c->stop();
    running_.clear();  // joins
  });
  Status s;
  if (stopping_.wait_for(options_.graceful_shutdown_timeout) != std::future_status::ready) {
    failed_ = true;
    s = Status::Timeout(options_.name + ": reconciles still running after the graceful shutdown timeout of " +
                        std::to_string(options_.graceful_shutdown_timeout.count()) + " ms");
    spdlog::error("{}", s.message());
  }
  std::lock_guard lock(mu_);
  controllers_running_ = false;
  if (!s.ok()) controllers_status_ = s;
  return s;
}

Status Manager::run(std::stop_token stop) {
  if (Status s = start(); !s.ok()) {
    (void)this->stop();
    return s;
  }
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, stop, [&] { return lost_ || !controllers_status_.ok(); });
  }
  Status stopped = this->stop();
  std::lock_guard lock(mu_);
  if (lost_) return Status::Unavailable(options_.name + ": leader election lost");
  if (!controllers_status_.ok()) return controllers_status_;
  return stopped;
}

Status Manager::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return controllers_status_;
    stopped_ = true;
  }
  Status s;
  if (election_.joinable()) {
    // The elector stops leading: its leading thread stops the controllers, then the Lease is
    // released for the next replica.
    election_.request_stop();
    election_.join();
  } else {
    s = stop_controllers();
  }
  informers_->stop();
  recorder_->flush(std::chrono::seconds(5));
  health_.reset();
  std::lock_guard lock(mu_);
  return controllers_status_.ok() ? s : controllers_status_;
}

bool Manager::ready() const {
  {
    std::lock_guard lock(mu_);
    if (!started_ || stopped_) return false;
  }
  if (failed_) return false;
  for (const auto& i : informers_->live())
    if (!i->has_synced()) return false;
  return true;
}

Status Manager::election_error() const { return elector_ ? elector_->last_error() : Status::Ok(); }

bool Manager::leading() const {
  if (elector_) return elector_->is_leader();
  std::lock_guard lock(mu_);
  return controllers_running_;
}

std::string Manager::metrics_text() const {
  std::vector<std::string> texts;
  std::vector<NamedWorkQueueMetrics> queues;
  for (const auto& c : controllers_) {
    std::string t;
    c->render_prometheus(t);
    texts.push_back(std::move(t));
    queues.push_back({c->name(), c->queue().metrics()});
  }
  std::string q;
  RenderPrometheus(q, queues);
  texts.push_back(std::move(q));
  std::string extra;
  if (options_.leader_election) {
    extra +=
        "# HELP leader_election_master_status Gauge of if the reporting system is master of the relevant lease, "
        "0 indicates backup, 1 indicates master.\n# TYPE leader_election_master_status gauge\n";
    extra += "leader_election_master_status{name=\"" + options_.leader_election->lease_name + "\"} " +
             (leading() ? "1" : "0") + "\n";
  }
  extra +=
      "# HELP setpoint_events_dropped_total Events not recorded because the recorder's queue was full.\n"
      "# TYPE setpoint_events_dropped_total counter\nsetpoint_events_dropped_total " +
      std::to_string(recorder_->dropped()) + "\n";
  texts.push_back(std::move(extra));
  std::vector<std::function<std::string()>> sources;
  {
    std::lock_guard lock(mu_);
    sources = metrics_sources_;
  }
  for (const auto& render : sources) texts.push_back(render());
  return MergeExpositions(texts);
}

}  // namespace setpoint::runtime
