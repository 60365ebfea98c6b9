#include "controllers/processset.h"

#include <spdlog/spdlog.h>

#include "controllers/process_status.h"
#include "controllers/setpoint_kinds.h"
#include "setpoint/api/label_selector.h"
#include "setpoint/common/json.h"
#include "setpoint/runtime/cache.h"
#include "setpoint/runtime/conditions.h"
#include "setpoint/runtime/object_helpers.h"

namespace setpoint::controllers {
namespace {

namespace json = boost::json;
using runtime::ReconcileResult;

using setpointv1alpha1::Process;
using setpointv1alpha1::ProcessSet;

bool Gone(const Status& s) { return s.code() == StatusCode::kNotFound; }

// What a spec must say before anything is done with it.
struct Parsed {
  int replicas = 1;
  api::LabelSelector selector;
  SetView view;
};

Result<Parsed> Parse(const ProcessSet& set) {
  const auto& spec = set.spec;
  Parsed p;
  p.replicas = std::max(0, spec.replicas);
  const auto* stored = set.original ? set.original->if_contains("spec") : nullptr;
  if (stored && stored->is_object() && !stored->as_object().contains("selector"))
    return Err(Status::Invalid("spec.selector: Required value"));
  auto s = api::LabelSelector::FromJson(types::ToJson(spec.selector));
  if (!s) return Err(Status::Invalid("spec.selector: " + s.error().message()));
  if (s->empty())
    return Err(Status::Invalid("spec.selector: Invalid value: empty selector is invalid for a ProcessSet"));
  const boost::json::value labels = types::ToJson(spec.template_.metadata.labels);
  if (!s->matches(&labels.as_object()))
    return Err(
        Status::Invalid("spec.template.metadata.labels: Invalid value: `selector` does not match template `labels`"));
  p.selector = std::move(*s);

  const std::optional<setpointv1alpha1::RollingUpdate>& rolling = spec.strategy.rollingUpdate;
  SetView& v = p.view;
  v.replicas = p.replicas;
  v.hot_restart = spec.strategy.type_ == "HotRestart";
  auto surge = ResolveBound(rolling ? rolling->maxSurge : std::nullopt, p.replicas, 0, true);
  if (!surge) return Err(Status::Invalid("spec.strategy.rollingUpdate.maxSurge: " + surge.error().message()));
  auto unavailable = ResolveBound(rolling ? rolling->maxUnavailable : std::nullopt, p.replicas, 1, false);
  if (!unavailable)
    return Err(Status::Invalid("spec.strategy.rollingUpdate.maxUnavailable: " + unavailable.error().message()));
  v.max_surge = *surge;
  v.max_unavailable = (*surge == 0 && *unavailable == 0) ? 1 : *unavailable;  // as a Deployment: progress is possible
  v.min_ready_seconds = spec.minReadySeconds;
  // Over the template as the server stored it, so that a hash never moves with this type's
  // defaults: the children's template-hash labels stay valid across versions of the controller.
  const boost::json::value* stored_template =
      stored && stored->is_object() ? stored->as_object().if_contains("template") : nullptr;
  v.hash = TemplateHash(stored_template ? *stored_template : boost::json::value(boost::json::object()));
  v.fixed_agent = !spec.template_.spec.agentName.empty();
  return p;
}

// Makes `p`'s JSON start from the template's spec as the server stored it, under p.spec (the
// same spec, decoded): what the type cannot tell apart from a default (an empty address, which
// binds every interface, from an absent one, which the server defaults to loopback) is then
// copied as written, as the template hash is taken over what was written.
void FromStoredTemplate(const ProcessSet& set, Process& p) {
  boost::json::object base = p.original ? *p.original : boost::json::object();
  const boost::json::value* spec = set.original ? set.original->if_contains("spec") : nullptr;
  const boost::json::value* tmpl = spec && spec->is_object() ? spec->as_object().if_contains("template") : nullptr;
  const boost::json::value* stored = tmpl && tmpl->is_object() ? tmpl->as_object().if_contains("spec") : nullptr;
  if (stored) base["spec"] = *stored;
  p.original = std::make_shared<const boost::json::object>(std::move(base));
  p.spec = set.spec.template_.spec;
}

// The template's labels, then the set's own two.
std::map<std::string, std::string> ChildLabels(const ProcessSet& set, int index, const std::string& hash) {
  auto labels = set.spec.template_.metadata.labels;
  labels[std::string(kIndexLabel)] = std::to_string(index);
  labels[std::string(kTemplateHashLabel)] = hash;
  return labels;
}

}  // namespace

ProcessSetReconciler::ProcessSetReconciler(runtime::Manager& manager, ClockPtr clock)
    : manager_(manager), clock_(clock ? std::move(clock) : manager.env()->wall()) {}

Status ProcessSetReconciler::create_child(const runtime::Context& ctx, const ProcessSet& set, int index,
                                          const std::string& hash) {
  Process child;
  child.metadata.generateName = set.metadata.name + "-";
  child.metadata.namespace_ = set.metadata.namespace_;
  child.metadata.labels = ChildLabels(set, index, hash);
  child.metadata.annotations = set.spec.template_.metadata.annotations;
  FromStoredTemplate(set, child);
  if (Status s = types::SetControllerReference(set, child); !s.ok()) return s;
  auto r = ctx.client.create(child);
  if (!r) {
    ctx.event(set, "Warning", "FailedCreate",
              "Error creating process " + std::to_string(index) + ": " + r.error().message());
    return r.error();
  }
  ctx.event(set, "Normal", "SuccessfulCreate",
            "Created process: " + r->metadata.name + " (index " + std::to_string(index) + ")");
  return Status::Ok();
}

Status ProcessSetReconciler::hot_restart(const runtime::Context& ctx, const ProcessSet& set, const Process& child,
                                         const std::string& hash) {
  Process updated = child;
  FromStoredTemplate(set, updated);
  if (!child.spec.agentName.empty()) updated.spec.agentName = child.spec.agentName;
  auto& labels = updated.metadata.labels;
  const auto index = labels.find(std::string(kIndexLabel));
  const std::string kept = index == labels.end() ? std::string() : index->second;
  for (const auto& [k, v] : set.spec.template_.metadata.labels) labels[k] = v;
  labels[std::string(kIndexLabel)] = kept;
  labels[std::string(kTemplateHashLabel)] = hash;
  for (const auto& [k, v] : set.spec.template_.metadata.annotations) updated.metadata.annotations[k] = v;
  auto r = ctx.client.update(updated);
  if (!r) return Gone(r.error()) ? Status::Ok() : r.error();
  ctx.event(set, "Normal", "HotRestart", "Restarting process " + child.metadata.name + " in place on template " + hash);
  return Status::Ok();
}

Status ProcessSetReconciler::write_status(const runtime::Context& ctx, const ProcessSet& set, const SetPlan& plan,
                                          int replicas, const std::string& selector, const std::string& hash) {
  const std::int64_t generation = set.metadata.generation;
  const std::string& name = set.metadata.name;
  const SetCounts& n = plan.counts;
  ProcessSet updated = set;
  auto& status = updated.status;
  status.replicas = n.replicas;
  status.readyReplicas = n.ready;
  status.updatedReplicas = n.updated;
  status.availableReplicas = n.available;
  status.observedGeneration = generation;
  status.selector = selector;
  status.templateHash = hash;
  const WallTime now = clock_->now();
  types::SetCondition(status.conditions,
                      n.minimum_available
                          ? types::Condition{"Available", "True", generation, "", "MinimumReplicasAvailable",
                                             "ProcessSet has minimum availability."}
                          : types::Condition{"Available", "False", generation, "", "MinimumReplicasUnavailable",
                                             "ProcessSet does not have minimum availability."},
                      now);
  types::SetCondition(
      status.conditions,
      n.complete
          ? types::Condition{"Progressing", "True", generation, "", "NewProcessSetAvailable",
                             "ProcessSet \"" + name + "\" has successfully progressed."}
          : types::Condition{"Progressing", "True", generation, "", "ProcessSetUpdated",
                             "ProcessSet \"" + name + "\" is progressing: " + std::to_string(n.updated) + " of " +
                                 std::to_string(replicas) + " updated, " + std::to_string(n.available) + " available."},
      now);
  auto r = ctx.client.update_status_if_changed(updated);
  return r || Gone(r.error()) ? Status::Ok() : r.error();
}

ReconcileResult ProcessSetReconciler::reconcile(const runtime::Context& ctx, const runtime::Request& req) {
  auto got = ctx.client.view<ProcessSet>(req);
  if (!got) return Gone(got.error()) ? ReconcileResult::Done() : ReconcileResult::Retry(got.error());
  const ProcessSet& set = **got;
  if (set.metadata.being_deleted()) return ReconcileResult::Done();  // the collector takes the children
  auto parsed = Parse(set);
  if (!parsed) {
    ctx.event(set, "Warning", "InvalidSpec", parsed.error().message());
    return ReconcileResult::Terminal(parsed.error());
  }
  const std::string& uid = set.metadata.uid;
  auto owned = ctx.client.view_index<Process>(runtime::kOwnerUidIndex, uid);
  if (!owned) return ReconcileResult::Retry(owned.error());
  std::vector<std::shared_ptr<const Process>> children;
  std::vector<ChildView> views;
  for (const auto& p : *owned) {
    const types::OwnerReference* ref = p->metadata.controller_ref();
    if (!ref || ref->uid != uid || p->metadata.namespace_ != req.ns) continue;
    children.push_back(p);
    views.push_back(ViewOfChild(*p));
  }

  const SetPlan plan = PlanProcessSet(parsed->view, views, clock_->now());
  Status first;
  auto keep = [&first](Status s) {
    if (first.ok() && !s.ok()) first = std::move(s);
  };
  for (const auto& name : plan.remove) {
    for (const auto& c : children) {
      if (c->metadata.name != name) continue;
      client::DeleteOptions options;
      options.precondition_uid = c->metadata.uid;
      Status s = ctx.client.remove(*c, options);
      if (s.ok())
        ctx.event(set, "Normal", "SuccessfulDelete", "Deleted process: " + name);
      else if (!Gone(s))
        keep(s);
    }
  }
  for (int index : plan.create) keep(create_child(ctx, set, index, parsed->view.hash));
  if (plan.hot_restart)
    for (const auto& c : children)
      if (c->metadata.name == *plan.hot_restart) keep(hot_restart(ctx, set, *c, parsed->view.hash));
  keep(write_status(ctx, set, plan, parsed->replicas, parsed->selector.to_string(), parsed->view.hash));

  if (!first.ok()) return ReconcileResult::Retry(first);
  if (plan.recheck) return ReconcileResult::RequeueAfter(*plan.recheck);
  return ReconcileResult::Done();
}

Result<runtime::ControllerPtr> BuildProcessSetController(runtime::Manager& manager, ProcessSetReconciler& reconciler) {
  return manager.controller("processset")
      .For<ProcessSet>()
      .Owns<Process>()
      .WithMaxConcurrentReconciles(2)
      .Complete([&reconciler](const runtime::Context& ctx, const runtime::Request& req) {
        return reconciler.reconcile(ctx, req);
      });
}

}  // namespace setpoint::controllers
