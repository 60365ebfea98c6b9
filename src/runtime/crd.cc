#include "setpoint/types/crd.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "setpoint/api/condition_schema.h"
#include "setpoint/api/yaml.h"

namespace setpoint::types {

namespace json = boost::json;

FieldSchema& FieldSchema::description(std::string_view d) {
  node_["description"] = d;
  return *this;
}
FieldSchema& FieldSchema::minimum(std::int64_t v) {
  node_["minimum"] = v;
  return *this;
}
FieldSchema& FieldSchema::maximum(std::int64_t v) {
  node_["maximum"] = v;
  return *this;
}
FieldSchema& FieldSchema::min_length(std::int64_t v) {
  node_["minLength"] = v;
  return *this;
}
FieldSchema& FieldSchema::max_length(std::int64_t v) {
  node_["maxLength"] = v;
  return *this;
}
FieldSchema& FieldSchema::pattern(std::string_view p) {
  node_["pattern"] = p;
  return *this;
}
FieldSchema& FieldSchema::enum_values(std::initializer_list<std::string_view> values) {
  json::array a;
  for (auto v : values) a.emplace_back(v);
  node_["enum"] = std::move(a);
  return *this;
}
FieldSchema& FieldSchema::default_value(json::value v) {
  node_["default"] = std::move(v);
  return *this;
}
FieldSchema& FieldSchema::required() {
  if (std::find(required_.begin(), required_.end(), json::value(name_)) == required_.end())
    required_.emplace_back(name_);
  return *this;
}
FieldSchema& FieldSchema::list_type(std::string_view type, std::initializer_list<std::string_view> keys) {
  node_["x-kubernetes-list-type"] = type;
  if (keys.size()) {
    json::array a;
    for (auto k : keys) a.emplace_back(k);
    node_["x-kubernetes-list-map-keys"] = std::move(a);
  }
  return *this;
}

FieldSchema Schema::operator[](std::string_view name) {
  json::value* property = object_["properties"].as_object().if_contains(name);
  if (!property) throw std::logic_error("schema: no field \"" + std::string(name) + "\"");
  json::value& required = object_["required"];
  if (!required.is_array()) required = json::array();
  return FieldSchema(property->as_object(), required.as_array(), name);
}

Schema& Schema::description(std::string_view d) {
  object_["description"] = d;
  return *this;
}

json::object ConditionsSchema() {
  static const json::object schema = api::YamlToJson(api::ConditionsSchemaYaml())->as_object();
  return schema;
}

json::object MakeCrd(const Kind& kind, json::object schema, const CrdOptions& options) {
  json::object& properties = schema["properties"].as_object();
  properties["apiVersion"] = json::object{{"type", "string"}};
  properties["kind"] = json::object{{"type", "string"}};
  properties["metadata"] = json::object{{"type", "object"}};
  if (!options.description.empty()) schema["description"] = options.description;
  std::string singular = options.singular;
  if (singular.empty()) {
    singular = std::string(kind.kind);
    std::transform(singular.begin(), singular.end(), singular.begin(), [](unsigned char c) { return std::tolower(c); });
  }
  json::object names{{"plural", kind.plural},
                     {"singular", singular},
                     {"kind", kind.kind},
                     {"listKind", std::string(kind.kind) + "List"}};
  auto strings = [](const std::vector<std::string>& v) {
    json::array a;
    for (const auto& s : v) a.emplace_back(s);
    return a;
  };
  if (!options.short_names.empty()) names["shortNames"] = strings(options.short_names);
  if (!options.categories.empty()) names["categories"] = strings(options.categories);
  json::array columns;
  for (const auto& c : options.columns) {
    json::object col{{"name", c.name}, {"type", c.type}, {"jsonPath", c.json_path}};
    if (!c.description.empty()) col["description"] = c.description;
    if (c.priority) col["priority"] = c.priority;
    columns.push_back(std::move(col));
  }
  columns.push_back(json::object{{"name", "Age"}, {"type", "date"}, {"jsonPath", ".metadata.creationTimestamp"}});
  json::object version{{"name", kind.version},
                       {"served", true},
                       {"storage", true},
                       {"schema", {{"openAPIV3Schema", std::move(schema)}}},
                       {"additionalPrinterColumns", std::move(columns)}};
  if (options.status_subresource) version["subresources"] = json::object{{"status", json::object()}};
  return {{"apiVersion", "apiextensions.k8s.io/v1"},
          {"kind", "CustomResourceDefinition"},
          {"metadata", {{"name", std::string(kind.plural) + "." + std::string(kind.group)}}},
          {"spec",
           {{"group", kind.group},
            {"names", std::move(names)},
            {"scope", kind.namespaced ? "Namespaced" : "Cluster"},
            {"versions", json::array{std::move(version)}}}}};
}

}  // namespace setpoint::types
