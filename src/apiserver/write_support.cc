#include "apiserver/write_support.h"

#include <algorithm>
#include <cctype>

#include <boost/json.hpp>

#include "apiserver/request_info.h"
#include "setpoint/api/finalizers.h"
#include "setpoint/common/json.h"

namespace setpoint::apiserver {

namespace json = boost::json;

Result<store::Revision> WriteRevision(const std::string& rv) {
  auto v = ParseResourceVersion(rv);
  if (!v || *v == 0) return Err(Status::BadRequest("invalid resourceVersion: \"" + rv + "\""));
  return *v >= static_cast<std::uint64_t>(kUnreachableRevision) ? kUnreachableRevision
                                                                : static_cast<store::Revision>(*v);
}

bool WorthWaitingFor(store::Revision want, store::Revision current) {
  return want > current && want != kUnreachableRevision;
}

void CopySystemMetadata(const json::object& from, json::object& to) {
  for (const char* k : {"uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"}) {
    auto it = from.find(k);
    if (it != from.end())
      to[k] = it->value();
    else
      to.erase(k);
  }
}

json::object WithoutMetaAndStatus(const json::object& o) {
  json::object c = o;
  c.erase("metadata");
  c.erase("status");
  return c;
}

bool SameIgnoringVersion(const json::object& a, const json::object& b) {
  json::object x = a, y = b;
  if (auto* m = GetObject(x, "metadata")) {
    m->erase("resourceVersion");
    m->erase("managedFields");
  }
  if (auto* m = GetObject(y, "metadata")) {
    m->erase("resourceVersion");
    m->erase("managedFields");
  }
  return x == y;
}

std::vector<std::string> Finalizers(const json::object& obj) {
  std::vector<std::string> out;
  if (const json::object* meta = GetObject(obj, "metadata"))
    if (const json::array* f = GetArray(*meta, "finalizers"))
      for (const auto& v : *f)
        if (v.is_string()) out.emplace_back(v.get_string());
  return out;
}

bool HasSpecFinalizers(const json::object& obj) {
  const json::object* spec = GetObject(obj, "spec");
  const json::array* f = spec ? GetArray(*spec, "finalizers") : nullptr;
  return f && !f->empty();
}

void SetFinalizers(json::object& meta, const std::vector<std::string>& finalizers) {
  if (finalizers.empty()) {
    meta.erase("finalizers");
    return;
  }
  json::array a;
  for (const auto& f : finalizers) a.emplace_back(f);
  meta["finalizers"] = std::move(a);
}

std::string PropagationPolicy(const json::object& options) {
  if (auto p = GetString(options, "propagationPolicy"); p && !p->empty()) return std::string(*p);
  // The deprecated boolean, still sent by old clients.
  if (const auto* o = options.if_contains("orphanDependents"); o && o->is_bool())
    return o->get_bool() ? "Orphan" : "Background";
  return "";
}

bool ApplyPropagationPolicy(const std::string& policy, std::vector<std::string>& finalizers) {
  if (policy.empty()) return false;
  const std::vector<std::string> before = finalizers;
  auto drop = [&](std::string_view f) { std::erase(finalizers, std::string(f)); };
  auto add = [&](std::string_view f) {
    if (std::find(finalizers.begin(), finalizers.end(), f) == finalizers.end()) finalizers.emplace_back(f);
  };
  if (policy == "Orphan") {
    drop(api::kForegroundFinalizer);
    add(api::kOrphanFinalizer);
  } else if (policy == "Foreground") {
    drop(api::kOrphanFinalizer);
    add(api::kForegroundFinalizer);
  } else {
    drop(api::kOrphanFinalizer);
    drop(api::kForegroundFinalizer);
  }
  return finalizers != before;
}

bool IsDeleting(const json::object& obj) {
  const json::object* meta = GetObject(obj, "metadata");
  return meta && meta->contains("deletionTimestamp") && !meta->at("deletionTimestamp").is_null();
}

Result<json::object> ParseCached(const store::CachedObject& o) {
  auto v = ParseJson(o.json);
  if (!v || !v->is_object()) return Err(Status::Internal("stored object " + std::string(o.key) + " is corrupt"));
  return std::move(v->get_object());
}

Status NotFound(const ResourceInfo& r, std::string_view name) {
  return Status::NotFound(r.qualified() + " \"" + std::string(name) + "\" not found");
}

Status ConflictStatus(const ResourceInfo& r, std::string_view name) {
  return Status::Conflict(
      "Operation cannot be fulfilled on " + r.qualified() + " \"" + std::string(name) +
      "\": the object has been modified; please apply your changes to the latest version and try again");
}

void SetPath(json::object& obj, std::string_view path, json::value v) {
  json::object* cur = &obj;
  std::size_t i = path.starts_with(".") ? 1 : 0;
  while (true) {
    std::size_t dot = path.find('.', i);
    std::string_view part = path.substr(i, dot == std::string_view::npos ? std::string_view::npos : dot - i);
    if (dot == std::string_view::npos) {
      (*cur)[part] = std::move(v);
      return;
    }
    cur = &EnsureObject(*cur, part);
    i = dot + 1;
  }
}

}  // namespace setpoint::apiserver
