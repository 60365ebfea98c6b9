// `setpoint`: the one binary: `setpoint server` (API server, store, controller manager) and the
// kubectl-style client commands.
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "apiserver/server.h"
#include "cli/cli.h"
#include "controllers/controller_manager.h"

int main(int argc, char** argv) {
  CLI::App app{"setpoint: a declarative control plane that speaks the Kubernetes API"};
  app.require_subcommand(1);
  setpoint::apiserver::ServerOptions opts;
  std::string log_level = "info";
  auto* server = app.add_subcommand("server", "Run the API server on an embedded durable store");
  server->add_option("--data-dir", opts.data_dir, "Directory for the database and the kubeconfig")->capture_default_str();
  server->add_option("--listen", opts.listen, "ADDR:PORT to listen on (loopback only until authentication exists)")->capture_default_str();
  server->add_option("--store", opts.store, "Storage backend: sqlite or memory")->check(CLI::IsMember({"sqlite", "memory"}))->capture_default_str();
  server->add_option("--workers", opts.worker_threads, "Request worker threads")->capture_default_str();
  server->add_option("--history-max-events", opts.history_max_events, "Events kept for watches to resume from")->capture_default_str();
  std::int64_t history_secs = opts.history_max_age.count();
  server->add_option("--history-max-age", history_secs, "Seconds of events kept for watches to resume from")->capture_default_str();
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")->capture_default_str();
  setpoint::controllers::ControllerManagerOptions cm;
  std::string known;
  for (const auto& k : setpoint::controllers::KnownControllers()) known += (known.empty() ? "" : ", ") + k;
  server->add_option("--controllers", cm.controllers,
                     "Built-in controllers to run: '*' for all, NAME to add one, -NAME to leave one out, '' for none (" +
                         known + ")")
      ->capture_default_str();
  std::int64_t event_ttl_secs = cm.event_ttl.count();
  server->add_option("--event-ttl", event_ttl_secs, "Seconds after which Events are deleted")->capture_default_str();
  server->add_option("--leader-elect", cm.leader_elect,
                     "Run the controllers only while holding the Lease kube-system/setpoint-controller-manager")
      ->capture_default_str();
  int cache_delay_ms = 0;
  server->add_option("--test-cache-delay-ms", cache_delay_ms,
                     "Testing only: make the watch cache lag the store by this many milliseconds")
      ->group("");  // hidden

  // Client commands, kubectl-style, against the server named by the kubeconfig.
  setpoint::cli::CommonOptions common;
  auto add_common = [&](CLI::App* cmd) {
    cmd->add_option("--kubeconfig", common.kubeconfig, "Path to the kubeconfig (default: $KUBECONFIG, ~/.kube/config)");
    cmd->add_option("--context", common.context, "The kubeconfig context to use");
    cmd->add_option("-n,--namespace", common.ns, "Namespace (default: the context's)");
  };
  setpoint::cli::GetOptions get_opts;
  int watch_timeout = 0;
  auto* get = app.add_subcommand("get", "Display one or many resources");
  add_common(get);
  get->add_option("kind", get_opts.kind, "Resource type (name, kind, short name or resource.group)")->required();
  get->add_option("name", get_opts.name, "Object name");
  get->add_flag("-A,--all-namespaces", common.all_namespaces, "List across all namespaces");
  get->add_option("-l,--selector", get_opts.selector, "Label selector");
  get->add_option("-o,--output", get_opts.output, "wide, yaml, json or name")
      ->check(CLI::IsMember({"", "wide", "yaml", "json", "name"}));
  get->add_flag("-w,--watch", get_opts.watch, "Watch for changes after listing");
  get->add_option("--watch-timeout", watch_timeout, "Stop watching after this many seconds (0: never)");
  setpoint::cli::DescribeOptions describe_opts;
  auto* describe = app.add_subcommand("describe", "Show the details of one or many resources, with their events");
  add_common(describe);
  describe->add_option("kind", describe_opts.kind, "Resource type (name, kind, short name or resource.group)")->required();
  describe->add_option("names", describe_opts.names, "Object names (none: every object)");
  describe->add_flag("-A,--all-namespaces", common.all_namespaces, "Describe across all namespaces");
  describe->add_option("-l,--selector", describe_opts.selector, "Label selector");
  describe->add_option("--show-events", describe_opts.show_events, "Show the objects' events")->capture_default_str();
  setpoint::cli::ApplyOptions apply_opts;
  auto* apply = app.add_subcommand("apply", "Create or update resources from files or stdin");
  add_common(apply);
  apply->add_option("-f,--filename", apply_opts.files, "Files, directories or - for stdin")->required();
  setpoint::cli::DeleteOptions delete_opts;
  int delete_timeout = 60;
  auto* del = app.add_subcommand("delete", "Delete resources by name or from files");
  add_common(del);
  del->add_option("kind", delete_opts.kind, "Resource type");
  del->add_option("names", delete_opts.names, "Object names");
  del->add_option("-f,--filename", delete_opts.files, "Files, directories or - for stdin");
  del->add_flag("--ignore-not-found", delete_opts.ignore_not_found, "Treat missing objects as deleted");
  del->add_option("--wait", delete_opts.wait, "Wait until the objects are gone")->capture_default_str();
  del->add_option("--timeout", delete_timeout, "Seconds to wait for deletion")->capture_default_str();
  setpoint::cli::WaitOptions wait_opts;
  int wait_timeout = 30;
  auto* wait = app.add_subcommand("wait", "Wait for a condition on one resource");
  add_common(wait);
  wait->add_option("target", wait_opts.target, "KIND/NAME")->required();
  wait->add_option("--for", wait_opts.for_, "condition=TYPE[=VALUE] or delete")->required();
  wait->add_option("--timeout", wait_timeout, "Seconds to wait")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (*get) {
    get_opts.watch_timeout = std::chrono::seconds(watch_timeout);
    return setpoint::cli::Get(common, get_opts, std::cout, std::cerr);
  }
  if (*describe) return setpoint::cli::Describe(common, describe_opts, std::cout, std::cerr);
  if (*apply) return setpoint::cli::Apply(common, apply_opts, std::cout, std::cerr);
  if (*del) {
    delete_opts.timeout = std::chrono::seconds(delete_timeout);
    return setpoint::cli::Delete(common, delete_opts, std::cout, std::cerr);
  }
  if (*wait) {
    wait_opts.timeout = std::chrono::seconds(wait_timeout);
    return setpoint::cli::Wait(common, wait_opts, std::cout, std::cerr);
  }
  spdlog::set_level(spdlog::level::from_str(log_level));
  opts.history_max_age = std::chrono::seconds(history_secs);
  opts.test_cache_delay = std::chrono::milliseconds(cache_delay_ms);

  // Block the stop signals in every thread; the main thread waits for them synchronously.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto started = setpoint::apiserver::Server::Start(opts);
  if (!started) {
    std::cerr << "setpoint: " << started.error().message() << "\n";
    return 1;
  }
  auto& srv = *started;
  spdlog::info("setpoint API server listening on {} (port {}), store {} in {}", opts.listen, srv->port(), opts.store, opts.data_dir);
  std::unique_ptr<setpoint::controllers::ControllerManager> controllers;
  if (!cm.controllers.empty()) {
    cm.event_ttl = std::chrono::seconds(event_ttl_secs);
    // One identity per data directory: a server restarted after a crash takes its own Lease back
    // at once instead of waiting for it to expire.
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    cm.identity = std::string(host[0] ? host : "localhost") + "_" +
                  std::filesystem::absolute(opts.data_dir).lexically_normal().string();
    // The controllers use the API like any client: over HTTP, on the address the server bound.
    std::string bound = setpoint::apiserver::ParseListenAddress(opts.listen).value().first;
    if (bound.find(':') != std::string::npos) bound = "[" + bound + "]";
    auto started_cm =
        setpoint::controllers::ControllerManager::Start("http://" + bound + ":" + std::to_string(srv->port()), cm);
    if (!started_cm) {
      std::cerr << "setpoint: " << started_cm.error().message() << "\n";
      srv->stop();
      return 1;
    }
    controllers = std::move(*started_cm);
    srv->set_extra_metrics([c = controllers.get()] { return c->metrics_text(); });
  }
  std::cout << "setpoint is ready: export KUBECONFIG=" << std::filesystem::absolute(srv->kubeconfig_path()).lexically_normal().string() << std::endl;
  int sig = 0;
  sigwait(&set, &sig);
  spdlog::info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
  if (controllers) {
    srv->set_extra_metrics(nullptr);
    controllers->stop();  // before the server: it releases its Lease through it
  }
  srv->stop();
  spdlog::info("stopped cleanly");
  return 0;
}
