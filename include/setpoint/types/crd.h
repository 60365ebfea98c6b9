// CustomResourceDefinitions generated from typed resources, as controller-gen generates them from
// Go types and markers: an OpenAPI v3 structural schema from the described members, bounds and
// documentation from the type's `schema` hook, printer columns and subresources from CrdOptions.
//
//   struct MemcachedSpec {
//     std::int32_t size = 1;
//     static void schema(setpoint::types::Schema& s) {
//       s["size"].minimum(1).maximum(5).required().description("How many memcached servers to run.");
//     }
//   };
//   struct Memcached : setpoint::types::Object {
//     ...
//     static setpoint::types::CrdOptions crd() { return {.columns = {{"Size", "integer", ".spec.size"}}}; }
//   };
//   boost::json::object crd = setpoint::types::Crd<Memcached>();
//
// Member types map as controller-gen maps Go's: integers to `integer` (format int32/int64), bool,
// double (`number`), strings, std::optional<T> as T (not required), lists (`array`), string maps
// (`additionalProperties`), IntOrString (x-kubernetes-int-or-string), Quantity (int-or-string),
// Duration (string), boost::json values (x-kubernetes-preserve-unknown-fields), described structs
// (`object`), and a std::vector<Condition> as metav1.Condition's list keyed by type.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "setpoint/types/meta.h"

namespace setpoint::types {

// One property's schema, for a type's schema hook to refine.
class FieldSchema {
 public:
  FieldSchema(boost::json::object& node, boost::json::array& required, std::string_view name)
      : node_(node), required_(required), name_(name) {}
  FieldSchema& description(std::string_view d);
  FieldSchema& minimum(std::int64_t v);
  FieldSchema& maximum(std::int64_t v);
  FieldSchema& min_length(std::int64_t v);
  FieldSchema& max_length(std::int64_t v);
  FieldSchema& pattern(std::string_view p);
  FieldSchema& enum_values(std::initializer_list<std::string_view> values);
  FieldSchema& default_value(boost::json::value v);
  FieldSchema& required();
  // The list is a set / a map keyed by `keys` (x-kubernetes-list-type), or atomic.
  FieldSchema& list_type(std::string_view type, std::initializer_list<std::string_view> keys = {});
  boost::json::object& node() { return node_; }

 private:
  boost::json::object& node_;
  boost::json::array& required_;
  std::string name_;
};

// The properties of one object schema, by JSON field name.
class Schema {
 public:
  explicit Schema(boost::json::object& object) : object_(object) {}
  // The property `name`; an unknown name is a programming error (std::logic_error).
  FieldSchema operator[](std::string_view name);
  Schema& description(std::string_view d);

 private:
  boost::json::object& object_;
};

// metav1.Condition's list schema (api/condition_schema.h).
boost::json::object ConditionsSchema();

namespace crd_detail {
template <class T>
struct IsConditionList : std::false_type {};
template <>
struct IsConditionList<std::vector<Condition>> : std::true_type {};
}  // namespace crd_detail

template <class T>
boost::json::object SchemaOf() {
  namespace json = boost::json;
  using namespace codec_detail;
  if constexpr (std::is_same_v<T, bool>) {
    return {{"type", "boolean"}};
  } else if constexpr (std::is_integral_v<T>) {
    return {{"type", "integer"}, {"format", sizeof(T) <= 4 ? "int32" : "int64"}};
  } else if constexpr (std::is_floating_point_v<T>) {
    return {{"type", "number"}};
  } else if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, Duration>) {
    return {{"type", "string"}};
  } else if constexpr (std::is_same_v<T, IntOrString> || std::is_same_v<T, Quantity>) {
    return {{"x-kubernetes-int-or-string", true}};
  } else if constexpr (std::is_same_v<T, json::value>) {
    return {{"x-kubernetes-preserve-unknown-fields", true}};
  } else if constexpr (std::is_same_v<T, json::object>) {
    return {{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}};
  } else if constexpr (std::is_same_v<T, ObjectMeta>) {
    return {{"type", "object"}};
  } else if constexpr (IsOptional<T>::value || IsOmitZero<T>::value) {
    return SchemaOf<typename T::value_type>();
  } else if constexpr (crd_detail::IsConditionList<T>::value) {
    return ConditionsSchema();
  } else if constexpr (IsVector<T>::value) {
    return {{"type", "array"}, {"items", SchemaOf<typename T::value_type>()}};
  } else if constexpr (IsStringMap<T>::value) {
    return {{"type", "object"}, {"additionalProperties", SchemaOf<typename T::mapped_type>()}};
  } else if constexpr (Described<T>) {
    json::object out{{"type", "object"}};
    json::object properties;
    boost::mp11::mp_for_each<Members<T>>([&](auto d) {
      properties[WireName(d.name)] = SchemaOf<std::remove_cvref_t<decltype(std::declval<T>().*d.pointer)>>();
    });
    out["properties"] = std::move(properties);
    if constexpr (requires(Schema & s) { T::schema(s); }) {
      Schema s(out);
      T::schema(s);
    }
    if (auto* r = out.if_contains("required"); r && r->as_array().empty()) out.erase("required");
    return out;
  } else {
    static_assert(sizeof(T) == 0, "no schema for this member type");
  }
}

struct PrinterColumn {
  std::string name, type, json_path;  // type: integer | number | string | boolean | date
  std::string description;
  std::int32_t priority = 0;
};

struct CrdOptions {
  std::string singular;  // default: the kind in lower case
  std::vector<std::string> short_names, categories;
  std::vector<PrinterColumn> columns;  // an Age column is added last
  bool status_subresource = true;
  std::string description;
};

// The CustomResourceDefinition of T: one served storage version, T's schema.
boost::json::object MakeCrd(const Kind& kind, boost::json::object schema, const CrdOptions& options);
// T's CRD, with `options`, or by default what T's `static CrdOptions crd()` says (if it has one).
template <Resource T>
boost::json::object Crd(const CrdOptions& options) {
  return MakeCrd(T::kKind, SchemaOf<T>(), options);
}
template <Resource T>
boost::json::object Crd() {
  if constexpr (requires { T::crd(); })
    return Crd<T>(T::crd());
  else
    return Crd<T>(CrdOptions{});
}

}  // namespace setpoint::types
