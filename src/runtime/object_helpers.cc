#include "setpoint/runtime/object_helpers.h"

#include <string>

#include "setpoint/common/json.h"

namespace json = boost::json;

namespace setpoint::runtime {
namespace {

std::string_view Str(const json::object& o, std::string_view key) { return GetStringOr(o, key, ""); }

std::string_view MetaStr(const json::object& obj, std::string_view key) {
  const json::object* meta = GetObject(obj, "metadata");
  return meta == nullptr ? std::string_view() : Str(*meta, key);
}

// "apps/v1" -> "apps"; "v1" -> "".
std::string_view GroupOf(std::string_view api_version) {
  const auto slash = api_version.find('/');
  return slash == std::string_view::npos ? std::string_view() : api_version.substr(0, slash);
}

bool SameOwner(const json::object& a, const json::object& b) {
  return GroupOf(Str(a, "apiVersion")) == GroupOf(Str(b, "apiVersion")) && Str(a, "kind") == Str(b, "kind") &&
         Str(a, "name") == Str(b, "name");
}

Result<json::object> OwnerRefFor(const json::object& owner, const json::object& object) {
  json::object ref;
  ref["apiVersion"] = Str(owner, "apiVersion");
  ref["kind"] = Str(owner, "kind");
  ref["name"] = MetaStr(owner, "name");
  ref["uid"] = MetaStr(owner, "uid");
  for (std::string_view f : {"apiVersion", "kind", "name", "uid"}) {
    if (Str(ref, f).empty()) return Err(Status::Invalid("owner has no " + std::string(f)));
  }
  // Upstream's validateOwner: garbage collection only follows same-namespace or cluster-scoped
  // owners.
  const std::string_view owner_ns = MetaStr(owner, "namespace");
  const std::string_view object_ns = MetaStr(object, "namespace");
  if (!owner_ns.empty()) {
    if (object_ns.empty()) {
      return Err(Status::Invalid("cluster-scoped resource must not have a namespace-scoped owner, owner's namespace " +
                                 std::string(owner_ns)));
    }
    if (owner_ns != object_ns) {
      return Err(Status::Invalid("cross-namespace owner references are disallowed, owner's namespace " +
                                 std::string(owner_ns) + ", obj's namespace " + std::string(object_ns)));
    }
  }
  return ref;
}

const json::array* OwnerRefs(const json::object& object) {
  const json::object* meta = GetObject(object, "metadata");
  return meta == nullptr ? nullptr : GetArray(*meta, "ownerReferences");
}

json::array& MutableArray(json::object& object, std::string_view key) {
  json::object& meta = EnsureObject(object, "metadata");
  json::value& v = meta[key];
  if (!v.is_array()) v = json::array();
  return v.get_array();
}

// Replaces the reference to the same owner in place, or appends.
void Upsert(json::object& object, json::object ref) {
  json::array& refs = MutableArray(object, "ownerReferences");
  for (json::value& v : refs) {
    if (v.is_object() && SameOwner(v.get_object(), ref)) {
      v = std::move(ref);
      return;
    }
  }
  refs.push_back(std::move(ref));
}

bool IsController(const json::object& ref) {
  const json::value* c = ref.if_contains("controller");
  return c != nullptr && c->is_bool() && c->get_bool();
}

}  // namespace

Status set_controller_reference(const json::object& owner, json::object& object) {
  auto ref = OwnerRefFor(owner, object);
  if (!ref) return ref.error();
  (*ref)["blockOwnerDeletion"] = true;
  (*ref)["controller"] = true;
  if (const json::object* existing = get_controller_of(object); existing != nullptr && !SameOwner(*existing, *ref)) {
    std::string where(MetaStr(object, "namespace"));
    if (!where.empty()) where += '/';
    where += MetaStr(object, "name");
    Status s =
        Status::Conflict("Object " + where + " is already owned by another " + std::string(Str(*existing, "kind")) +
                         " controller " + std::string(Str(*existing, "name")));
    s.add_cause(StatusCause{std::string(kAlreadyOwnedReason), s.message(), "metadata.ownerReferences"});
    return s;
  }
  Upsert(object, std::move(*ref));
  return Status::Ok();
}

Status set_owner_reference(const json::object& owner, json::object& object) {
  auto ref = OwnerRefFor(owner, object);
  if (!ref) return ref.error();
  Upsert(object, std::move(*ref));
  return Status::Ok();
}

bool remove_owner_reference(const json::object& owner, json::object& object) {
  json::object* meta = GetObject(object, "metadata");
  if (meta == nullptr) return false;
  json::value* refs = meta->if_contains("ownerReferences");
  if (refs == nullptr || !refs->is_array()) return false;
  json::object probe;
  probe["apiVersion"] = Str(owner, "apiVersion");
  probe["kind"] = Str(owner, "kind");
  probe["name"] = MetaStr(owner, "name");
  bool removed = false;
  json::array& arr = refs->get_array();
  for (auto it = arr.begin(); it != arr.end();) {
    if (it->is_object() && SameOwner(it->get_object(), probe)) {
      it = arr.erase(it);
      removed = true;
    } else {
      ++it;
    }
  }
  return removed;
}

const json::object* get_controller_of(const json::object& object) {
  const json::array* refs = OwnerRefs(object);
  if (refs == nullptr) return nullptr;
  for (const json::value& v : *refs) {
    if (v.is_object() && IsController(v.get_object())) return &v.get_object();
  }
  return nullptr;
}

bool is_owned_by(const json::object& object, std::string_view owner_uid) {
  const json::array* refs = OwnerRefs(object);
  if (refs == nullptr || owner_uid.empty()) return false;
  for (const json::value& v : *refs) {
    if (v.is_object() && Str(v.get_object(), "uid") == owner_uid) return true;
  }
  return false;
}

bool has_finalizer(const json::object& object, std::string_view finalizer) {
  const json::object* meta = GetObject(object, "metadata");
  const json::array* list = meta == nullptr ? nullptr : GetArray(*meta, "finalizers");
  if (list == nullptr) return false;
  for (const json::value& v : *list) {
    if (v.is_string() && v.get_string() == finalizer) return true;
  }
  return false;
}

bool add_finalizer(json::object& object, std::string_view finalizer) {
  if (has_finalizer(object, finalizer)) return false;
  MutableArray(object, "finalizers").push_back(json::string(finalizer));
  return true;
}

bool remove_finalizer(json::object& object, std::string_view finalizer) {
  json::object* meta = GetObject(object, "metadata");
  if (meta == nullptr) return false;
  json::value* list = meta->if_contains("finalizers");
  if (list == nullptr || !list->is_array()) return false;
  bool removed = false;
  json::array& arr = list->get_array();
  for (auto it = arr.begin(); it != arr.end();) {
    if (it->is_string() && it->get_string() == finalizer) {
      it = arr.erase(it);
      removed = true;
    } else {
      ++it;
    }
  }
  return removed;
}

bool deletion_requested(const json::object& object) {
  const json::object* meta = GetObject(object, "metadata");
  if (meta == nullptr) return false;
  const json::value* ts = meta->if_contains("deletionTimestamp");
  return ts != nullptr && !ts->is_null() && !(ts->is_string() && ts->get_string().empty());
}

std::vector<std::string> finalizers(const boost::json::object& object) {
  std::vector<std::string> out;
  const auto* meta = object.if_contains("metadata");
  const auto* f = meta && meta->is_object() ? meta->as_object().if_contains("finalizers") : nullptr;
  if (f && f->is_array())
    for (const auto& v : f->as_array())
      if (v.is_string()) out.emplace_back(v.get_string());
  return out;
}

}  // namespace setpoint::runtime
