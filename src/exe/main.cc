// `setpoint`: the one binary: `setpoint server` (API server, store, controller manager, agent),
// `setpoint agent` (an agent on its own, for more machines), and the kubectl-style client
// commands.
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "agent/agent.h"
#include "apiserver/server.h"
#include "cli/cli.h"
#include "cli/scaffold.h"
#include "controllers/controller_manager.h"
#include "setpoint/client/config.h"
#include "setpoint/common/fd_limit.h"
#include "store/migrate.h"
#include "store/open_store.h"
#include "store/revision_floor.h"

namespace {

std::string Hostname() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return host[0] ? host : "localhost";
}

// "k=v,k2=v2" → map; false on a malformed entry.
bool ParseLabels(const std::string& text, std::map<std::string, std::string>& out) {
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) return false;
    out[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return true;
}

void AddAgentOptions(CLI::App* cmd, setpoint::agent::AgentOptions& o, std::string& labels, int& lease_secs,
                     std::int64_t& rotate_mb) {
  cmd->add_option("--agent-labels", labels, "Labels of the Agent object, k=v,k2=v2 (matched by spec.agentSelector)");
  cmd->add_option("--agent-capacity", o.capacity, "Most processes this agent takes (0: no limit)")
      ->capture_default_str();
  cmd->add_option("--agent-lease-duration", lease_secs,
                  "Seconds without a Lease renewal before the agent counts as lost")
      ->capture_default_str();
  cmd->add_option("--agent-log-max-mb", rotate_mb, "Rotate a process's log file past this size (MiB)")
      ->capture_default_str();
}

// Blocks SIGINT/SIGTERM in every thread (started after this); the main thread sigwait()s them.
sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  // A write past the file-size limit (RLIMIT_FSIZE) fails with EFBIG, which the store reports
  // like a full disk, instead of killing the server.
  std::signal(SIGXFSZ, SIG_IGN);
  return set;
}

int RunMigrate(const std::string& from, const std::string& to, std::int64_t raise_floor,
               const setpoint::store::OpenOptions& tls) {
  namespace store = setpoint::store;
  if (from.empty() == (raise_floor <= 0)) {
    std::cerr << "setpoint migrate: give either --from or --raise-revision-floor\n";
    return 2;
  }
  if (!to.starts_with("etcd")) {
    std::cerr << "setpoint migrate: --to must be etcd://HOST:PORT[,...]\n";
    return 2;
  }
  auto target = store::OpenStoreUrl(to, tls);
  if (!target) return std::cerr << "setpoint migrate: " << to << ": " << target.error().message() << "\n", 1;
  if (raise_floor > 0) {
    auto f = store::RaiseRevisionFloor(**target, raise_floor);
    if (!f) return std::cerr << "setpoint migrate: " << f.error().message() << "\n", 1;
    std::cout << "revision floor of " << to << " is now " << f->floor << " (revisions shifted by " << f->offset
              << "); restart the servers" << std::endl;
    return 0;
  }
  auto source = store::OpenStoreUrl(from);
  if (!source) return std::cerr << "setpoint migrate: " << from << ": " << source.error().message() << "\n", 1;
  auto report = store::Migrate(**source, **target);
  (*source)->close();
  (*target)->close();
  if (!report) return std::cerr << "setpoint migrate: " << report.error().message() << "\n", 1;
  std::cout << "migrated " << report->objects << " objects from " << from << " (high-water resourceVersion "
            << report->source_high_water << ") to " << to << " (resourceVersions " << report->target_first << ".."
            << report->target_last << ")" << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"setpoint: a declarative control plane that speaks the Kubernetes API"};
  app.require_subcommand(1);
  setpoint::apiserver::ServerOptions opts;
  setpoint::store::StoreConfig store_config;
  std::string log_level = "info";
  auto* server = app.add_subcommand("server", "Run the API server on an embedded durable store");
  server->add_option("--data-dir", opts.data_dir, "Directory for the database and the kubeconfig")
      ->capture_default_str();
  server->add_option("--listen", opts.listen, "ADDR:PORT to listen on (loopback only until authentication exists)")
      ->capture_default_str();
  server
      ->add_option("--store", store_config.spec,
                   "Storage backend: sqlite, memory, or etcd://HOST:PORT[,HOST:PORT...] (etcd+https:// for TLS)")
      ->check([](const std::string& v) {
        return v == "sqlite" || v == "memory" || v.rfind("etcd://", 0) == 0 || v.rfind("etcd+https://", 0) == 0
                   ? std::string()
                   : "must be sqlite, memory or etcd://HOST:PORT[,HOST:PORT...]";
      })
      ->capture_default_str();
  server->add_option("--etcd-cafile", store_config.etcd_ca,
                     "etcd: the CA certificate (PEM) that signed the members' certificates");
  server->add_option("--etcd-certfile", store_config.etcd_cert,
                     "etcd: the client certificate (PEM) to authenticate with");
  server->add_option("--etcd-keyfile", store_config.etcd_key, "etcd: the client certificate's key (PEM)");
  server->add_option("--etcd-prefix", store_config.etcd_prefix,
                     "etcd: a prefix for every key, to share one etcd between clusters");
  std::int64_t etcd_compaction_secs = store_config.etcd_compaction_interval.count();
  server
      ->add_option("--etcd-compaction-interval", etcd_compaction_secs,
                   "etcd: seconds between compactions (0: only the --history-max-events bound)")
      ->capture_default_str();
  server->add_option("--workers", opts.worker_threads, "Request worker threads")->capture_default_str();
  server->add_option("--history-max-events", opts.history_max_events, "Events kept for watches to resume from")
      ->capture_default_str();
  std::int64_t history_secs = opts.history_max_age.count();
  server->add_option("--history-max-age", history_secs, "Seconds of events kept for watches to resume from")
      ->capture_default_str();
  server
      ->add_option("--watch-queue-events", opts.watch_queue_events,
                   "Events a watch may fall behind a slow client before it is ended with 410 Expired")
      ->capture_default_str();
  auto& limits = opts.connection_limits;
  server
      ->add_option("--max-connections", limits.max_connections,
                   "Client connections open at once (0: the open-file limit less a reserve); beyond it the "
                   "longest-idle one is closed, or the new one refused with 503")
      ->capture_default_str();
  server
      ->add_option("--max-connections-per-client", limits.max_connections_per_client,
                   "Client connections open at once from one address (0: no limit); beyond it, 503")
      ->capture_default_str();
  std::int64_t header_timeout_secs = limits.header_timeout.count();
  server
      ->add_option("--request-header-timeout", header_timeout_secs,
                   "Seconds a client has from a request's first byte to the end of its headers")
      ->capture_default_str();
  std::int64_t idle_timeout_secs = limits.idle_timeout.count();
  server->add_option("--idle-timeout", idle_timeout_secs, "Seconds a keep-alive connection may wait between requests")
      ->capture_default_str();
  server
      ->add_option("--min-request-body-rate", limits.min_body_bytes_per_second,
                   "Bytes per second a request body must at least arrive at (its deadline: the header timeout "
                   "plus its size at this rate)")
      ->capture_default_str();
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")->capture_default_str();
  setpoint::controllers::ControllerManagerOptions cm;
  std::string known;
  for (const auto& k : setpoint::controllers::KnownControllers()) known += (known.empty() ? "" : ", ") + k;
  server
      ->add_option("--controllers", cm.controllers,
                   "Built-in controllers to run: '*' for all, NAME to add one, -NAME to leave one out, '' for none (" +
                       known + ")")
      ->capture_default_str();
  std::int64_t event_ttl_secs = cm.event_ttl.count();
  server->add_option("--event-ttl", event_ttl_secs, "Seconds after which Events are deleted")->capture_default_str();
  server
      ->add_option("--leader-elect", cm.leader_elect,
                   "Run the controllers only while holding the Lease kube-system/setpoint-controller-manager")
      ->capture_default_str();
  bool no_agent = false;
  setpoint::agent::AgentOptions agent_opts;
  agent_opts.name = Hostname();
  std::string agent_labels;
  int agent_lease_secs = 40;
  std::int64_t agent_rotate_mb = 10;
  server->add_flag("--no-agent", no_agent, "Do not supervise processes in this server (run `setpoint agent`s instead)");
  server->add_option("--agent-name", agent_opts.name, "Name of the embedded agent's Agent object")
      ->capture_default_str();
  AddAgentOptions(server, agent_opts, agent_labels, agent_lease_secs, agent_rotate_mb);
  int cache_delay_ms = 0;
  server
      ->add_option("--test-cache-delay-ms", cache_delay_ms,
                   "Testing only: make the watch cache lag the store by this many milliseconds")
      ->group("");  // hidden

  // `setpoint migrate`: move a stopped server's store into etcd, or raise a restored etcd's floor.
  auto* migrate =
      app.add_subcommand("migrate", "Copy a stopped server's objects into etcd, keeping resourceVersions growing");
  std::string migrate_from, migrate_to;
  std::int64_t raise_floor = 0;
  setpoint::store::OpenOptions migrate_tls;
  migrate->add_option("--from", migrate_from, "The source: sqlite:DATA_DIR (a stopped `setpoint server --data-dir`)");
  migrate->add_option("--to", migrate_to, "The target: etcd://HOST:PORT[,HOST:PORT...] (etcd+https:// for TLS)")
      ->required();
  migrate->add_option(
      "--raise-revision-floor", raise_floor,
      "Instead of copying: make every revision the target hands out higher than this one (after a restore)");
  migrate->add_option("--etcd-cafile", migrate_tls.ca_file, "etcd: the CA certificate (PEM)");
  migrate->add_option("--etcd-certfile", migrate_tls.cert_file, "etcd: the client certificate (PEM)");
  migrate->add_option("--etcd-keyfile", migrate_tls.key_file, "etcd: the client certificate's key (PEM)");
  migrate->add_option("--etcd-prefix", migrate_tls.key_prefix, "etcd: the key prefix the servers use");

  // Client commands, kubectl-style, against the server named by the kubeconfig.
  setpoint::cli::CommonOptions common;
  auto add_common = [&](CLI::App* cmd) {
    cmd->add_option("--kubeconfig", common.kubeconfig, "Path to the kubeconfig (default: $KUBECONFIG, ~/.kube/config)");
    cmd->add_option("--context", common.context, "The kubeconfig context to use");
    cmd->add_option("-n,--namespace", common.ns, "Namespace (default: the context's)");
  };
  // `setpoint agent`: supervise the Processes assigned to this machine, for a server elsewhere.
  auto* agent = app.add_subcommand("agent", "Run an agent that supervises the processes assigned to it");
  std::string agent_kubeconfig, agent_context;
  std::string standalone_data_dir = "setpoint-agent";
  agent->add_option("--kubeconfig", agent_kubeconfig, "Path to the kubeconfig of the API server");
  agent->add_option("--context", agent_context, "The kubeconfig context to use");
  agent->add_option("--name", agent_opts.name, "Name of its Agent object")->capture_default_str();
  agent->add_option("--data-dir", standalone_data_dir, "Directory for its state, process work dirs and logs")
      ->capture_default_str();
  agent->add_option("--listen", agent_opts.listen, "ADDR:PORT of its log endpoint (port 0: any)")
      ->capture_default_str();
  agent->add_option("--advertise-address", agent_opts.advertise_address,
                    "Address the API server reaches it on (default: the listen address)");
  AddAgentOptions(agent, agent_opts, agent_labels, agent_lease_secs, agent_rotate_mb);
  setpoint::cli::LogsOptions logs_opts;
  auto* logs = app.add_subcommand("logs", "Print the output of a process");
  add_common(logs);
  logs->add_option("name", logs_opts.name, "NAME or process/NAME")->required();
  logs->add_flag("-f,--follow", logs_opts.follow, "Keep printing as the process writes");
  logs->add_option("--tail", logs_opts.tail, "Lines from the end to show (-1: all)")->capture_default_str();
  logs->add_option("--epoch", logs_opts.epoch, "The restart epoch to show (-1: the newest)")->capture_default_str();
  logs->add_option("--limit-bytes", logs_opts.limit_bytes, "Most bytes to show (0: no limit)");
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
  describe->add_option("kind", describe_opts.kind, "Resource type (name, kind, short name or resource.group)")
      ->required();
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
  // `setpoint statement import` and `setpoint match accept`: bank reconciliation.
  setpoint::cli::ImportStatementOptions import_opts;
  auto* statement = app.add_subcommand("statement", "Bank statements: import a bank's file as a BankStatement");
  statement->require_subcommand(1);
  auto* import_cmd = statement->add_subcommand("import", "Create a BankStatement from a camt.053, OFX or CSV file");
  add_common(import_cmd);
  import_cmd->add_option("file", import_opts.file, "The statement file")->required();
  import_cmd->add_option("--account", import_opts.account, "The FinancialAccount it is a statement of")->required();
  import_cmd->add_option("--format", import_opts.format, "camt053, ofx (1.x SGML or 2.x XML) or csv")
      ->required()
      ->check(CLI::IsMember({"camt053", "ofx", "csv"}));
  import_cmd->add_option("--mapping", import_opts.mapping,
                         "csv: date=COL,amount=COL (or debit=COL,credit=COL),id=,reference=,counterparty=,text=,"
                         "valueDate=,dateFormat=DD.MM.YYYY,decimal=,,delimiter=;,opening=,closing=,statementId=");
  import_cmd->add_flag("--dry-run", import_opts.dry_run, "Print the BankStatement instead of creating it");
  import_cmd->add_option("-o,--output", import_opts.output, "--dry-run: yaml or json")
      ->check(CLI::IsMember({"yaml", "json"}));
  setpoint::cli::AcceptMatchesOptions accept_opts;
  auto* match = app.add_subcommand("match", "Reconciliation matches: accept proposals");
  match->require_subcommand(1);
  auto* accept_cmd = match->add_subcommand("accept",
                                           "Accept ReconciliationMatches: by name, or all of a "
                                           "reconciliation at or above a confidence");
  add_common(accept_cmd);
  accept_cmd->add_option("names", accept_opts.names, "ReconciliationMatch names");
  accept_cmd->add_option("--reconciliation", accept_opts.reconciliation, "Every proposal of this Reconciliation...");
  accept_cmd->add_option("--min-confidence", accept_opts.min_confidence, "...whose confidence is at least this")
      ->capture_default_str();
  // `setpoint init-operator`: a new operator project (src/cli/scaffold.h).
  setpoint::cli::InitOperatorOptions init_opts;
  bool init_namespaced = false;
  auto* init_operator = app.add_subcommand(
      "init-operator", "Write a new operator project for a custom kind: CRD, reconciler, test, README");
  init_operator->add_option("dir", init_opts.dir, "Directory for the project (new, or empty unless --force)")
      ->required();
  init_operator->add_option("--group", init_opts.group, "API group, a DNS subdomain with a dot: cache.example.com")
      ->required();
  init_operator->add_option("--version", init_opts.version, "API version: v1, v1alpha1, v2beta3")->required();
  init_operator->add_option("--kind", init_opts.kind, "Kind, UpperCamelCase: Memcached")->required();
  init_operator->add_option("--plural", init_opts.plural, "Resource name (default: the lower-case kind, pluralised)");
  auto* namespaced_flag =
      init_operator->add_flag("--namespaced", init_namespaced, "Objects live in namespaces (the default)");
  init_operator->add_flag("--cluster", init_opts.cluster_scoped, "Objects are cluster-scoped")
      ->excludes(namespaced_flag);
  init_operator->add_flag("--force", init_opts.force,
                          "Write into a non-empty directory, replacing files of the same names");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    // init-operator's bad usage is exit code 2, like its own checks (CLI11's codes are 100+).
    return rc != 0 && init_operator->parsed() ? 2 : rc;
  }
  if (*init_operator) return setpoint::cli::InitOperator(init_opts, std::cout, std::cerr);
  if (*import_cmd) return setpoint::cli::ImportStatement(common, import_opts, std::cout, std::cerr);
  if (*accept_cmd) return setpoint::cli::AcceptMatches(common, accept_opts, std::cout, std::cerr);
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
  if (*logs) return setpoint::cli::Logs(common, logs_opts, std::cout, std::cerr);
  if (*migrate) return RunMigrate(migrate_from, migrate_to, raise_floor, migrate_tls);
  spdlog::set_level(spdlog::level::from_str(log_level));
  // A server holds a descriptor per connection, watch and file: start with all the kernel allows.
  if (const setpoint::FdLimit fds = setpoint::RaiseOpenFileLimit(); fds.raised)
    spdlog::info("open-file limit raised to {} (the hard limit)", fds.soft);
  if (!ParseLabels(agent_labels, agent_opts.labels)) {
    std::cerr << "setpoint: --agent-labels must be k=v,k2=v2\n";
    return 2;
  }
  agent_opts.lease_duration = std::chrono::seconds(std::max(1, agent_lease_secs));
  agent_opts.rotation.max_bytes = static_cast<std::uint64_t>(std::max<std::int64_t>(1, agent_rotate_mb)) << 20;
  agent_opts.version = "v1alpha1";
  if (*agent) {
    sigset_t set = BlockStopSignals();
    setpoint::client::KubeconfigOptions ko;
    ko.path = agent_kubeconfig;
    ko.context = agent_context;
    if (const char* env = std::getenv("KUBECONFIG")) ko.kubeconfig_env = env;
    if (const char* home = std::getenv("HOME")) ko.home = home;
    auto config = setpoint::client::LoadKubeconfig(ko);
    if (!config) {
      std::cerr << "setpoint agent: " << config.error().message() << "\n";
      return 1;
    }
    config->user_agent = "setpoint-agent/" + agent_opts.name;
    auto rest = setpoint::client::RestClient::Create(*config);
    if (!rest) {
      std::cerr << "setpoint agent: " << rest.error().message() << "\n";
      return 1;
    }
    agent_opts.data_dir = std::filesystem::absolute(standalone_data_dir).lexically_normal().string();
    auto running = setpoint::agent::Agent::Start(**rest, agent_opts);
    if (!running) {
      std::cerr << "setpoint agent: " << running.error().message() << "\n";
      return 1;
    }
    std::cout << "setpoint agent " << agent_opts.name << " is running (logs on port " << (*running)->log_port() << ")"
              << std::endl;
    int sig = 0;
    sigwait(&set, &sig);
    spdlog::info("received {}, stopping the agent (its processes keep running)", sig == SIGINT ? "SIGINT" : "SIGTERM");
    (*running)->stop();
    return 0;
  }
  opts.history_max_age = std::chrono::seconds(history_secs);
  limits.header_timeout = std::chrono::seconds(std::max<std::int64_t>(1, header_timeout_secs));
  limits.idle_timeout = std::chrono::seconds(std::max<std::int64_t>(1, idle_timeout_secs));
  store_config.etcd_compaction_interval = std::chrono::seconds(etcd_compaction_secs);
  store_config.data_dir = opts.data_dir;
  store_config.history_max_events = opts.history_max_events;
  store_config.history_max_age = opts.history_max_age;
  // End-to-end suites rerun against a watch cache that lags the store (make test does).
  setpoint::apiserver::ServerSeams seams;
  if (cache_delay_ms > 0) seams.cache_delay_ms = std::make_shared<const std::atomic<std::int64_t>>(cache_delay_ms);

  // Block the stop signals in every thread; the main thread waits for them synchronously.
  sigset_t set = BlockStopSignals();

  // The composition root: the store is opened here and handed to the server.
  auto store = setpoint::store::OpenStore(store_config);
  if (!store) {
    std::cerr << "setpoint: " << store.error().message() << "\n";
    return 1;
  }
  auto started = setpoint::apiserver::Server::Start(opts, std::move(*store), std::move(seams));
  if (!started) {
    std::cerr << "setpoint: " << started.error().message() << "\n";
    return 1;
  }
  auto& srv = *started;
  spdlog::info("setpoint API server listening on {} (port {}), store {} in {}", opts.listen, srv->port(),
               store_config.spec, opts.data_dir);
  std::unique_ptr<setpoint::controllers::ControllerManager> controllers;
  if (!cm.controllers.empty()) {
    cm.event_ttl = std::chrono::seconds(event_ttl_secs);
    // One identity per data directory: a server restarted after a crash takes its own Lease back
    // at once instead of waiting for it to expire.
    cm.identity = Hostname() + "_" + std::filesystem::absolute(opts.data_dir).lexically_normal().string();
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
    srv->set_ready_check("controller-manager", [c = controllers.get()] { return c->not_running(); });
  }
  // The embedded agent, a client of this server like any other.
  setpoint::client::RestClientPtr agent_rest;
  std::unique_ptr<setpoint::agent::Agent> embedded_agent;
  if (!no_agent) {
    std::string bound = setpoint::apiserver::ParseListenAddress(opts.listen).value().first;
    if (bound.find(':') != std::string::npos) bound = "[" + bound + "]";
    setpoint::client::RestConfig rc;
    rc.server = "http://" + bound + ":" + std::to_string(srv->port());
    rc.user_agent = "setpoint-agent/" + agent_opts.name;
    auto rest = setpoint::client::RestClient::Create(rc);
    if (!rest) {
      std::cerr << "setpoint: " << rest.error().message() << "\n";
      return 1;
    }
    agent_rest = std::move(*rest);
    agent_opts.data_dir = std::filesystem::absolute(opts.data_dir + "/agent").lexically_normal().string();
    auto running = setpoint::agent::Agent::Start(*agent_rest, agent_opts);
    if (!running) {
      std::cerr << "setpoint: agent: " << running.error().message() << "\n";
      if (controllers) controllers->stop();
      srv->stop();
      return 1;
    }
    embedded_agent = std::move(*running);
  }
  std::cout << "setpoint is ready: export KUBECONFIG="
            << std::filesystem::absolute(srv->kubeconfig_path()).lexically_normal().string() << std::endl;
  int sig = 0;
  sigwait(&set, &sig);
  spdlog::info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
  if (embedded_agent) embedded_agent->stop();  // its processes keep running, re-adopted next start
  if (controllers) {
    srv->set_extra_metrics(nullptr);
    srv->set_ready_check("controller-manager", nullptr);
    controllers->stop();  // before the server: it releases its Lease through it
  }
  srv->stop();
  spdlog::info("stopped cleanly");
  return 0;
}
