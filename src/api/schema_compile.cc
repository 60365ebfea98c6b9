// Schema::Compile: structural-schema checks and the translation into SchemaNode trees.
#include <algorithm>

#include "api/json_util.h"
#include "api/schema_node.h"
#include "setpoint/api/schema.h"

namespace setpoint::api {
namespace json = boost::json;
using internal::SchemaNode;

namespace {

constexpr int kMaxSchemaDepth = 200;
constexpr std::size_t kMaxPatternLength = 4096;
constexpr int kMaxPatternNesting = 50;
constexpr double kMaxPatternCost = 5000;

enum class Where { kRoot, kProperty, kItems, kAdditional, kJunctor };

}  // namespace

namespace internal {

// A rough upper bound of the NFA size std::regex builds for `p`: atoms count 1, groups sum
// their contents, {n,m} multiplies the preceding atom by max(n,m). Matching costs
// O(input length x states), so this caps the CPU one string check can take. Returns a negative
// value when the nesting is too deep to compile safely.
double PatternCost(std::string_view p) {
  std::vector<double> group_sum{0};
  double last = 0;  // cost of the previous atom, for quantifiers
  for (std::size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '\\') {
      ++i;
      last = 1;
      group_sum.back() += last;
    } else if (c == '[') {
      ++i;
      if (i < p.size() && p[i] == '^') ++i;
      if (i < p.size() && p[i] == ']') ++i;
      while (i < p.size() && p[i] != ']') i += p[i] == '\\' ? 2 : 1;
      last = 1;
      group_sum.back() += last;
    } else if (c == '(') {
      if (static_cast<int>(group_sum.size()) > kMaxPatternNesting) return -1;
      group_sum.push_back(0);
    } else if (c == ')') {
      if (group_sum.size() > 1) {
        last = group_sum.back() + 1;
        group_sum.pop_back();
        group_sum.back() += last;
      }
    } else if (c == '{') {
      std::size_t close = p.find('}', i);
      if (close == std::string_view::npos) continue;
      double n = 0;
      double m = 0;
      bool second = false;
      for (std::size_t k = i + 1; k < close; ++k) {
        if (p[k] == ',') {
          second = true;
        } else if (p[k] >= '0' && p[k] <= '9') {
          double& x = second ? m : n;
          x = std::min(x * 10 + (p[k] - '0'), 1e9);
        }
      }
      double factor = std::max({n, m, 1.0}) + (second && m == 0 ? 1 : 0);
      group_sum.back() += last * (factor - 1);
      last *= factor;
      i = close;
    } else if (c == '*' || c == '+' || c == '?') {
      group_sum.back() += 1;
    } else {
      last = 1;
      group_sum.back() += last;
    }
  }
  double total = 0;
  for (double g : group_sum) total += g;
  return total;
}

}  // namespace internal

namespace {

class Compiler {
 public:
  explicit Compiler(std::string field_path) : base_(std::move(field_path)) {}

  std::unique_ptr<SchemaNode> Node(const json::value& v, const std::string& sp, Where where,
                                   const std::string& data_path, bool int_or_string_types, int depth) {
    auto node = std::make_unique<SchemaNode>();
    if (depth > kMaxSchemaDepth) {
      Invalid(sp, v, "schema is nested too deeply");
      return node;
    }
    const auto* obj = v.if_object();
    if (obj == nullptr) {
      Invalid(sp, v, "must be an object");
      return node;
    }
    const bool junctor = where == Where::kJunctor;
    for (std::string_view k : {"$ref", "patternProperties", "dependencies", "additionalItems", "definitions"}) {
      if (obj->contains(k)) Forbidden(sp + "." + std::string(k), std::string(k) + " is not supported");
    }
    node->int_or_string = Bool(*obj, "x-kubernetes-int-or-string", sp);
    node->preserve_unknown = Bool(*obj, "x-kubernetes-preserve-unknown-fields", sp);
    node->embedded_resource = Bool(*obj, "x-kubernetes-embedded-resource", sp);
    node->nullable = Bool(*obj, "nullable", sp);
    if (const auto* p = obj->if_contains("x-kubernetes-preserve-unknown-fields"); p && p->is_bool() && !p->get_bool()) {
      Invalid(sp + ".x-kubernetes-preserve-unknown-fields", *p, "must be true or undefined");
    }
    if (junctor) {
      for (std::string_view k : {"x-kubernetes-int-or-string", "x-kubernetes-preserve-unknown-fields",
                                 "x-kubernetes-embedded-resource", "nullable"}) {
        if (const auto* b = obj->if_contains(k); b && b->is_bool() && b->get_bool()) {
          Forbidden(sp + "." + std::string(k), "must be false to be structural");
        }
      }
      for (std::string_view k : {"default", "additionalProperties"}) {
        if (obj->contains(k)) Forbidden(sp + "." + std::string(k), "must be undefined to be structural");
      }
    }
    Type(*obj, *node, sp, where, int_or_string_types);
    Structure(*obj, *node, sp, where, data_path, depth);
    Values(*obj, *node, sp);
    Junctors(*obj, *node, sp, data_path, int_or_string_types || node->int_or_string, depth);
    if (!junctor) Default(*obj, *node, sp, where, data_path);
    return node;
  }

  std::vector<StatusCause>& causes() { return causes_; }

 private:
  std::string Field(const std::string& sp) const { return sp.empty() ? base_ : base_ + sp; }

  void Invalid(const std::string& sp, const json::value& bad, std::string_view detail) {
    causes_.push_back(
        {"FieldValueInvalid", "Invalid value: " + internal::GoValue(bad) + ": " + std::string(detail), Field(sp)});
  }
  void Forbidden(const std::string& sp, std::string_view detail) {
    causes_.push_back({"FieldValueForbidden", "Forbidden: " + std::string(detail), Field(sp)});
  }
  void Required(const std::string& sp, std::string_view detail) {
    causes_.push_back({"FieldValueRequired", "Required value: " + std::string(detail), Field(sp)});
  }

  bool Bool(const json::object& obj, std::string_view key, const std::string& sp) {
    const auto* v = obj.if_contains(key);
    if (v == nullptr || v->is_null()) return false;
    if (!v->is_bool()) {
      Invalid(sp + "." + std::string(key), *v, "must be a boolean");
      return false;
    }
    return v->get_bool();
  }

  void Type(const json::object& obj, SchemaNode& node, const std::string& sp, Where where, bool int_or_string_types) {
    const auto* t = obj.if_contains("type");
    if (t != nullptr && !t->is_string()) {
      Invalid(sp + ".type", *t, "must be a string");
      return;
    }
    node.type = t != nullptr ? std::string(t->get_string()) : "";
    if (where == Where::kJunctor) {
      if (!node.type.empty() && !(int_or_string_types && (node.type == "integer" || node.type == "string"))) {
        Forbidden(sp + ".type", "must be empty to be structural");
      }
      return;
    }
    static const std::vector<std::string> kTypes = {"array", "boolean", "integer", "number", "object", "string"};
    if (node.type.empty()) {
      if (where != Where::kRoot && (node.int_or_string || node.preserve_unknown)) return;
      std::string_view why = where == Where::kRoot         ? "must not be empty at the root"
                             : where == Where::kItems      ? "must not be empty for specified array items"
                             : where == Where::kAdditional ? "must not be empty for specified additionalProperties"
                                                           : "must not be empty for specified object fields";
      Required(sp + ".type", why);
      return;
    }
    if (std::find(kTypes.begin(), kTypes.end(), node.type) == kTypes.end()) {
      std::vector<std::string> quoted;
      for (const auto& k : kTypes) quoted.push_back(internal::GoQuote(k));
      causes_.push_back(
          {"FieldValueNotSupported",
           "Unsupported value: " + internal::GoQuote(node.type) + ": supported values: " + internal::Join(quoted, ", "),
           Field(sp + ".type")});
    } else if (where == Where::kRoot && node.type != "object") {
      Invalid(sp + ".type", json::string(node.type), "must be object at the root");
    }
    if (node.embedded_resource && node.type != "object") {
      Invalid(sp + ".type", json::string(node.type), "must be object if x-kubernetes-embedded-resource is true");
    }
  }

  void Structure(const json::object& obj, SchemaNode& node, const std::string& sp, Where where,
                 const std::string& data_path, int depth) {
    const auto* props = obj.if_contains("properties");
    if (props != nullptr && !props->is_object()) Invalid(sp + ".properties", *props, "must be an object");
    if (props != nullptr && props->is_object()) {
      for (const auto& kv : props->get_object()) {
        std::string key(kv.key());
        std::string child_sp = sp + ".properties[" + key + "]";
        if (where == Where::kRoot && key == "metadata") CheckRootMetadata(kv.value(), child_sp);
        Where child_where = where == Where::kJunctor ? Where::kJunctor : Where::kProperty;
        node.properties[key] =
            Node(kv.value(), child_sp, child_where, internal::DataChild(data_path, key), false, depth + 1);
      }
    }
    if (const auto* ap = obj.if_contains("additionalProperties"); ap != nullptr && !ap->is_null()) {
      if (ap->is_bool()) {
        node.additional = ap->get_bool() ? SchemaNode::Additional::kAny : SchemaNode::Additional::kNone;
      } else {
        node.additional = SchemaNode::Additional::kSchema;
        node.additional_properties =
            Node(*ap, sp + ".additionalProperties", where == Where::kJunctor ? Where::kJunctor : Where::kAdditional,
                 internal::DataChild(data_path, "*"), false, depth + 1);
      }
      if (props != nullptr && node.additional != SchemaNode::Additional::kNone) {
        Forbidden(sp + ".additionalProperties", "additionalProperties and properties are mutual exclusive");
      }
    }
    if (const auto* items = obj.if_contains("items"); items != nullptr && !items->is_null()) {
      if (items->is_array()) {
        Forbidden(sp + ".items", "items must be a schema object and not an array");
      } else {
        node.items = Node(*items, sp + ".items", where == Where::kJunctor ? Where::kJunctor : Where::kItems,
                          data_path + "[*]", false, depth + 1);
      }
    } else if (node.type == "array") {
      Required(sp + ".items", "must be specified");
    }
    if (node.embedded_resource && node.properties.empty() && !node.preserve_unknown) {
      Required(sp + ".properties",
               "must not be empty if x-kubernetes-embedded-resource is true without "
               "x-kubernetes-preserve-unknown-fields");
    }
  }

  void CheckRootMetadata(const json::value& meta, const std::string& sp) {
    const auto* obj = meta.if_object();
    if (obj == nullptr) return;
    if (const auto* t = obj->if_contains("type"); t && t->is_string() && t->get_string() != "object") {
      Invalid(sp + ".type", *t, "must be object");
    }
    const auto* props = obj->if_contains("properties");
    if (props == nullptr || !props->is_object()) return;
    for (const auto& kv : props->get_object()) {
      if (kv.key() != "name" && kv.key() != "generateName") {
        Forbidden(sp + ".properties[" + std::string(kv.key()) + "]",
                  "must not specify anything other than name and generateName, but metadata is implicitly specified");
      }
    }
  }

  std::optional<double> Number(const json::object& obj, std::string_view key, const std::string& sp) {
    const auto* v = obj.if_contains(key);
    if (v == nullptr || v->is_null()) return std::nullopt;
    if (!v->is_number()) {
      Invalid(sp + "." + std::string(key), *v, "must be a number");
      return std::nullopt;
    }
    return internal::AsDouble(*v);
  }

  std::optional<std::int64_t> Count(const json::object& obj, std::string_view key, const std::string& sp) {
    const auto* v = obj.if_contains(key);
    if (v == nullptr || v->is_null()) return std::nullopt;
    if (!internal::IsIntegral(*v) || internal::AsDouble(*v) < 0 || internal::AsDouble(*v) > 9e18) {
      Invalid(sp + "." + std::string(key), *v, "must be a non-negative integer");
      return std::nullopt;
    }
    return static_cast<std::int64_t>(internal::AsDouble(*v));
  }

  void Values(const json::object& obj, SchemaNode& node, const std::string& sp) {
    if (const auto* f = obj.if_contains("format"); f && f->is_string()) node.format = std::string(f->get_string());
    if (const auto* r = obj.if_contains("required"); r != nullptr && !r->is_null()) {
      bool ok = r->is_array();
      if (ok) {
        for (const auto& e : r->get_array()) {
          if (!e.is_string()) ok = false;
          if (e.is_string()) node.required.emplace_back(e.get_string());
        }
      }
      if (!ok) Invalid(sp + ".required", *r, "must be an array of strings");
    }
    if (const auto* e = obj.if_contains("enum"); e != nullptr && !e->is_null()) {
      if (e->is_array()) {
        node.enum_values = e->get_array();
      } else {
        Invalid(sp + ".enum", *e, "must be an array");
      }
    }
    node.minimum = Number(obj, "minimum", sp);
    node.maximum = Number(obj, "maximum", sp);
    node.multiple_of = Number(obj, "multipleOf", sp);
    if (node.multiple_of && *node.multiple_of <= 0) {
      Invalid(sp + ".multipleOf", obj.at("multipleOf"), "must be greater than zero");
      node.multiple_of.reset();
    }
    node.exclusive_minimum = Bool(obj, "exclusiveMinimum", sp);
    node.exclusive_maximum = Bool(obj, "exclusiveMaximum", sp);
    node.min_length = Count(obj, "minLength", sp);
    node.max_length = Count(obj, "maxLength", sp);
    node.min_items = Count(obj, "minItems", sp);
    node.max_items = Count(obj, "maxItems", sp);
    node.min_properties = Count(obj, "minProperties", sp);
    node.max_properties = Count(obj, "maxProperties", sp);
    node.unique_items = Bool(obj, "uniqueItems", sp);
    if (const auto* p = obj.if_contains("pattern"); p != nullptr && !p->is_null()) Pattern(*p, node, sp + ".pattern");
    ListType(obj, node, sp);
  }

  void Pattern(const json::value& p, SchemaNode& node, const std::string& sp) {
    if (!p.is_string()) {
      Invalid(sp, p, "must be a string");
      return;
    }
    std::string_view src = p.get_string();
    double cost = src.size() <= kMaxPatternLength ? internal::PatternCost(src) : -1;
    if (cost < 0 || cost > kMaxPatternCost) {
      Invalid(sp, p,
              "must be a valid regular expression, but isn't: the pattern is too long, too nested or too complex");
      return;
    }
    const auto flags = std::regex::ECMAScript | std::regex::optimize | std::regex_constants::__polynomial;
    try {
      // Compile it alone first so that wrapping cannot turn an unbalanced pattern into a valid one.
      std::regex alone{std::string(src), flags};
      // JSON-schema patterns are unanchored searches. regex_search in libstdc++ restarts at every
      // offset (quadratic); a single regex_match of this wrapped form stays linear.
      node.pattern.emplace("[\\s\\S]*?(?:" + std::string(src) + ")[\\s\\S]*", flags);
      node.pattern_source = std::string(src);
    } catch (const std::exception& e) {
      Invalid(sp, p, std::string("must be a valid regular expression, but isn't: ") + e.what());
    }
  }

  void ListType(const json::object& obj, SchemaNode& node, const std::string& sp) {
    const auto* lt = obj.if_contains("x-kubernetes-list-type");
    if (lt == nullptr || lt->is_null()) return;
    std::string_view t = lt->is_string() ? std::string_view(lt->get_string()) : "";
    if (t != "atomic" && t != "set" && t != "map") {
      causes_.push_back(
          {"FieldValueNotSupported",
           "Unsupported value: " + internal::GoValue(*lt) + ": supported values: \"atomic\", \"set\", \"map\"",
           Field(sp + ".x-kubernetes-list-type")});
      return;
    }
    node.list_type = std::string(t);
    if (node.type != "array") Invalid(sp + ".x-kubernetes-list-type", *lt, "must only be used if type is array");
    if (t != "map") return;
    const auto* keys = obj.if_contains("x-kubernetes-list-map-keys");
    if (keys != nullptr && keys->is_array()) {
      for (const auto& k : keys->get_array()) {
        if (k.is_string()) node.list_map_keys.emplace_back(k.get_string());
      }
    }
    if (node.list_map_keys.empty()) {
      Required(sp + ".x-kubernetes-list-map-keys", "must not be empty if x-kubernetes-list-type is map");
    }
  }

  void Junctors(const json::object& obj, SchemaNode& node, const std::string& sp, const std::string& data_path,
                bool int_or_string_types, int depth) {
    auto list = [&](std::string_view key, std::vector<std::unique_ptr<SchemaNode>>& out) {
      const auto* v = obj.if_contains(key);
      if (v == nullptr || v->is_null()) return;
      if (!v->is_array()) {
        Invalid(sp + "." + std::string(key), *v, "must be an array of schemas");
        return;
      }
      const auto& arr = v->get_array();
      for (std::size_t i = 0; i < arr.size(); ++i) {
        out.push_back(Node(arr[i], sp + "." + std::string(key) + "[" + std::to_string(i) + "]", Where::kJunctor,
                           data_path, int_or_string_types, depth + 1));
      }
    };
    list("allOf", node.all_of);
    list("anyOf", node.any_of);
    list("oneOf", node.one_of);
    if (const auto* n = obj.if_contains("not"); n != nullptr && !n->is_null()) {
      node.not_ = Node(*n, sp + ".not", Where::kJunctor, data_path, int_or_string_types, depth + 1);
    }
  }

  void Default(const json::object& obj, SchemaNode& node, const std::string& sp, Where where,
               const std::string& data_path) {
    const auto* d = obj.if_contains("default");
    if (d == nullptr) return;
    if (where == Where::kRoot) {
      Forbidden(sp + ".default", "must not be set at the root");
      return;
    }
    auto role = node.embedded_resource ? internal::ObjectRole::kResource : internal::ObjectRole::kPlain;
    json::value pruned = *d;
    std::vector<std::string> unknown;
    internal::PruneNode(node, pruned, data_path, role, &unknown);
    if (!unknown.empty()) {
      Invalid(sp + ".default", *d, "must not have unknown fields: " + internal::Join(unknown, ", "));
      return;
    }
    json::value defaulted = *d;
    internal::DefaultNode(node, defaulted, role);
    std::vector<StatusCause> inner;
    internal::ValidateNode(node, defaulted, data_path, role, inner);
    for (auto& c : inner) causes_.push_back({c.reason, c.message, Field(sp + ".default")});
    node.default_value = *d;
  }

  std::string base_;
  std::vector<StatusCause> causes_;
};

}  // namespace

Schema::Schema(json::value json, std::unique_ptr<SchemaNode> root) : json_(std::move(json)), root_(std::move(root)) {}
Schema::~Schema() = default;

Result<std::shared_ptr<const Schema>> Schema::Compile(const json::value& open_api_v3_schema,
                                                      std::string_view field_path) {
  Compiler c{std::string(field_path)};
  auto root = c.Node(open_api_v3_schema, "", Where::kRoot, "", false, 0);
  if (!c.causes().empty()) {
    std::string msg = "invalid openAPIV3Schema: ";
    std::vector<std::string> parts;
    for (const auto& cause : c.causes()) parts.push_back(cause.field + ": " + cause.message);
    msg += parts.size() == 1 ? parts[0] : "[" + internal::Join(parts, ", ") + "]";
    Status s = Status::Invalid(std::move(msg));
    for (auto& cause : c.causes()) s.add_cause(std::move(cause));
    return Err(std::move(s));
  }
  return std::shared_ptr<const Schema>(new Schema(open_api_v3_schema, std::move(root)));
}

void Schema::validate(const json::value& object, std::vector<StatusCause>& causes) const {
  internal::ValidateNode(*root_, object, "", internal::ObjectRole::kResource, causes);
}

void Schema::prune(json::value& object, std::vector<std::string>* unknown_fields) const {
  internal::PruneNode(*root_, object, "", internal::ObjectRole::kResource, unknown_fields);
}

void Schema::apply_defaults(json::value& object) const {
  internal::DefaultNode(*root_, object, internal::ObjectRole::kResource);
}

}  // namespace setpoint::api
