// Schema validation with kube-openapi's checks and apiextensions' mapping of them onto field
// errors, so the StatusCauses read like the kube-apiserver's.
#include <cmath>
#include <map>
#include <set>

#include "api/json_util.h"
#include "api/schema_node.h"

namespace setpoint::api::internal {
namespace json = boost::json;

namespace {

constexpr double kMaxJsonInteger = 9007199254740992.0;  // 2^53, swag.IsFloat64AJSONInteger

using Causes = std::vector<StatusCause>;

void Add(Causes& causes, std::string reason, std::string message, const std::string& path) {
  causes.push_back({std::move(reason), std::move(message), path});
}

// kube-openapi messages read "<path> in body <detail>".
void Invalid(Causes& causes, const std::string& path, const std::string& bad, std::string_view detail) {
  Add(causes, "FieldValueInvalid", "Invalid value: " + bad + ": " + path + " in body " + std::string(detail), path);
}

void TypeInvalid(Causes& causes, const std::string& path, std::string_view expected, const std::string& actual) {
  std::string q = GoQuote(actual);
  Add(causes, "FieldValueTypeInvalid",
      "Invalid value: " + q + ": " + path + " in body must be of type " + std::string(expected) + ": " + q, path);
}

bool IsRoleField(ObjectRole role, std::string_view key) {
  return role == ObjectRole::kResource && (key == "apiVersion" || key == "kind" || key == "metadata");
}

// Returns false (after reporting) when v does not have the node's type.
bool CheckType(const SchemaNode& node, const json::value& v, const std::string& path, Causes& causes) {
  std::string_view actual = JsonTypeName(v);
  auto integral = [&] {
    // An integer must fit in int64 (Boost.JSON holds larger ones as uint64: not an integer here).
    if (v.is_int64()) return true;
    return v.is_double() && IsIntegral(v) && std::fabs(v.get_double()) <= kMaxJsonInteger;
  };
  if (node.int_or_string) {
    if (v.is_string() || integral()) return true;
    TypeInvalid(causes, path, "integer,string", std::string(actual));
    return false;
  }
  if (node.type.empty()) return true;
  bool ok = node.type == actual || (node.type == "integer" && integral()) ||
            (node.type == "number" && (actual == "integer" || actual == "number"));
  if (!ok) TypeInvalid(causes, path, node.type, std::string(actual));
  return ok;
}

std::string Items(std::int64_t n) { return n == 1 ? "item" : "items"; }

void CheckString(const SchemaNode& node, const json::string& s, const std::string& path, Causes& causes) {
  std::string bad = GoQuote(s);
  if (!node.format.empty() && !CheckStringFormat(node.format, s)) {
    Add(causes, "FieldValueTypeInvalid",
        "Invalid value: " + bad + ": " + path + " in body must be of type " + node.format + ": " + bad, path);
  }
  if (node.max_length || node.min_length) {
    auto n = static_cast<std::int64_t>(CountCodePoints(s));
    if (node.max_length && n > *node.max_length) {
      Add(causes, "FieldValueTooLong",
          "Too long: may not be more than " + std::to_string(*node.max_length) +
              (*node.max_length == 1 ? " byte" : " bytes"),
          path);
    }
    if (node.min_length && n < *node.min_length) {
      Invalid(causes, path, bad, "should be at least " + std::to_string(*node.min_length) + " chars long");
    }
  }
  if (node.pattern && !std::regex_match(s.begin(), s.end(), *node.pattern)) {
    Invalid(causes, path, bad, "should match '" + node.pattern_source + "'");
  }
}

bool IsMultiple(const json::value& v, double factor) {
  if ((v.is_int64() || v.is_uint64()) && factor == std::floor(factor) && factor < 9e18) {
    auto f = static_cast<std::uint64_t>(factor);
    std::uint64_t a = v.is_uint64() ? v.get_uint64()
                                    : (v.get_int64() < 0 ? 0 - static_cast<std::uint64_t>(v.get_int64())
                                                         : static_cast<std::uint64_t>(v.get_int64()));
    return a % f == 0;
  }
  double q = AsDouble(v) / factor;
  return std::isfinite(q) && q == std::trunc(q);
}

void CheckNumber(const SchemaNode& node, const json::value& v, const std::string& path, Causes& causes) {
  double d = AsDouble(v);
  std::string bad = GoValue(v);
  if (node.multiple_of && !IsMultiple(v, *node.multiple_of)) {
    Invalid(causes, path, bad, "should be a multiple of " + GoFloat(*node.multiple_of));
  }
  if (node.maximum) {
    bool fail = node.exclusive_maximum ? d >= *node.maximum : d > *node.maximum;
    if (fail) {
      Invalid(causes, path, bad,
              std::string(node.exclusive_maximum ? "should be less than " : "should be less than or equal to ") +
                  GoFloat(*node.maximum));
    }
  }
  if (node.minimum) {
    bool fail = node.exclusive_minimum ? d <= *node.minimum : d < *node.minimum;
    if (fail) {
      Invalid(causes, path, bad,
              std::string(node.exclusive_minimum ? "should be greater than " : "should be greater than or equal to ") +
                  GoFloat(*node.minimum));
    }
  }
}

void CheckArray(const SchemaNode& node, const json::array& a, const std::string& path, Causes& causes) {
  auto n = static_cast<std::int64_t>(a.size());
  if (node.max_items && n > *node.max_items) {
    Add(causes, "FieldValueTooMany",
        "Too many: " + std::to_string(n) + ": must have at most " + std::to_string(*node.max_items) + " " +
            Items(*node.max_items),
        path);
  }
  if (node.min_items && n < *node.min_items) {
    Invalid(causes, path, std::to_string(n), "should have at least " + std::to_string(*node.min_items) + " items");
  }
  if (node.unique_items) {
    std::set<std::string> seen;
    for (const auto& e : a) {
      if (!seen.insert(CanonicalKey(e)).second) {
        Invalid(causes, path, "\"\"", "shouldn't contain duplicates");
        break;
      }
    }
  }
  if (node.list_type == "set" || node.list_type == "map") {
    std::set<std::string> seen;
    for (std::size_t i = 0; i < a.size(); ++i) {
      json::value identity = a[i];
      if (node.list_type == "map") {
        json::object keys;
        const auto* o = a[i].if_object();
        for (const auto& k : node.list_map_keys) {
          const auto* kv = o != nullptr ? o->if_contains(k) : nullptr;
          if (kv != nullptr) keys[k] = *kv;
        }
        identity = std::move(keys);
      }
      if (!seen.insert(CanonicalKey(identity)).second) {
        Add(causes, "FieldValueDuplicate", "Duplicate value: " + GoValue(identity), DataIndex(path, i));
      }
    }
  }
  if (node.items) {
    for (std::size_t i = 0; i < a.size(); ++i)
      ValidateNode(*node.items, a[i], DataIndex(path, i), ObjectRole::kPlain, causes);
  }
}

void CheckObject(const SchemaNode& node, const json::object& o, const std::string& path, ObjectRole role,
                 Causes& causes) {
  for (const auto& r : node.required) {
    if (!o.contains(r)) Add(causes, "FieldValueRequired", "Required value", DataChild(path, r));
  }
  auto n = static_cast<std::int64_t>(o.size());
  if (node.max_properties && n > *node.max_properties) {
    Add(causes, "FieldValueTooMany",
        "Too many: " + std::to_string(n) + ": must have at most " + std::to_string(*node.max_properties) + " " +
            Items(*node.max_properties),
        path);
  }
  if (node.min_properties && n < *node.min_properties) {
    Invalid(causes, path, std::to_string(n),
            "should have at least " + std::to_string(*node.min_properties) + " properties");
  }
  for (const auto& kv : o) {
    std::string child = DataChild(path, kv.key());
    auto prop = node.properties.find(kv.key());
    if (prop != node.properties.end()) {
      if (role == ObjectRole::kResource && kv.key() == "metadata" && !kv.value().is_object()) {
        TypeInvalid(causes, child, "object", std::string(JsonTypeName(kv.value())));
        continue;
      }
      ValidateNode(*prop->second, kv.value(), child, ObjectRole::kPlain, causes);
      continue;
    }
    if (IsRoleField(role, kv.key())) {
      if (kv.key() == "metadata" && !kv.value().is_object()) {
        TypeInvalid(causes, child, "object", std::string(JsonTypeName(kv.value())));
      }
      continue;
    }
    if (node.additional == SchemaNode::Additional::kSchema) {
      ValidateNode(*node.additional_properties, kv.value(), child, ObjectRole::kPlain, causes);
    } else if (node.additional == SchemaNode::Additional::kNone && !node.preserve_unknown) {
      Add(causes, "FieldValueInvalid",
          "Invalid value: " + GoQuote(kv.key()) + ": " + child + " in body is a forbidden property", path);
    }
  }
}

void CheckEnum(const SchemaNode& node, const json::value& v, const std::string& path, Causes& causes) {
  for (const auto& allowed : *node.enum_values) {
    if (JsonEqual(allowed, v)) return;
  }
  std::vector<std::string> quoted;
  for (const auto& allowed : *node.enum_values) {
    quoted.push_back(GoQuote(allowed.is_string() ? std::string(allowed.get_string()) : GoJson(allowed)));
  }
  Add(causes, "FieldValueNotSupported",
      "Unsupported value: " + GoValue(v) + ": supported values: " + Join(quoted, ", "), path);
}

void CheckJunctors(const SchemaNode& node, const json::value& v, const std::string& path, ObjectRole role,
                   Causes& causes) {
  for (const auto& sub : node.all_of) ValidateNode(*sub, v, path, role, causes);
  auto best_failure = [&](const std::vector<std::unique_ptr<SchemaNode>>& subs, int& passed) {
    Causes best;
    bool have = false;
    passed = 0;
    for (const auto& sub : subs) {
      Causes c;
      ValidateNode(*sub, v, path, role, c);
      if (c.empty()) {
        ++passed;
      } else if (!have || c.size() < best.size()) {
        best = std::move(c);
        have = true;
      }
    }
    return best;
  };
  if (!node.any_of.empty()) {
    int passed = 0;
    Causes best = best_failure(node.any_of, passed);
    if (passed == 0) {
      Invalid(causes, path, "\"\"", "must validate at least one schema (anyOf)");
      causes.insert(causes.end(), best.begin(), best.end());
    }
  }
  if (!node.one_of.empty()) {
    int passed = 0;
    Causes best = best_failure(node.one_of, passed);
    if (passed == 0) {
      Invalid(causes, path, "\"\"", "must validate one and only one schema (oneOf). Found none valid");
      causes.insert(causes.end(), best.begin(), best.end());
    } else if (passed > 1) {
      Invalid(causes, path, "\"\"",
              "must validate one and only one schema (oneOf). Found " + std::to_string(passed) + " valid alternatives");
    }
  }
  if (node.not_) {
    Causes c;
    ValidateNode(*node.not_, v, path, role, c);
    if (c.empty()) Invalid(causes, path, "\"\"", "must not validate the schema (not)");
  }
}

}  // namespace

std::string DataChild(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string DataIndex(const std::string& path, std::size_t i) { return path + "[" + std::to_string(i) + "]"; }

void ValidateNode(const SchemaNode& node, const json::value& v, const std::string& path, ObjectRole role,
                  Causes& causes) {
  if (node.embedded_resource) role = ObjectRole::kResource;
  if (v.is_null()) {
    if (!node.nullable && (node.int_or_string || !node.type.empty())) {
      TypeInvalid(causes, path, node.int_or_string ? "integer,string" : node.type, "null");
    }
    return;
  }
  if (!CheckType(node, v, path, causes)) return;
  if (node.enum_values) CheckEnum(node, v, path, causes);
  if (const auto* s = v.if_string()) {
    CheckString(node, *s, path, causes);
  } else if (v.is_number()) {
    CheckNumber(node, v, path, causes);
  } else if (const auto* a = v.if_array()) {
    CheckArray(node, *a, path, causes);
  } else if (const auto* o = v.if_object()) {
    CheckObject(node, *o, path, role, causes);
  }
  CheckJunctors(node, v, path, role, causes);
}

}  // namespace setpoint::api::internal
