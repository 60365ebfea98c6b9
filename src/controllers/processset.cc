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

bool Gone(const Status& s) { return s.code() == StatusCode::kNotFound; }

const json::object kEmpty;

const json::object& Field(const json::object& o, std::string_view key) {
  const json::object* f = GetObject(o, key);
  return f ? *f : kEmpty;
}

// The set as an owner: the fields an owner reference needs, whatever the cache kept.
json::object OwnerOf(const json::object& set) {
  const json::object& meta = Field(set, "metadata");
  return json::object{{"apiVersion", kProcessSets.api_version()},
                      {"kind", kProcessSets.kind},
                      {"metadata",
                       {{"name", GetStringOr(meta, "name", "")},
                        {"namespace", GetStringOr(meta, "namespace", "")},
                        {"uid", GetStringOr(meta, "uid", "")}}}};
}

// Template labels, then the set's own two.
json::object ChildLabels(const json::object& tmpl, int index, const std::string& hash) {
  json::object labels = Field(Field(tmpl, "metadata"), "labels");
  labels[kIndexLabel] = std::to_string(index);
  labels[kTemplateHashLabel] = hash;
  return labels;
}

// What a spec must say before anything is done with it.
struct Parsed {
  int replicas = 1;
  api::LabelSelector selector;
  SetView view;
};

Result<Parsed> Parse(const json::object& set) {
  const json::object& spec = Field(set, "spec");
  const json::object& tmpl = Field(spec, "template");
  Parsed p;
  p.replicas = static_cast<int>(std::max<std::int64_t>(0, GetInt(spec, "replicas").value_or(1)));
  const json::value* selector = spec.if_contains("selector");
  if (!selector) return Err(Status::Invalid("spec.selector: Required value"));
  auto s = api::LabelSelector::FromJson(*selector);
  if (!s) return Err(Status::Invalid("spec.selector: " + s.error().message()));
  if (s->empty())
    return Err(Status::Invalid("spec.selector: Invalid value: empty selector is invalid for a ProcessSet"));
  const json::object* labels = GetObject(Field(tmpl, "metadata"), "labels");
  if (!s->matches(labels))
    return Err(
        Status::Invalid("spec.template.metadata.labels: Invalid value: `selector` does not match template `labels`"));
  p.selector = std::move(*s);

  const json::object& strategy = Field(spec, "strategy");
  const json::object& rolling = Field(strategy, "rollingUpdate");
  SetView& v = p.view;
  v.replicas = p.replicas;
  v.hot_restart = GetStringOr(strategy, "type", "RollingUpdate") == "HotRestart";
  auto surge = ResolveBound(rolling.if_contains("maxSurge"), p.replicas, 0, true);
  if (!surge) return Err(Status::Invalid("spec.strategy.rollingUpdate.maxSurge: " + surge.error().message()));
  auto unavailable = ResolveBound(rolling.if_contains("maxUnavailable"), p.replicas, 1, false);
  if (!unavailable)
    return Err(Status::Invalid("spec.strategy.rollingUpdate.maxUnavailable: " + unavailable.error().message()));
  v.max_surge = *surge;
  v.max_unavailable = (*surge == 0 && *unavailable == 0) ? 1 : *unavailable;  // as a Deployment: progress is possible
  v.min_ready_seconds = static_cast<int>(GetInt(spec, "minReadySeconds").value_or(0));
  v.hash = TemplateHash(tmpl);
  v.fixed_agent = !GetStringOr(Field(tmpl, "spec"), "agentName", "").empty();
  return p;
}

}  // namespace

ProcessSetReconciler::ProcessSetReconciler(runtime::Manager& manager, ClockPtr clock)
    : manager_(manager), clock_(clock ? std::move(clock) : manager.env()->wall()) {}

Status ProcessSetReconciler::create_child(const json::object& set, int index, const std::string& hash) {
  const json::object& tmpl = Field(Field(set, "spec"), "template");
  const std::string ns(runtime::ObjectNamespace(set)), name(runtime::ObjectName(set));
  json::object meta{{"generateName", name + "-"}, {"namespace", ns}, {"labels", ChildLabels(tmpl, index, hash)}};
  if (const json::object* annotations = GetObject(Field(tmpl, "metadata"), "annotations"))
    meta["annotations"] = *annotations;
  json::object child{{"apiVersion", kProcesses.api_version()},
                     {"kind", kProcesses.kind},
                     {"metadata", std::move(meta)},
                     {"spec", Field(tmpl, "spec")}};
  if (Status s = runtime::set_controller_reference(OwnerOf(set), child); !s.ok()) return s;
  auto r = manager_.client().create(kProcesses, ns, child);
  if (!r) {
    manager_.recorder().event(set, "Warning", "FailedCreate",
                              "Error creating process " + std::to_string(index) + ": " + r.error().message());
    return r.error();
  }
  manager_.recorder().event(
      set, "Normal", "SuccessfulCreate",
      "Created process: " + std::string(runtime::ObjectName(*r)) + " (index " + std::to_string(index) + ")");
  return Status::Ok();
}

Status ProcessSetReconciler::hot_restart(const json::object& set, const json::object& child, const std::string& hash) {
  const json::object& tmpl = Field(Field(set, "spec"), "template");
  json::object updated = child;
  json::object spec = Field(tmpl, "spec");
  if (const std::string_view agent = AgentNameOf(child); !agent.empty()) spec["agentName"] = agent;
  updated["spec"] = std::move(spec);
  json::object& meta = EnsureObject(updated, "metadata");
  json::object& labels = EnsureObject(meta, "labels");
  const std::string index(GetStringOr(labels, kIndexLabel, ""));
  for (const auto& kv : Field(Field(tmpl, "metadata"), "labels")) labels[kv.key()] = kv.value();
  labels[kIndexLabel] = index;
  labels[kTemplateHashLabel] = hash;
  if (const json::object* annotations = GetObject(Field(tmpl, "metadata"), "annotations")) {
    json::object& a = EnsureObject(meta, "annotations");
    for (const auto& kv : *annotations) a[kv.key()] = kv.value();
  }
  auto r = manager_.client().update(kProcesses, std::string(runtime::ObjectNamespace(child)), updated);
  if (!r) return Gone(r.error()) ? Status::Ok() : r.error();
  manager_.recorder().event(
      set, "Normal", "HotRestart",
      "Restarting process " + std::string(runtime::ObjectName(child)) + " in place on template " + hash);
  return Status::Ok();
}

Status ProcessSetReconciler::write_status(const json::object& set, const SetPlan& plan, int replicas,
                                          const std::string& selector, const std::string& hash) {
  const std::int64_t generation = GetInt(Field(set, "metadata"), "generation").value_or(0);
  const std::string name(runtime::ObjectName(set));
  const SetCounts& n = plan.counts;
  json::object updated = set;
  json::object& status = EnsureObject(updated, "status");
  status["replicas"] = n.replicas;
  status["readyReplicas"] = n.ready;
  status["updatedReplicas"] = n.updated;
  status["availableReplicas"] = n.available;
  status["observedGeneration"] = generation;
  status["selector"] = selector;
  status["templateHash"] = hash;
  const WallTime now = clock_->now();
  json::array& conditions = MutableConditions(updated);
  runtime::set_condition(conditions,
                         n.minimum_available ? runtime::Condition{"Available",
                                                                  "True",
                                                                  "MinimumReplicasAvailable",
                                                                  "ProcessSet has minimum availability.",
                                                                  generation,
                                                                  {}}
                                             : runtime::Condition{"Available",
                                                                  "False",
                                                                  "MinimumReplicasUnavailable",
                                                                  "ProcessSet does not have minimum availability.",
                                                                  generation,
                                                                  {}},
                         now);
  runtime::set_condition(
      conditions,
      n.complete ? runtime::Condition{"Progressing",
                                      "True",
                                      "NewProcessSetAvailable",
                                      "ProcessSet \"" + name + "\" has successfully progressed.",
                                      generation,
                                      {}}
                 : runtime::Condition{"Progressing",
                                      "True",
                                      "ProcessSetUpdated",
                                      "ProcessSet \"" + name + "\" is progressing: " + std::to_string(n.updated) +
                                          " of " + std::to_string(replicas) + " updated, " +
                                          std::to_string(n.available) + " available.",
                                      generation,
                                      {}},
      now);
  if (updated == set) return Status::Ok();
  auto r = manager_.client().update_status(kProcessSets, std::string(runtime::ObjectNamespace(set)), updated);
  return r || Gone(r.error()) ? Status::Ok() : r.error();
}

ReconcileResult ProcessSetReconciler::reconcile(const runtime::Request& req) {
  runtime::CachedClient& client = manager_.client();
  auto got = client.get(kProcessSets, req.ns, req.name);
  if (!got) return Gone(got.error()) ? ReconcileResult::Done() : ReconcileResult::Retry(got.error());
  const json::object& set = **got;
  if (runtime::deletion_requested(set)) return ReconcileResult::Done();  // the collector takes the children
  auto parsed = Parse(set);
  if (!parsed) {
    manager_.recorder().event(set, "Warning", "InvalidSpec", parsed.error().message());
    return ReconcileResult::Terminal(parsed.error());
  }
  const std::string uid(GetStringOr(Field(set, "metadata"), "uid", ""));
  auto owned = client.by_index(kProcesses, runtime::kOwnerUidIndex, uid);
  if (!owned) return ReconcileResult::Retry(owned.error());
  std::vector<runtime::ObjectPtr> children;
  std::vector<ChildView> views;
  for (const auto& p : *owned) {
    const json::object* ref = runtime::get_controller_of(*p);
    if (!ref || GetStringOr(*ref, "uid", "") != uid || runtime::ObjectNamespace(*p) != req.ns) continue;
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
      if (runtime::ObjectName(*c) != name) continue;
      client::DeleteOptions options;
      options.precondition_uid = std::string(GetStringOr(Field(*c, "metadata"), "uid", ""));
      auto r = client.remove(kProcesses, req.ns, name, options);
      if (r)
        manager_.recorder().event(set, "Normal", "SuccessfulDelete", "Deleted process: " + name);
      else if (!Gone(r.error()))
        keep(r.error());
    }
  }
  for (int index : plan.create) keep(create_child(set, index, parsed->view.hash));
  if (plan.hot_restart)
    for (const auto& c : children)
      if (runtime::ObjectName(*c) == *plan.hot_restart) keep(hot_restart(set, *c, parsed->view.hash));
  keep(write_status(set, plan, parsed->replicas, parsed->selector.to_string(), parsed->view.hash));

  if (!first.ok()) return ReconcileResult::Retry(first);
  if (plan.recheck) return ReconcileResult::RequeueAfter(*plan.recheck);
  return ReconcileResult::Done();
}

Result<runtime::ControllerPtr> BuildProcessSetController(runtime::Manager& manager, ProcessSetReconciler& reconciler) {
  return manager.controller("processset")
      .For(kProcessSets)
      .Owns(kProcesses)
      .WithMaxConcurrentReconciles(2)
      .Complete(reconciler);
}

}  // namespace setpoint::controllers
