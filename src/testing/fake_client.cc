#include "setpoint/testing/fake_client.h"

#include <boost/json.hpp>

#include "setpoint/api/patch.h"
#include "setpoint/common/json.h"

namespace setpoint::testing {

namespace json = boost::json;
using client::GroupVersionResource;

namespace {

std::string Qualified(const GroupVersionResource& gvr) {
  return gvr.group.empty() ? gvr.resource : gvr.resource + "." + gvr.group;
}

std::string Key(std::string_view ns, std::string_view name) {
  return ns.empty() ? std::string(name) : std::string(ns) + "/" + std::string(name);
}

std::string MetaString(const json::object& obj, std::string_view key) {
  const json::object* meta = GetObject(obj, "metadata");
  return meta ? std::string(GetStringOr(*meta, key, "")) : std::string();
}

// Everything but metadata and status: what a change of bumps generation.
bool SpecChanged(const json::object& a, const json::object& b) {
  auto rest = [](json::object o) {
    o.erase("metadata");
    o.erase("status");
    o.erase("apiVersion");
    o.erase("kind");
    return o;
  };
  return rest(a) != rest(b);
}

bool HasFinalizers(const json::object& obj) {
  const json::object* meta = GetObject(obj, "metadata");
  const json::array* f = meta ? GetArray(*meta, "finalizers") : nullptr;
  return f && !f->empty();
}

}  // namespace

FakeClient::FakeClient(ClockPtr clock) : clock_(clock ? std::move(clock) : std::make_shared<SystemClock>()) {}

void FakeClient::add(const GroupVersionResource& gvr, json::object obj) {
  std::lock_guard lock(mu_);
  json::object& meta = EnsureObject(obj, "metadata");
  if (GetStringOr(meta, "uid", "").empty()) meta["uid"] = "fake-uid-" + std::to_string(++uids_);
  meta["resourceVersion"] = std::to_string(++revision_);
  if (!meta.contains("creationTimestamp")) meta["creationTimestamp"] = FormatRfc3339(clock_->now());
  if (!GetInt(meta, "generation").value_or(0)) meta["generation"] = 1;
  if (!gvr.namespaced) meta.erase("namespace");
  const std::string key = Key(gvr.namespaced ? MetaString(obj, "namespace") : "", MetaString(obj, "name"));
  store_locked(gvr)[key] = std::make_shared<const json::object>(std::move(obj));
}

void FakeClient::fail_when(Failure failure) {
  std::lock_guard lock(mu_);
  failure_ = std::move(failure);
}

std::vector<std::string> FakeClient::writes() const {
  std::lock_guard lock(mu_);
  return writes_;
}

void FakeClient::clear_writes() {
  std::lock_guard lock(mu_);
  writes_.clear();
}

Status FakeClient::check(std::string_view verb, const GroupVersionResource& gvr, std::string_view ns,
                         std::string_view name) const {
  if (gvr.namespaced && ns.empty() && verb != "list")
    return Status::BadRequest("an empty namespace may not be set when a resource name is provided");
  return failure_ ? failure_(verb, gvr, ns, name) : Status::Ok();
}

Result<runtime::ObjectPtr> FakeClient::get(const GroupVersionResource& gvr, std::string_view ns,
                                           std::string_view name) {
  std::lock_guard lock(mu_);
  if (Status s = check("get", gvr, ns, name); !s.ok()) return Err(s);
  const Store& store = store_locked(gvr);
  auto it = store.find(Key(gvr.namespaced ? ns : "", name));
  if (it == store.end()) return Err(Status::NotFound(Qualified(gvr) + " \"" + std::string(name) + "\" not found"));
  return it->second;
}

Result<std::vector<runtime::ObjectPtr>> FakeClient::list(const GroupVersionResource& gvr, std::string_view ns,
                                                         const api::LabelSelector* selector) {
  std::lock_guard lock(mu_);
  if (Status s = check("list", gvr, ns, ""); !s.ok()) return Err(s);
  std::vector<runtime::ObjectPtr> out;
  for (const auto& [key, obj] : store_locked(gvr)) {
    if (gvr.namespaced && !ns.empty() && MetaString(*obj, "namespace") != ns) continue;
    const json::object* meta = GetObject(*obj, "metadata");
    if (selector && !selector->matches(meta ? GetObject(*meta, "labels") : nullptr)) continue;
    out.push_back(obj);
  }
  return out;
}

Result<json::object> FakeClient::create(const GroupVersionResource& gvr, std::string_view ns, const json::object& in) {
  std::lock_guard lock(mu_);
  json::object obj = in;
  json::object& meta = EnsureObject(obj, "metadata");
  std::string name(GetStringOr(meta, "name", ""));
  if (name.empty() && !GetStringOr(meta, "generateName", "").empty()) {
    name = std::string(GetStringOr(meta, "generateName", "")) + "fake" + std::to_string(uids_ + 1);
    meta["name"] = name;
  }
  if (Status s = check("create", gvr, ns, name); !s.ok()) return Err(s);
  if (name.empty()) return Err(Status::Invalid("metadata.name: Required value: name or generateName is required"));
  if (gvr.namespaced) {
    const std::string given = MetaString(obj, "namespace");
    if (!given.empty() && given != ns)
      return Err(
          Status::BadRequest("the namespace of the provided object does not match the namespace sent on the "
                             "request"));
    meta["namespace"] = ns;
  } else {
    meta.erase("namespace");
  }
  Store& store = store_locked(gvr);
  const std::string key = Key(gvr.namespaced ? ns : "", name);
  if (store.count(key)) return Err(Status::AlreadyExists(Qualified(gvr) + " \"" + name + "\" already exists"));
  meta["uid"] = "fake-uid-" + std::to_string(++uids_);
  meta["resourceVersion"] = std::to_string(++revision_);
  meta["generation"] = 1;
  meta["creationTimestamp"] = FormatRfc3339(clock_->now());
  meta.erase("deletionTimestamp");
  obj.erase("status");
  if (gvr.kind.size()) obj["kind"] = gvr.kind;
  obj["apiVersion"] = gvr.api_version();
  store[key] = std::make_shared<const json::object>(obj);
  writes_.push_back("create " + gvr.resource + " " + key);
  return obj;
}

Result<json::object> FakeClient::write_locked(const GroupVersionResource& gvr, std::string_view ns, json::object obj,
                                              bool status) {
  const std::string name = MetaString(obj, "name");
  if (Status s = check(status ? "update_status" : "update", gvr, ns, name); !s.ok()) return Err(s);
  Store& store = store_locked(gvr);
  const std::string key = Key(gvr.namespaced ? ns : "", name);
  auto it = store.find(key);
  if (it == store.end()) return Err(Status::NotFound(Qualified(gvr) + " \"" + name + "\" not found"));
  const json::object& old = *it->second;
  const std::string rv = MetaString(obj, "resourceVersion");
  if (!rv.empty() && rv != MetaString(old, "resourceVersion"))
    return Err(Status::Conflict("Operation cannot be fulfilled on " + Qualified(gvr) + " \"" + name +
                                "\": the object has been modified; please apply your changes to the latest version "
                                "and try again"));
  json::object next;
  if (status) {
    next = old;
    if (const json::value* st = obj.if_contains("status"))
      next["status"] = *st;
    else
      next.erase("status");
  } else {
    next = std::move(obj);
    if (const json::value* st = old.if_contains("status"))
      next["status"] = *st;
    else
      next.erase("status");
    // What the server owns in metadata stays the server's.
    json::object& meta = EnsureObject(next, "metadata");
    const json::object& old_meta = *GetObject(old, "metadata");
    for (std::string_view f : {"uid", "creationTimestamp", "generation", "deletionTimestamp", "namespace"}) {
      if (const json::value* v = old_meta.if_contains(f))
        meta[f] = *v;
      else
        meta.erase(f);
    }
    if (SpecChanged(old, next)) meta["generation"] = GetInt(old_meta, "generation").value_or(0) + 1;
  }
  EnsureObject(next, "metadata")["resourceVersion"] = std::to_string(++revision_);
  if (gvr.kind.size()) next["kind"] = gvr.kind;
  next["apiVersion"] = gvr.api_version();
  writes_.push_back(std::string(status ? "update_status " : "update ") + gvr.resource + " " + key);
  if (!MetaString(next, "deletionTimestamp").empty() && !HasFinalizers(next)) {
    store.erase(it);
    return next;
  }
  it->second = std::make_shared<const json::object>(next);
  return next;
}

Result<json::object> FakeClient::update(const GroupVersionResource& gvr, std::string_view ns, const json::object& obj) {
  std::lock_guard lock(mu_);
  return write_locked(gvr, ns, obj, false);
}

Result<json::object> FakeClient::update_status(const GroupVersionResource& gvr, std::string_view ns,
                                               const json::object& obj) {
  std::lock_guard lock(mu_);
  return write_locked(gvr, ns, obj, true);
}

Result<json::object> FakeClient::patch(const GroupVersionResource& gvr, std::string_view ns, std::string_view name,
                                       client::PatchType type, std::string_view body, std::string_view subresource) {
  std::lock_guard lock(mu_);
  if (Status s = check("patch", gvr, ns, name); !s.ok()) return Err(s);
  const Store& store = store_locked(gvr);
  auto it = store.find(Key(gvr.namespaced ? ns : "", name));
  if (it == store.end()) return Err(Status::NotFound(Qualified(gvr) + " \"" + std::string(name) + "\" not found"));
  auto patch = ParseJson(body);
  if (!patch) return Err(Status::BadRequest(patch.error().message()));
  const json::value target(*it->second);
  Result<json::value> patched = type == client::PatchType::kMerge ? api::ApplyMergePatch(target, *patch)
                                : type == client::PatchType::kJson
                                    ? api::ApplyJsonPatch(target, *patch)
                                    : api::ApplyStrategicMergePatch(target, *patch, api::DefaultStrategicMergeSchema());
  if (!patched) return Err(patched.error());
  if (!patched->is_object()) return Err(Status::BadRequest("a patch must leave an object"));
  json::object next = std::move(patched->as_object());
  // A patch applies to what is stored: no resourceVersion precondition unless the patch set one.
  return write_locked(gvr, ns, std::move(next), subresource == "status");
}

Result<json::object> FakeClient::remove(const GroupVersionResource& gvr, std::string_view ns, std::string_view name,
                                        const client::DeleteOptions& options) {
  std::lock_guard lock(mu_);
  if (Status s = check("delete", gvr, ns, name); !s.ok()) return Err(s);
  Store& store = store_locked(gvr);
  const std::string key = Key(gvr.namespaced ? ns : "", name);
  auto it = store.find(key);
  if (it == store.end()) return Err(Status::NotFound(Qualified(gvr) + " \"" + std::string(name) + "\" not found"));
  const json::object& old = *it->second;
  if (!options.precondition_uid.empty() && options.precondition_uid != MetaString(old, "uid"))
    return Err(Status::Conflict("Precondition failed: UID in precondition: " + options.precondition_uid +
                                ", UID in object meta: " + MetaString(old, "uid")));
  writes_.push_back("delete " + gvr.resource + " " + key);
  json::object gone = old;
  if (!HasFinalizers(old)) {
    store.erase(it);
    return gone;
  }
  if (MetaString(old, "deletionTimestamp").empty()) {
    json::object& meta = EnsureObject(gone, "metadata");
    meta["deletionTimestamp"] = FormatRfc3339(clock_->now());
    meta["deletionGracePeriodSeconds"] = 0;
    meta["resourceVersion"] = std::to_string(++revision_);
    it->second = std::make_shared<const json::object>(gone);
  }
  return gone;
}

void FakeEvents::event(const json::object& object, std::string_view type, std::string_view reason,
                       std::string message) {
  std::lock_guard lock(mu_);
  events_.push_back({std::string(type), std::string(reason), std::move(message),
                     std::string(GetStringOr(object, "kind", "")), MetaString(object, "namespace"),
                     MetaString(object, "name")});
}

std::vector<FakeEvents::Event> FakeEvents::events() const {
  std::lock_guard lock(mu_);
  return events_;
}

}  // namespace setpoint::testing
