// FieldSelector: a parsed Kubernetes field selector (`?fieldSelector=` on list and watch),
// grammar of k8s.io/apimachinery/pkg/fields.ParseSelector:
//   field=value   field==value   field!=value        ANDed by ','
// In values a backslash escapes ',', '=', '!' and '\' (upstream's fields.EscapeValue); the field
// name is taken verbatim up to the first operator. Empty terms are skipped, so "" selects
// everything. Which fields a resource supports is the caller's business.
//
// Immutable value type once built; const methods are thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "setpoint/common/status.h"

namespace setpoint::api {

struct FieldRequirement {
  enum class Op { kEq, kNotEq };
  std::string field;
  Op op = Op::kEq;
  std::string value;  // unescaped
};

class FieldSelector {
 public:
  // The selector that matches everything.
  FieldSelector() = default;

  // Errors are BadRequest: "invalid selector: '<s>'; can't understand '<term>'" when a term has
  // no operator, "invalid field selector: ..." for a bad escape or an unescaped ',' / '='.
  static Result<FieldSelector> Parse(std::string_view selector);

  // Requirements sorted by (field, op, value).
  const std::vector<FieldRequirement>& requirements() const { return requirements_; }

  // True if every requirement holds; `get_field` returns a field's value, std::nullopt when the
  // object lacks it (compared as "").
  bool matches(const std::function<std::optional<std::string>(std::string_view field)>& get_field) const;

  // The value `field` must equal for a match, if some requirement pins it.
  std::optional<std::string> exact(std::string_view field) const;

  bool empty() const { return requirements_.empty(); }

  // Canonical form, values re-escaped: "metadata.name=a\,b,status.phase!=Running".
  std::string to_string() const;

 private:
  std::vector<FieldRequirement> requirements_;
};

// Escapes '\', ',' and '=' in a value so it can be embedded in a selector string.
std::string EscapeFieldValue(std::string_view value);

}  // namespace setpoint::api
