#include "mirror.h"

#include <string>

#include <boost/json.hpp>

#include "setpoint/runtime/object_helpers.h"
#include "setpoint/runtime/predicates.h"

namespace mirror {

namespace json = boost::json;
namespace runtime = setpoint::runtime;
using runtime::ReconcileResult;
using setpoint::Status;
using setpoint::StatusCode;

namespace {

const setpoint::api::LabelSelector& WantsMirror() {
  static const setpoint::api::LabelSelector selector = *setpoint::api::LabelSelector::Parse(kWantsMirror);
  return selector;
}

// A field as an object; a missing one counts as empty.
json::object Field(const json::object& obj, std::string_view key) {
  const json::value* v = obj.if_contains(key);
  return v && v->is_object() ? v->as_object() : json::object();
}

std::string_view Str(const json::object& obj, std::string_view key) {
  const json::value* v = obj.if_contains(key);
  return v && v->is_string() ? std::string_view(v->as_string()) : std::string_view();
}

// What we mirror: data and binaryData.
void CopyData(const json::object& from, json::object& to) {
  for (std::string_view key : {"data", "binaryData"}) {
    if (json::object f = Field(from, key); !f.empty()) {
      to[key] = std::move(f);
    } else {
      to.erase(key);
    }
  }
}

bool SameData(const json::object& a, const json::object& b) {
  return Field(a, "data") == Field(b, "data") && Field(a, "binaryData") == Field(b, "binaryData");
}

}  // namespace

ReconcileResult MirrorReconciler::reconcile(const runtime::Request& req) {
  const std::string mirror_name = req.name + "-mirror";
  // Both reads come from the manager's cache. Had this reconciler just written either object, the
  // read would wait until the cache shows that write: no decision on a view older than our own.
  auto original = client_.get(kConfigMaps, req.ns, req.name);
  if (!original && original.error().code() != StatusCode::kNotFound) return ReconcileResult::Retry(original.error());
  auto existing = client_.get(kConfigMaps, req.ns, mirror_name);
  if (!existing && existing.error().code() != StatusCode::kNotFound) return ReconcileResult::Retry(existing.error());
  const json::object* copy = existing ? existing->get() : nullptr;
  const json::object* owner = copy ? runtime::get_controller_of(*copy) : nullptr;
  const bool ours = owner && Str(*owner, "kind") == "ConfigMap" && Str(*owner, "name") == req.name;

  // 1. The original is gone, or no longer asks for a mirror: remove our copy. (With a garbage
  //    collector the owner reference would do this too; doing it here also covers the label.)
  const json::object labels = original ? Field(Field(**original, "metadata"), "labels") : json::object();
  if (!original || runtime::deletion_requested(**original) || !WantsMirror().matches(&labels)) {
    if (!ours) return ReconcileResult::Done();
    auto r = client_.remove(kConfigMaps, req.ns, mirror_name);
    if (!r && r.error().code() != StatusCode::kNotFound) return ReconcileResult::Retry(r.error());
    return ReconcileResult::Done();
  }

  // 2. What the copy should be. It must not carry mirror=true, or we would mirror the mirror.
  json::object want{{"apiVersion", "v1"},
                    {"kind", "ConfigMap"},
                    {"metadata", {{"name", mirror_name}, {"namespace", req.ns}, {"labels", {{kMirrorOf, req.name}}}}}};
  CopyData(**original, want);
  json::object owner_obj = **original;
  owner_obj["apiVersion"] = "v1";  // list items may come without them; the reference needs both
  owner_obj["kind"] = "ConfigMap";
  if (Status s = runtime::set_controller_reference(owner_obj, want); !s.ok()) return ReconcileResult::Terminal(s);

  // 3. No copy yet: create it.
  if (!copy) {
    auto r = client_.create(kConfigMaps, req.ns, want);
    if (!r) return ReconcileResult::Retry(r.error());
    creates_.fetch_add(1);
    recorder_.event(owner_obj, "Normal", "Mirrored", "Created mirror " + mirror_name);
    return ReconcileResult::Done();
  }

  // 4. A copy exists. Never overwrite one someone else made, or one an older original owned.
  if (!ours || Str(*owner, "uid") != Str((**original).at("metadata").as_object(), "uid")) {
    recorder_.event(owner_obj, "Warning", "MirrorTaken", mirror_name + " exists and is not a mirror of " + req.name);
    return ReconcileResult::Terminal(
        Status::Conflict(req.ns + "/" + mirror_name + " exists and is not a mirror of " + req.name));
  }
  if (SameData(*copy, want)) return ReconcileResult::Done();  // in sync: the usual case

  // 5. Out of date: update it. The copy carries its resourceVersion, so the update is conditional;
  //    a 409 Conflict (someone wrote in between) is retried with backoff.
  json::object updated = *copy;
  CopyData(want, updated);
  auto r = client_.update(kConfigMaps, req.ns, updated);
  if (!r) return ReconcileResult::Retry(r.error());
  return ReconcileResult::Done();
}

setpoint::Result<runtime::ControllerPtr> BuildController(runtime::Controller::Builder builder,
                                                         MirrorReconciler& reconciler) {
  return builder.For(kConfigMaps, {runtime::LabelSelectorPredicate(WantsMirror())})
      .Owns(kConfigMaps)
      .Complete(reconciler);
}

}  // namespace mirror
