// `setpoint`: the one binary. Today: `setpoint server`.
#include <csignal>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "apiserver/server.h"

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
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::from_str(log_level));
  opts.history_max_age = std::chrono::seconds(history_secs);

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
  std::cout << "setpoint is ready: export KUBECONFIG=" << std::filesystem::absolute(srv->kubeconfig_path()).string() << std::endl;
  int sig = 0;
  sigwait(&set, &sig);
  spdlog::info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
  srv->stop();
  spdlog::info("stopped cleanly");
  return 0;
}
