#include "setpoint/client/object_meta.h"

#include <boost/json.hpp>

#include "setpoint/common/json.h"

namespace setpoint::client {

namespace json = boost::json;

namespace {

void PutString(json::object& o, std::string_view key, const std::string& v) {
  if (!v.empty()) o[key] = v;
}

std::string Str(const json::object& o, std::string_view key) { return std::string(GetStringOr(o, key, "")); }

bool Bool(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_bool() && v->as_bool();
}

std::map<std::string, std::string> StringMap(const json::object& o, std::string_view key) {
  std::map<std::string, std::string> out;
  if (const json::object* m = GetObject(o, key))
    for (const auto& [k, v] : *m)
      if (v.is_string()) out.emplace(std::string(k), std::string(v.as_string()));
  return out;
}

json::object MapToJson(const std::map<std::string, std::string>& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

}  // namespace

void tag_invoke(json::value_from_tag, json::value& v, const OwnerReference& r) {
  json::object o{{"apiVersion", r.api_version}, {"kind", r.kind}, {"name", r.name}, {"uid", r.uid}};
  if (r.controller) o["controller"] = true;
  if (r.block_owner_deletion) o["blockOwnerDeletion"] = true;
  v = std::move(o);
}

OwnerReference tag_invoke(json::value_to_tag<OwnerReference>, const json::value& v) {
  OwnerReference r;
  if (!v.is_object()) return r;
  const auto& o = v.as_object();
  r.api_version = Str(o, "apiVersion");
  r.kind = Str(o, "kind");
  r.name = Str(o, "name");
  r.uid = Str(o, "uid");
  r.controller = Bool(o, "controller");
  r.block_owner_deletion = Bool(o, "blockOwnerDeletion");
  return r;
}

void tag_invoke(json::value_from_tag, json::value& v, const ObjectMeta& m) {
  json::object o;
  PutString(o, "name", m.name);
  PutString(o, "generateName", m.generate_name);
  PutString(o, "namespace", m.namespace_);
  PutString(o, "uid", m.uid);
  PutString(o, "resourceVersion", m.resource_version);
  if (m.generation != 0) o["generation"] = m.generation;
  if (!m.labels.empty()) o["labels"] = MapToJson(m.labels);
  if (!m.annotations.empty()) o["annotations"] = MapToJson(m.annotations);
  if (!m.finalizers.empty()) o["finalizers"] = json::value_from(m.finalizers);
  if (!m.owner_references.empty()) o["ownerReferences"] = json::value_from(m.owner_references);
  PutString(o, "creationTimestamp", m.creation_timestamp);
  PutString(o, "deletionTimestamp", m.deletion_timestamp);
  v = std::move(o);
}

ObjectMeta tag_invoke(json::value_to_tag<ObjectMeta>, const json::value& v) {
  ObjectMeta m;
  if (!v.is_object()) return m;
  const auto& o = v.as_object();
  m.name = Str(o, "name");
  m.generate_name = Str(o, "generateName");
  m.namespace_ = Str(o, "namespace");
  m.uid = Str(o, "uid");
  m.resource_version = Str(o, "resourceVersion");
  m.generation = GetInt(o, "generation").value_or(0);
  m.labels = StringMap(o, "labels");
  m.annotations = StringMap(o, "annotations");
  if (const json::array* a = GetArray(o, "finalizers"))
    for (const auto& f : *a)
      if (f.is_string()) m.finalizers.emplace_back(f.as_string());
  if (const json::array* a = GetArray(o, "ownerReferences"))
    for (const auto& r : *a) m.owner_references.push_back(json::value_to<OwnerReference>(r));
  m.creation_timestamp = Str(o, "creationTimestamp");
  m.deletion_timestamp = Str(o, "deletionTimestamp");
  return m;
}

}  // namespace setpoint::client
