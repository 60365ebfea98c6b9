// Pruning of unknown fields and structural defaulting, as apiextensions' pruning and
// structuraldefaulting packages behave.
#include "api/schema_node.h"

namespace setpoint::api::internal {
namespace json = boost::json;

namespace {

bool IsRoleField(ObjectRole role, std::string_view key) {
  return role == ObjectRole::kResource && (key == "apiVersion" || key == "kind" || key == "metadata");
}

const SchemaNode* FieldSchema(const SchemaNode& node, std::string_view key) {
  auto it = node.properties.find(key);
  if (it != node.properties.end()) return it->second.get();
  if (node.additional == SchemaNode::Additional::kSchema) return node.additional_properties.get();
  return nullptr;
}

}  // namespace

void PruneNode(const SchemaNode& node, json::value& v, const std::string& path, ObjectRole role,
               std::vector<std::string>* unknown) {
  if (node.embedded_resource) role = ObjectRole::kResource;
  if (auto* o = v.if_object()) {
    std::vector<std::string> drop;
    for (auto& kv : *o) {
      // Root (and embedded) metadata is ObjectMeta's business, never the schema's.
      if (IsRoleField(role, kv.key())) continue;
      if (const SchemaNode* child = FieldSchema(node, kv.key())) {
        PruneNode(*child, kv.value(), DataChild(path, kv.key()), ObjectRole::kPlain, unknown);
      } else if (!node.preserve_unknown && node.additional != SchemaNode::Additional::kAny) {
        drop.emplace_back(kv.key());
      }
    }
    for (const auto& k : drop) {
      if (unknown != nullptr) unknown->push_back(DataChild(path, k));
      o->erase(k);
    }
  } else if (auto* a = v.if_array()) {
    if (!node.items) return;
    for (std::size_t i = 0; i < a->size(); ++i) {
      PruneNode(*node.items, (*a)[i], DataIndex(path, i), ObjectRole::kPlain, unknown);
    }
  }
}

void DefaultNode(const SchemaNode& node, json::value& v, ObjectRole role) {
  if (node.embedded_resource) role = ObjectRole::kResource;
  if (auto* o = v.if_object()) {
    std::vector<std::string> drop;
    // Fill absent properties, and nulls the schema does not allow.
    for (const auto& [name, prop] : node.properties) {
      if (IsRoleField(role, name)) continue;
      auto* cur = o->if_contains(name);
      bool unwanted_null = cur != nullptr && cur->is_null() && !prop->nullable;
      if (prop->default_value && (cur == nullptr || unwanted_null)) {
        (*o)[name] = *prop->default_value;
      } else if (unwanted_null) {
        drop.push_back(name);
      }
    }
    if (node.additional == SchemaNode::Additional::kSchema) {
      const SchemaNode& ap = *node.additional_properties;
      for (auto& kv : *o) {
        if (node.properties.contains(kv.key()) || IsRoleField(role, kv.key())) continue;
        if (!kv.value().is_null() || ap.nullable) continue;
        if (ap.default_value) {
          kv.value() = *ap.default_value;
        } else {
          drop.emplace_back(kv.key());
        }
      }
    }
    for (const auto& k : drop) o->erase(k);
    for (auto& kv : *o) {
      if (IsRoleField(role, kv.key())) continue;
      if (const SchemaNode* child = FieldSchema(node, kv.key())) DefaultNode(*child, kv.value(), ObjectRole::kPlain);
    }
  } else if (auto* a = v.if_array()) {
    if (!node.items) return;
    for (auto& item : *a) {
      if (item.is_null() && !node.items->nullable && node.items->default_value) item = *node.items->default_value;
      DefaultNode(*node.items, item, ObjectRole::kPlain);
    }
  }
}

}  // namespace setpoint::api::internal
