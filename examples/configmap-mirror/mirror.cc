#include "mirror.h"

#include <string>

#include "setpoint/runtime/predicates.h"

namespace mirror {

namespace runtime = setpoint::runtime;
namespace types = setpoint::types;
using runtime::ReconcileResult;
using setpoint::Status;
using setpoint::StatusCode;
using setpoint::corev1::ConfigMap;

namespace {

const setpoint::api::LabelSelector& WantsMirror() {
  static const setpoint::api::LabelSelector selector = *setpoint::api::LabelSelector::Parse(kWantsMirror);
  return selector;
}

bool AsksForAMirror(const ConfigMap& cm) {
  boost::json::object labels;
  for (const auto& [k, v] : cm.metadata.labels) labels[k] = v;
  return !cm.metadata.being_deleted() && WantsMirror().matches(&labels);
}

}  // namespace

ReconcileResult MirrorReconciler::reconcile(const runtime::Context& ctx, const runtime::Request& req) {
  const std::string mirror_name = req.name + "-mirror";
  // Both reads come from the manager's cache. Had this reconciler just written either object, the
  // read would wait until the cache shows that write: no decision on a view older than our own.
  auto original = ctx.client.get<ConfigMap>(req);
  if (!original && original.error().code() != StatusCode::kNotFound) return ReconcileResult::Retry(original.error());
  auto copy = ctx.client.get<ConfigMap>(req.ns, mirror_name);
  if (!copy && copy.error().code() != StatusCode::kNotFound) return ReconcileResult::Retry(copy.error());
  const types::OwnerReference* owner = copy ? copy->metadata.controller_ref() : nullptr;
  const bool ours = owner && owner->kind == "ConfigMap" && owner->name == req.name;

  // 1. The original is gone, or no longer asks for a mirror: remove our copy. (With a garbage
  //    collector the owner reference would do this too; doing it here also covers the label.)
  if (!original || !AsksForAMirror(*original)) {
    if (!ours) return ReconcileResult::Done();
    Status s = ctx.client.remove(*copy);
    return s.ok() || s.code() == StatusCode::kNotFound ? ReconcileResult::Done() : ReconcileResult::Retry(s);
  }

  // 2. What the copy should be. It must not carry mirror=true, or we would mirror the mirror.
  ConfigMap want;
  want.metadata = {.name = mirror_name, .namespace_ = req.ns, .labels = {{kMirrorOf, req.name}}};
  want.data = original->data;
  want.binaryData = original->binaryData;
  if (Status s = types::SetControllerReference(*original, want); !s.ok()) return ReconcileResult::Terminal(s);

  // 3. No copy yet: create it.
  if (!copy) {
    auto created = ctx.client.create(want);
    if (!created) return ReconcileResult::Retry(created.error());
    creates_.fetch_add(1);
    ctx.event(*original, "Normal", "Mirrored", "Created mirror " + mirror_name);
    return ReconcileResult::Done();
  }

  // 4. A copy exists. Never overwrite one someone else made, or one an older original owned.
  if (!ours || owner->uid != original->metadata.uid) {
    ctx.event(*original, "Warning", "MirrorTaken", mirror_name + " exists and is not a mirror of " + req.name);
    return ReconcileResult::Terminal(
        Status::Conflict(req.ns + "/" + mirror_name + " exists and is not a mirror of " + req.name));
  }
  if (copy->data == want.data && copy->binaryData == want.binaryData) return ReconcileResult::Done();  // in sync

  // 5. Out of date: update it. The copy carries its resourceVersion, so the update is conditional;
  //    a 409 Conflict (someone wrote in between) is retried with backoff.
  copy->data = want.data;
  copy->binaryData = want.binaryData;
  auto updated = ctx.client.update(*copy);
  return updated ? ReconcileResult::Done() : ReconcileResult::Retry(updated.error());
}

setpoint::Result<runtime::ControllerPtr> BuildController(runtime::Controller::Builder builder,
                                                         MirrorReconciler& reconciler) {
  return builder.For<ConfigMap>({runtime::LabelSelectorPredicate(WantsMirror())})
      .Owns<ConfigMap>()
      .Complete([&reconciler](const runtime::Context& ctx, const runtime::Request& req) {
        return reconciler.reconcile(ctx, req);
      });
}

}  // namespace mirror
