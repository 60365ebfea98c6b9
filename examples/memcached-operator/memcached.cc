#include "memcached.h"

namespace memcached {

using namespace setpoint;
using R = runtime::ReconcileResult;
using setpointv1alpha1::ProcessSet;
constexpr std::string_view kFinalizer = "cache.example.com/finalizer";

static Result<ProcessSet> ProcessSetFor(const Memcached& cr, const std::string& binary) {
  if (binary.empty()) return Err(Status::Invalid("no memcached binary configured (MEMCACHED_BINARY is empty)"));
  const std::map<std::string, std::string> labels{{"app.kubernetes.io/name", "memcached"},
                                                  {"app.kubernetes.io/instance", cr.metadata.name},
                                                  {"app.kubernetes.io/managed-by", "MemcachedController"}};
  ProcessSet set;
  set.metadata = {.name = cr.metadata.name, .labels = labels};
  set.spec = {.replicas = cr.spec.size, .selector = {labels}, .template_ = {.metadata = {.labels = labels}}};
  set.spec.strategy.rollingUpdate = {{0}, {1}};  // each server has a port of its own: one at a time
  setpointv1alpha1::ProcessSpec& p = set.spec.template_.spec;
  // memcached refuses to run as root without -u, and ignores it otherwise.
  p.command = {binary, "-p", "$(PORT_MEMCACHED)", "-l", "127.0.0.1", "-U", "0", "-o", "modern", "-v"};
  p.args = {"-m", std::to_string(cr.spec.memoryMB), "-u", "nobody"};
  p.ports = {{.name = "memcached", .port = cr.spec.port, .indexed = true}};
  p.readinessProbe = {.tcpSocket = {{.port = "memcached"}}, .periodSeconds = 1};
  p.livenessProbe = {.tcpSocket = {{.port = "memcached"}}, .periodSeconds = 10};
  p.terminationGracePeriodSeconds = 10;
  if (Status s = types::SetControllerReference(cr, set); !s.ok()) return Err(s);
  return set;
}

R Reconcile(const runtime::Context& ctx, const runtime::Request& req, const std::string& binary) {
  const std::string& name = req.name;
  auto cr = ctx.client.get<Memcached>(req);  // gone: its ProcessSet goes by garbage collection
  if (!cr) return cr.error().code() == StatusCode::kNotFound ? R::Done() : R::Retry(cr.error());
  if (cr->status.conditions.empty())  // first sight: say so before anything else
    cr = ctx.client.set_condition(*cr, "Available", "Unknown", "Reconciling", "Starting reconciliation");
  if (cr && !cr->metadata.being_deleted() && cr->metadata.add_finalizer(kFinalizer)) cr = ctx.client.update(*cr);
  if (!cr) return R::Retry(cr.error());
  if (cr->metadata.being_deleted()) {  // the finalizer sequence
    if (!cr->metadata.has_finalizer(kFinalizer)) return R::Done();
    cr = ctx.client.set_condition(*cr, "Degraded", "Unknown", "Finalizing",
                                  "Performing finalizer operations for the custom resource: " + name + " ");
    if (!cr) return R::Retry(cr.error());
    ctx.event(*cr, "Warning", "Deleting", "Custom Resource " + name + " is being deleted from the namespace " + req.ns);
    cr = ctx.client.set_condition(
        *cr, "Degraded", "True", "Finalizing",
        "Finalizer operations for custom resource " + name + " name were successfully accomplished");
    if (cr && cr->metadata.remove_finalizer(kFinalizer)) cr = ctx.client.update(*cr);
    return cr || cr.error().code() == StatusCode::kNotFound ? R::Done() : R::Retry(cr.error());
  }
  auto failed = [&](std::string reason, std::string what, const Status& error) {  // say so, then retry
    (void)ctx.client.set_condition(*cr, "Available", "False", reason,
                                   what + " for the custom resource (" + name + "): (" + error.message() + ")");
    return R::Retry(error);
  };
  auto want = ProcessSetFor(*cr, binary);
  auto set = ctx.client.get<ProcessSet>(req);
  if (!set && set.error().code() == StatusCode::kNotFound) {
    auto created = want ? ctx.client.create(*want) : Err(want.error());
    return created ? R::RequeueAfter(std::chrono::minutes(1))
                   : failed("Reconciling", "Failed to create ProcessSet", created.error());
  }
  if (!set) return R::Retry(set.error());
  if (set->spec.replicas != cr->spec.size || (want && set->spec.template_ != want->spec.template_)) {
    set->spec.replicas = cr->spec.size;  // a hand-made scale is undone
    if (want) set->spec.template_ = want->spec.template_;
    auto updated = ctx.client.update(*set);
    return updated ? R::RequeueAfter(std::chrono::milliseconds(0))
                   : failed("Resizing", "Failed to update the size", updated.error());
  }
  auto processes = ctx.client.list<setpointv1alpha1::Process>(req.ns, set->spec.selector.matchLabels);
  if (!processes) return R::Retry(processes.error());
  MemcachedStatus& st = cr->status;
  st.nodes.emplace();
  for (const auto& p : *processes)
    if (!p.metadata.being_deleted() && p.status.ready) st.nodes->push_back(p.metadata.name);
  st.readyReplicas = static_cast<std::int32_t>(st.nodes->size());
  st.observedGeneration = cr->metadata.generation;
  const std::string ready = std::to_string(st.readyReplicas), size = std::to_string(cr->spec.size);
  types::SetCondition(
      *cr, "Available", ready == size ? "True" : "Unknown", "Reconciling",
      ready == size ? "ProcessSet for custom resource (" + name + ") with " + size + " replicas created successfully"
                    : "Waiting for memcached servers: " + ready + " of " + size + " ready");
  return R::DoneOrRetry(ctx.client.update_status_if_changed(*cr));
}

}  // namespace memcached
