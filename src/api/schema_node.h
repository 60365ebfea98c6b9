// The compiled form of a structural schema, private to the api module. One SchemaNode per
// schema object; children owned by their parent. Immutable after Compile.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "setpoint/common/status.h"

namespace setpoint::api::internal {

struct SchemaNode {
  // Structure (the "spine").
  std::string type;  // "" when unset
  bool nullable = false;
  bool preserve_unknown = false;
  bool int_or_string = false;
  bool embedded_resource = false;
  std::map<std::string, std::unique_ptr<SchemaNode>, std::less<>> properties;
  std::unique_ptr<SchemaNode> items;
  enum class Additional { kUnset, kAny, kNone, kSchema } additional = Additional::kUnset;
  std::unique_ptr<SchemaNode> additional_properties;  // when kSchema
  std::optional<boost::json::value> default_value;

  // Value validation.
  std::string format;
  std::vector<std::string> required;
  std::optional<boost::json::array> enum_values;
  std::optional<double> minimum, maximum, multiple_of;
  bool exclusive_minimum = false, exclusive_maximum = false;
  std::optional<std::regex> pattern;
  std::string pattern_source;
  std::optional<std::int64_t> min_length, max_length, min_items, max_items, min_properties, max_properties;
  bool unique_items = false;
  std::string list_type;  // "", "atomic", "set", "map"
  std::vector<std::string> list_map_keys;
  std::vector<std::unique_ptr<SchemaNode>> all_of, any_of, one_of;
  std::unique_ptr<SchemaNode> not_;
};

// Whether a node lets apiVersion/kind/metadata through implicitly.
enum class ObjectRole { kPlain, kResource };

// Data path helpers: "" + "spec" -> "spec", "spec" + "a" -> "spec.a", "spec" [3] -> "spec[3]".
std::string DataChild(const std::string& path, std::string_view key);
std::string DataIndex(const std::string& path, std::size_t i);

void ValidateNode(const SchemaNode& node, const boost::json::value& v, const std::string& path, ObjectRole role,
                  std::vector<StatusCause>& causes);
void PruneNode(const SchemaNode& node, boost::json::value& v, const std::string& path, ObjectRole role,
               std::vector<std::string>* unknown);
void DefaultNode(const SchemaNode& node, boost::json::value& v, ObjectRole role);

// A rough upper bound of the NFA states std::regex builds for pattern `p` (quantifier counts
// multiply); negative when groups nest too deeply to compile safely.
double PatternCost(std::string_view p);

// Format checks for strings; true when `format` is unknown (upstream ignores those).
bool CheckStringFormat(std::string_view format, std::string_view s);

}  // namespace setpoint::api::internal
